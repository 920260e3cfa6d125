"""The WhatsApp adapter: stateless and thin; parsing.py reads payloads, client.py talks to the Graph API."""
from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api import (
    AccountContext,
    Capabilities,
    ChannelAdapter,
    ConnectionCheck,
    DeliveryError,
    FetchedMedia,
    IdentityKind,
    IdentityRef,
    InboundEvent,
    OutboundAttachment,
    OutboundMessage,
    PermanentDeliveryError,
    SendResult,
    TemplateInfo,
    VerificationFailed,
    WebhookRequest,
    WebhookResponse,
    WebhookResult,
)

from channels_plugins.whatsapp import client
from channels_plugins.whatsapp.forms import WhatsAppConfigForm
from channels_plugins.whatsapp.parsing import USER_ID_PREFIX, parse_payload
from channels_plugins.whatsapp.signing import SIGNATURE_HEADER, verify_signature, verify_token_matches

MB = 1024 * 1024
MAX_TEXT = 4096
MAX_CAPTION = 1024
# Meta's limits per media kind; a file too big for its kind goes as a document (up to 100 MB).
IMAGE_TYPES, IMAGE_MAX = ("image/jpeg", "image/png"), 5 * MB
VIDEO_TYPES, VIDEO_MAX = ("video/mp4", "video/3gpp"), 16 * MB
AUDIO_TYPES, AUDIO_MAX = ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"), 16 * MB
DOCUMENT_TYPES = (
    "application/pdf", "text/plain", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
)
PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


class WhatsAppAdapter(ChannelAdapter):
    key = "whatsapp"
    verbose_name = _("WhatsApp Business (Cloud API)")
    api_version = "1.4"
    capabilities = Capabilities(
        identity_kind=IdentityKind.PHONE,
        concurrent_sends=8,  # Cloud API numbers take 80 messages/s and more; 8 at once stays well inside that
        max_text_length=MAX_TEXT,
        attachments=True,
        max_attachment_bytes=16 * MB,
        attachment_types=IMAGE_TYPES + VIDEO_TYPES + AUDIO_TYPES + DOCUMENT_TYPES,
        templates=True,
        reply_window_hours=24,
        read_receipts=True,
    )
    config_form = WhatsAppConfigForm

    # --- inbound ---------------------------------------------------------------------------
    def handle_webhook(self, request: WebhookRequest, account: AccountContext) -> WebhookResult:
        if request.method == "GET":
            return WebhookResult(response=self._handshake(request, account))
        return super().handle_webhook(request, account)

    def _handshake(self, request: WebhookRequest, account: AccountContext) -> WebhookResponse:
        """Meta's subscribe check: echo hub.challenge when the verify token is ours."""
        challenge = request.query.get("hub.challenge", "")
        if (
            request.query.get("hub.mode") != "subscribe"
            or not challenge
            or not verify_token_matches(account.config.get("verify_token", ""), request.query.get("hub.verify_token", ""))
        ):
            raise VerificationFailed("The subscribe handshake's verify token does not match.")
        return WebhookResponse(200, challenge.encode(), "text/plain")

    def verify(self, request: WebhookRequest, account: AccountContext) -> None:
        if request.method != "POST":
            raise VerificationFailed("WhatsApp webhooks are POSTs (or the GET subscribe handshake).")
        verify_signature(account.config.get("app_secret", ""), request.body, request.headers.get(SIGNATURE_HEADER, ""))

    def parse(self, request: WebhookRequest, account: AccountContext) -> list[InboundEvent]:
        return parse_payload(request.body, str(account.config.get("phone_number_id", "")))

    def fetch_media(self, account: AccountContext, media_id: str, max_bytes: int) -> FetchedMedia:
        return client.fetch_media(client.Graph.from_config(account.config), media_id, max_bytes)

    # --- outbound --------------------------------------------------------------------------
    def send(self, message: OutboundMessage, account: AccountContext) -> SendResult:
        graph = client.Graph.from_config(account.config)
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **_recipient(message.recipient),
            # Echoed in status webhooks: our id, to reconcile a send whose answer was lost.
            "biz_opaque_callback_data": message.message_id,
        }
        if message.template is not None:
            payload.update(_template(message))
        elif message.attachments:
            payload.update(_media(graph, message))
        else:
            payload.update({"type": "text", "text": {"preview_url": False, "body": message.text}})
        if message.quote:
            payload["context"] = {"message_id": message.quote}
        return SendResult(provider_message_id=client.send_message(graph, payload))

    def mark_read(self, account: AccountContext, provider_message_id: str) -> None:
        if account.config.get("skip_read_receipts"):
            return
        client.mark_read(client.Graph.from_config(account.config), provider_message_id)

    def list_templates(self, account: AccountContext) -> list[TemplateInfo]:
        templates = []
        for raw in client.approved_templates(client.Graph.from_config(account.config)):
            if raw.get("status", "APPROVED") != "APPROVED" or not raw.get("name"):
                continue
            body = next((str(c.get("text") or "") for c in raw.get("components") or []
                         if isinstance(c, dict) and str(c.get("type", "")).upper() == "BODY"), "")
            templates.append(TemplateInfo(
                name=str(raw["name"]), language=str(raw.get("language") or ""), body=body,
                parameter_count=len(set(PLACEHOLDER.findall(body))), category=str(raw.get("category") or "").lower(),
            ))
        return templates

    def check_connection(self, account: AccountContext) -> ConnectionCheck:
        try:
            info = client.phone_number_info(client.Graph.from_config(account.config))
        except DeliveryError as exc:
            return ConnectionCheck(ok=False, detail=exc.reason)
        number = info.get("display_phone_number") or account.config.get("phone_number_id")
        name = info.get("verified_name") or "?"
        return ConnectionCheck(ok=True, detail=f"Connected to {number} ({name}), quality {info.get('quality_rating', '?')}.")


