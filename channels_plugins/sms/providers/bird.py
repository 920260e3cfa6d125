"""Bird (MessageBird), the Dutch provider: Channels API for sending, signed Notifications API webhooks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

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
)

from channels_plugins.sms import client
from channels_plugins.sms.parsing import iso_datetime, message_events, phone, placeholder, url_variants
from channels_plugins.sms.providers.base import Config, SmsProvider

SIGNATURE_HEADER = "messagebird-signature"
TIMESTAMP_HEADER = "messagebird-request-timestamp"
TOLERANCE_SECONDS = 300  # a signed request older or newer than this is refused (replay protection)
MEDIA_HOSTS = {"api.bird.com", "media.api.bird.com"}


def signature(signing_key: str, timestamp: str, url: str, body: bytes) -> str:
    """messagebird-signature: base64 HMAC-SHA256 of `timestamp \\n url \\n` followed by the body's raw SHA-256 digest."""
    signed = f"{timestamp}\n{url}\n".encode() + hashlib.sha256(body).digest()
    return base64.b64encode(hmac.new(signing_key.encode(), signed, hashlib.sha256).digest()).decode()


def verify_signature(signing_key: str, headers: Mapping[str, str], url: str, body: bytes, *, now: float) -> None:
    received, timestamp = headers.get(SIGNATURE_HEADER, "").strip(), headers.get(TIMESTAMP_HEADER, "").strip()
    if not received or not timestamp:
        raise VerificationFailed("The messagebird-signature or messagebird-request-timestamp header is missing.")
    if not signing_key:
        raise VerificationFailed("This account has no Bird signing key to check signatures with.")
    try:
        seconds = float(timestamp)
    except ValueError:
        raise VerificationFailed("The messagebird-request-timestamp is not a number.") from None
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    if abs(now - seconds) > TOLERANCE_SECONDS:
        raise VerificationFailed("The request timestamp is too far from now (replayed or a skewed clock).")
    for candidate in url_variants(url):
        if hmac.compare_digest(signature(signing_key, timestamp, candidate, body).encode(), received.encode()):
            return
    raise VerificationFailed("The messagebird-signature does not match this URL and body.")


def _guess_type(url: str, fallback: str) -> str:
    return mimetypes.guess_type(urlsplit(url).path)[0] or fallback


