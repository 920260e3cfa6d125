"""Twilio Programmable Messaging: form webhooks signed with X-Twilio-Signature, the Messages API for sending."""
from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
from collections.abc import Iterable
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from omnidesk.plugin_api import (
    ConnectionCheck,
    DeliveryStatus,
    FetchedMedia,
    InboundAttachment,
    InboundEvent,
    InboundMessage,
    MalformedPayload,
    OutboundMessage,
    StatusUpdate,
    TransientDeliveryError,
    VerificationFailed,
    WebhookRequest,
    WebhookResponse,
)

from channels_plugins.sms import client
from channels_plugins.sms.parsing import message_events, phone, url_variants
from channels_plugins.sms.providers.base import Config, SmsProvider

SIGNATURE_HEADER = "x-twilio-signature"
API_VERSION = "2010-04-01"
MEDIA_HOSTS = {"api.twilio.com"}


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 over the URL and each parameter name + value, sorted by name, then value."""
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    return base64.b64encode(hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def form_params(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload(f"not a form-encoded Twilio request: {exc}") from exc


def _dlr_time(raw: str) -> datetime | None:
    """RawDlrDoneDate (YYMMDDhhmm, UTC) on delivery reports: when the handset got the message."""
    try:
        return datetime.strptime(raw, "%y%m%d%H%M").replace(tzinfo=timezone.utc) if raw else None
    except ValueError:
        return None


class TwilioProvider(SmsProvider):
    key = "twilio"
    name = "Twilio"
    default_api_base_url = "https://api.twilio.com"
    webhook_response = WebhookResponse(200, b"<Response/>", "text/xml")  # empty TwiML: no automatic reply
    status_map = {
        "accepted": DeliveryStatus.QUEUED,
        "scheduled": DeliveryStatus.QUEUED,
        "queued": DeliveryStatus.QUEUED,
        "sending": DeliveryStatus.SENDING,
        "sent": DeliveryStatus.SENT,
        "delivered": DeliveryStatus.DELIVERED,
        "read": DeliveryStatus.READ,
        "undelivered": DeliveryStatus.FAILED,
        "failed": DeliveryStatus.FAILED,
        "canceled": DeliveryStatus.FAILED,
    }
    error_explanations = {
        "20003": "Twilio refused the account SID or auth token.",
        "20429": "Too many requests to Twilio; the message is retried later.",
        "21211": "The phone number is not a valid number.",
        "21408": "Sending to this country is not enabled in the Twilio account.",
        "21610": "The resident has unsubscribed (replied STOP) from this number.",
        "21612": "Twilio cannot route a message between these two numbers.",
        "21614": "The number is not a mobile number that can receive SMS.",
        "21617": "The text is longer than Twilio's limit of 1,600 characters.",
        "30001": "Twilio's queue for this sender was full.",
        "30002": "The Twilio account is suspended.",
        "30003": "The phone is switched off or out of reach.",
        "30004": "The message was blocked (the resident may have blocked the sender).",
        "30005": "The number does not exist or is no longer in use.",
        "30006": "The number is a landline or its carrier cannot receive SMS.",
        "30007": "The carrier filtered the message as unwanted.",
        "30008": "The carrier reported an unknown error.",
        "30034": "The sender is not registered for this kind of traffic.",
    }

    # --- inbound ----------------------------------------------------------------------------------
    def verify(self, request: WebhookRequest, config: Config, *, url: str) -> None:
        received = request.headers.get(SIGNATURE_HEADER, "")
        if not received:
            raise VerificationFailed("The X-Twilio-Signature header is missing.")
        token = str(config.get("auth_token") or "")
        if not token:
            raise VerificationFailed("This account has no Twilio auth token to check signatures with.")
        params = form_params(request.body) if request.method == "POST" else []
        for candidate in url_variants(url):
            if hmac.compare_digest(signature(token, candidate, params).encode(), received.strip().encode()):
                return
        raise VerificationFailed("The X-Twilio-Signature does not match this URL and body.")

    def parse(self, request: WebhookRequest, config: Config, *, received_at: datetime) -> list[InboundEvent]:
        fields = dict(form_params(request.body))
        sid = fields.get("MessageSid") or fields.get("SmsMessageSid") or fields.get("SmsSid") or ""
        if not sid:
            raise MalformedPayload("Twilio request without MessageSid")
        status_word = fields.get("MessageStatus", "")
        if status_word and status_word.lower() not in ("received", "receiving"):
            return self._status(sid, status_word, fields, received_at)
        if not fields.get("From"):
            raise MalformedPayload("Twilio message without From")
        message = InboundMessage(
            provider_message_id=sid,
            sender=phone(fields["From"]),
            sent_at=received_at,  # Twilio's inbound webhook carries no timestamp
            text=fields.get("Body", ""),
            attachments=self._media(fields),
            metadata={k: v for k, v in (("provider", "twilio"), ("to", fields.get("To", "")),
                                        ("num_segments", fields.get("NumSegments", "")),
                                        ("from_country", fields.get("FromCountry", ""))) if v},
        )
        return message_events(message, provider_keyword=fields.get("OptOutType", ""))

    def _status(self, sid: str, status_word: str, fields: dict[str, str], received_at: datetime) -> list[InboundEvent]:
        status = self.map_status(status_word)
        if status is None:
            return []  # a status word we do not know yet (e.g. partially_delivered): nothing to show
        code = fields.get("ErrorCode", "").strip()
        failed = status is DeliveryStatus.FAILED or bool(code)
        return [StatusUpdate(
            provider_message_id=sid,
            status=status,
            occurred_at=_dlr_time(fields.get("RawDlrDoneDate", "")) or received_at,
            error_code=code,
            error_message=self.explain(code, fields.get("ErrorMessage", "")) if failed else "",
        )]

    def _media(self, fields: dict[str, str]) -> tuple[InboundAttachment, ...]:
        try:
            count = int(fields.get("NumMedia", "0") or 0)
        except ValueError as exc:
            raise MalformedPayload("NumMedia is not a number") from exc
        attachments = []
        for index in range(min(count, 10)):
            url = fields.get(f"MediaUrl{index}", "")
            if not url:
                continue
            content_type = fields.get(f"MediaContentType{index}", "") or "application/octet-stream"
            stem = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or f"media-{index}"
            attachments.append(InboundAttachment(
                filename=stem + (mimetypes.guess_extension(content_type) or ""),
                content_type=content_type,
                provider_media_id=url,
            ))
        return tuple(attachments)

    # --- outbound ---------------------------------------------------------------------------------
    def send(self, message: OutboundMessage, config: Config, *, status_callback_url: str) -> str:
        account_sid = str(config["account_sid"])
        data = {"To": message.recipient.value, "Body": message.text}
        if config.get("messaging_service_sid"):
            data["MessagingServiceSid"] = str(config["messaging_service_sid"])
        else:
            data["From"] = str(config["from_number"])
        if status_callback_url:
            data["StatusCallback"] = status_callback_url
        response = client.call(
            self.name, "POST", f"{self.api_base_url(config)}/{API_VERSION}/Accounts/{account_sid}/Messages.json",
            data=data, auth=(account_sid, str(config["auth_token"])),
        )
        body = client.json_of(response)
        if response.status_code in (200, 201) and body.get("sid"):
            return str(body["sid"])
        code = str(body.get("code") or "")
        client.raise_for_failure(response, code=code, reason=self.explain(code, str(body.get("message") or "")[:300]),
                                 opted_out=code == "21610")
        raise TransientDeliveryError(f"Twilio answered HTTP {response.status_code} without a message id.",
                                     code=str(response.status_code))

    def fetch_media(self, media_id: str, config: Config, max_bytes: int) -> FetchedMedia:
        hosts = MEDIA_HOSTS | {(urlsplit(self.api_base_url(config)).hostname or "").lower()}
        return client.download(self.name, media_id, allowed_hosts=hosts, max_bytes=max_bytes,
                               auth=(str(config["account_sid"]), str(config["auth_token"])))

    def check_connection(self, config: Config) -> ConnectionCheck:
        account_sid = str(config["account_sid"])
        response = client.call(self.name, "GET", f"{self.api_base_url(config)}/{API_VERSION}/Accounts/{account_sid}.json",
                               auth=(account_sid, str(config["auth_token"])))
        body = client.json_of(response)
        if response.status_code == 200:
            return ConnectionCheck(ok=True, detail=f"Connected to Twilio account {body.get('friendly_name') or account_sid}.")
        code = str(body.get("code") or response.status_code)
        return ConnectionCheck(ok=False, detail=self.explain(code, str(body.get("message") or "")[:300]))