def _recipient(identity: IdentityRef) -> dict[str, str]:
    if identity.kind == IdentityKind.PHONE:
        return {"to": identity.value.lstrip("+")}
    if identity.kind == IdentityKind.USER_ID and identity.value.startswith(USER_ID_PREFIX):
        return {"recipient": identity.value.removeprefix(USER_ID_PREFIX)}  # a business-scoped user id, no phone
    raise PermanentDeliveryError("This resident has no WhatsApp address.", code="bad_recipient")


def _template(message: OutboundMessage) -> dict[str, Any]:
    template = message.template
    assert template is not None
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if template.parameters:
        body["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": value} for value in template.parameters]}
        ]
    return {"type": "template", "template": body}


def _media_kind(attachment: OutboundAttachment, has_caption: bool) -> str:
    if attachment.content_type in IMAGE_TYPES and attachment.size <= IMAGE_MAX:
        return "image"
    if attachment.content_type in VIDEO_TYPES and attachment.size <= VIDEO_MAX:
        return "video"
    if attachment.content_type in AUDIO_TYPES and attachment.size <= AUDIO_MAX and not has_caption:
        return "audio"  # audio takes no caption; with text it goes as a document, so the text is not lost
    return "document"


def _media(graph: client.Graph, message: OutboundMessage) -> dict[str, Any]:
    if len(message.attachments) > 1:
        raise PermanentDeliveryError("WhatsApp carries one file per message; send the files one by one.",
                                     code="too_many_attachments")
    if len(message.text) > MAX_CAPTION:
        raise PermanentDeliveryError(f"A caption may have at most {MAX_CAPTION} characters.", code="caption_too_long")
    attachment = message.attachments[0]
    kind = _media_kind(attachment, bool(message.text))
    content = client.download_outbound(attachment.url, WhatsAppAdapter.capabilities.max_attachment_bytes)
    media: dict[str, Any] = {"id": client.upload_media(graph, content, attachment.content_type, attachment.filename)}
    if message.text:
        media["caption"] = message.text
    if kind == "document":
        media["filename"] = attachment.filename
    return {"type": kind, kind: media}
