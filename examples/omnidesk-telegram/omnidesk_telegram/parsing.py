"""Pure: verify Telegram's secret-token header and turn an Update into events. No database, no network."""
from __future__ import annotations

import hmac
import json
from datetime import datetime, timezone
from typing import Any

from omnidesk.plugin_api import (
    IdentityKind,
    IdentityRef,
    InboundAttachment,
    InboundEvent,
    InboundMessage,
    MalformedPayload,
    VerificationFailed,
)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
IDENTITY_PREFIX = "telegram:"
PLACEHOLDER_KINDS = ("sticker", "voice", "audio", "video", "video_note", "animation", "location", "contact", "poll",
                     "venue", "dice")


def verify_secret(expected: str, received: str) -> None:
    if not received:
        raise VerificationFailed("The X-Telegram-Bot-Api-Secret-Token header is missing.")
    if not expected or not hmac.compare_digest(expected.encode(), received.encode()):
        raise VerificationFailed("The secret token does not match.")


def chat_identity(chat_id: int | str) -> IdentityRef:
    return IdentityRef(IdentityKind.USER_ID, f"{IDENTITY_PREFIX}{chat_id}")


def _attachments(message: dict[str, Any]) -> tuple[InboundAttachment, ...]:
    if isinstance(message.get("photo"), list) and message["photo"]:
        largest = max(message["photo"], key=lambda size: size.get("file_size", 0) or size.get("width", 0))
        return (InboundAttachment(filename=f"photo-{largest.get('file_unique_id', 'telegram')}.jpg",
                                  content_type="image/jpeg", provider_media_id=str(largest["file_id"])),)
    document = message.get("document")
    if isinstance(document, dict) and "file_id" in document:
        return (InboundAttachment(filename=str(document.get("file_name") or "document"),
                                  content_type=str(document.get("mime_type") or "application/octet-stream"),
                                  provider_media_id=str(document["file_id"])),)
    return ()


def _text(message: dict[str, Any]) -> str:
    text = message.get("text") or message.get("caption") or ""
    if not text and not _attachments(message):
        kind = next((k for k in PLACEHOLDER_KINDS if k in message), "unknown")
        return f"[Telegram {kind} message: not supported yet]"
    return str(text)


def parse_update(body: bytes) -> list[InboundEvent]:
    try:
        update = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise MalformedPayload("not a Telegram Update: `update_id` missing")
    edited = "edited_message" in update
    message = update.get("message") or update.get("edited_message")
    if message is None:
        return []  # callback queries, channel posts and the like carry no resident message
    try:
        chat, sender = message["chat"], message.get("from", {})
        if chat.get("type") != "private":
            return []  # a municipality's bot answers residents one to one
        message_id = f"{chat['id']}:{message['message_id']}"
        if edited:
            message_id += f":edit:{message.get('edit_date', 0)}"
        name = " ".join(p for p in (sender.get("first_name", ""), sender.get("last_name", "")) if p)
        return [
            InboundMessage(
                provider_message_id=message_id,
                sender=chat_identity(chat["id"]),
                sender_name=name[:200],
                text=_text(message),
                sent_at=datetime.fromtimestamp(int(message["date"]), tz=timezone.utc),
                attachments=_attachments(message),
                in_reply_to=(f"{chat['id']}:{message['reply_to_message']['message_id']}"
                             if isinstance(message.get("reply_to_message"), dict) else ""),
                metadata={"edited": True} if edited else {},
            )
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedPayload(f"Telegram message lacks a field: {exc}") from exc