class BirdProvider(SmsProvider):
    key = "bird"
    name = "Bird"
    default_api_base_url = "https://api.bird.com"
    status_map = {
        "accepted": DeliveryStatus.QUEUED,
        "processing": DeliveryStatus.QUEUED,
        "scheduled": DeliveryStatus.QUEUED,
        "sending": DeliveryStatus.SENDING,
        "sent": DeliveryStatus.SENT,
        "delivered": DeliveryStatus.DELIVERED,
        "read": DeliveryStatus.READ,
        "sending_failed": DeliveryStatus.FAILED,
        "delivery_failed": DeliveryStatus.FAILED,
        "rejected": DeliveryStatus.FAILED,
        "failed": DeliveryStatus.FAILED,
        "skipped": DeliveryStatus.FAILED,
    }
    # Keyed on Bird's failure `details` (and the reason's `reason:` part), which are stable words.
    error_explanations = {
        "unknown_subscriber": "The number does not exist or is no longer in use.",
        "unavailable_subscriber": "The phone is switched off or out of reach.",
        "absent_subscriber": "The phone is switched off or out of reach.",
        "expired": "The phone was unreachable until the message expired.",
        "blocked": "The carrier or the resident blocked the message.",
        "blocked_by_carrier": "The carrier blocked the message.",
        "carrier_rejected": "The carrier rejected the message.",
        "invalid_destination": "The phone number is not a valid number.",
        "invalid_recipient": "The phone number is not a valid number.",
        "unsubscribed": "The resident has unsubscribed from this sender.",
        "opted_out": "The resident has unsubscribed from this sender.",
        "insufficient_balance": "The Bird account has insufficient balance.",
        "unauthorized": "Bird refused the access key.",
        "InvalidPayload": "Bird refused the message as invalid.",
        "NotFound": "Bird does not know this workspace or channel.",
    }

    # --- inbound ----------------------------------------------------------------------------------
    def verify(self, request: WebhookRequest, config: Config, *, url: str) -> None:
        verify_signature(str(config.get("signing_key") or ""), request.headers, url, request.body, now=time.time())

    def parse(self, request: WebhookRequest, config: Config, *, received_at: datetime) -> list[InboundEvent]:
        try:
            envelope = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedPayload(f"body is not JSON: {exc}") from exc
        if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
            raise MalformedPayload("not a Bird notification: `payload` missing")
        event, payload = str(envelope.get("event", "")), envelope["payload"]
        channel_id = str(config.get("channel_id") or "")
        if not event.startswith("sms.") or (channel_id and payload.get("channelId") not in (None, channel_id)):
            return []  # another platform, or a channel this account does not own
        try:
            if event == "sms.inbound":
                return self._message(payload, received_at)
            if event == "sms.outbound":
                return self._status(payload, received_at)
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedPayload(f"Bird {event} lacks a field: {exc}") from exc
        return []

    def _message(self, payload: dict[str, Any], received_at: datetime) -> list[InboundEvent]:
        body = payload.get("body") or {}
        kind = str(body.get("type", ""))
        text, attachments = "", ()
        if kind == "text":
            text = str(body["text"]["text"])
        elif kind in ("image", "file"):
            text, attachments = self._media(kind, body[kind])
        else:
            text = placeholder("Bird SMS", kind or "unknown")
        created = payload.get("createdAt")
        message = InboundMessage(
            provider_message_id=str(payload["id"]),
            sender=phone(str(payload["sender"]["contact"]["identifierValue"])),
            sent_at=iso_datetime(created) if created else received_at,
            text=text,
            attachments=attachments,
            metadata={"provider": "bird"},
        )
        return message_events(message)

    def _media(self, kind: str, media: dict[str, Any]) -> tuple[str, tuple[InboundAttachment, ...]]:
        items = media.get("images" if kind == "image" else "files") or []
        attachments = tuple(
            InboundAttachment(
                filename=str(item.get("filename") or urlsplit(item["mediaUrl"]).path.rstrip("/").rsplit("/", 1)[-1]),
                content_type=str(item.get("contentType") or _guess_type(item["mediaUrl"], "image/jpeg" if kind == "image"
                                                                        else "application/octet-stream")),
                provider_media_id=str(item["mediaUrl"]),
            )
            for item in items[:10]
        )
        return str(media.get("text") or ""), attachments

    def _status(self, payload: dict[str, Any], received_at: datetime) -> list[InboundEvent]:
        status = self.map_status(str(payload.get("status", "")))
        if status is None:
            return []
        failure = payload.get("failure") or {}
        details = str(payload.get("details") or "")
        code = str(failure.get("code") or details)
        failed = status is DeliveryStatus.FAILED
        when = payload.get("lastStatusAt") or payload.get("updatedAt")
        return [StatusUpdate(
            provider_message_id=str(payload["id"]),
            status=status,
            occurred_at=iso_datetime(when) if when else received_at,
            error_code=code if failed else "",
            error_message=self.explain(details, str(payload.get("reason") or "")) if failed else "",
        )]

    # --- outbound ---------------------------------------------------------------------------------
    def _headers(self, config: Config) -> dict[str, str]:
        return {"Authorization": f"AccessKey {config['access_key']}"}

    def _channel_url(self, config: Config) -> str:
        return f"{self.api_base_url(config)}/workspaces/{config['workspace_id']}/channels/{config['channel_id']}"

    def send(self, message: OutboundMessage, config: Config, *, status_callback_url: str) -> str:
        # Bird reports statuses to the webhook subscribed in its Notifications API, not per message.
        payload = {
            "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": message.recipient.value}]},
            "body": {"type": "text", "text": {"text": message.text}},
            "reference": message.message_id,
        }
        response = client.call(self.name, "POST", f"{self._channel_url(config)}/messages",
                               json=payload, headers=self._headers(config))
        body = client.json_of(response)
        if 200 <= response.status_code < 300 and body.get("id"):
            return str(body["id"])
        code = str(body.get("code") or "")
        client.raise_for_failure(response, code=code or str(response.status_code),
                                 reason=self.explain(code, str(body.get("message") or "")[:300]),
                                 opted_out=code in ("opted_out", "unsubscribed"))
        raise TransientDeliveryError(f"Bird answered HTTP {response.status_code} without a message id.",
                                     code=str(response.status_code))

    def fetch_media(self, media_id: str, config: Config, max_bytes: int) -> FetchedMedia:
        hosts = MEDIA_HOSTS | {(urlsplit(self.api_base_url(config)).hostname or "").lower()}
        return client.download(self.name, media_id, allowed_hosts=hosts, max_bytes=max_bytes,
                               headers=self._headers(config))

    def check_connection(self, config: Config) -> ConnectionCheck:
        response = client.call(self.name, "GET", self._channel_url(config), headers=self._headers(config))
        body = client.json_of(response)
        if response.status_code == 200:
            return ConnectionCheck(ok=True, detail=f"Connected to Bird channel {body.get('name') or config['channel_id']}.")
        code = str(body.get("code") or response.status_code)
        return ConnectionCheck(ok=False, detail=self.explain(code, str(body.get("message") or "")[:300]))
