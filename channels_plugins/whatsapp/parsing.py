"""Pure: a verified webhook body becomes events. No database, no network.

Envelope: {"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field": "messages", "value": {
metadata: {phone_number_id}, contacts[], messages[], statuses[], errors[]}}]}]}. Every entry, change,
message and status of a batch is read; a value for a phone number id other than the account's is ignored.
"""
from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from omnidesk.plugin_api import (
    DeliveryStatus,
    IdentityKind,
    IdentityRef,
    InboundAttachment,
    InboundEvent,
    InboundMessage,
    MalformedPayload,
    ProfileUpdate,
    Reaction,
    StatusUpdate,
)

from channels_plugins.whatsapp.codes import as_int, explain

USER_ID_PREFIX = "whatsapp:"
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
# The webhook's sha256 of a file travels with the media id, so the fetch can check what it downloads.
MEDIA_HASH_SEPARATOR = "|sha256="
STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "played": DeliveryStatus.READ,  # a voice message was played: it was certainly read
    "failed": DeliveryStatus.FAILED,
}
EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4", "video/3gpp": ".3gp",
    "audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/aac": ".aac", "audio/amr": ".amr", "audio/mp4": ".m4a",
    "application/pdf": ".pdf", "text/plain": ".txt",
}

Fields = tuple[str, dict[str, Any]]  # text and metadata of one message


# --- identities ---------------------------------------------------------------------------------
def phone_identity(wa_id: str) -> IdentityRef:
    """wa_id is E.164 without the plus; core normalises it."""
    return IdentityRef(IdentityKind.PHONE, wa_id)


def user_identity(user_id: str) -> IdentityRef:
    return IdentityRef(IdentityKind.USER_ID, f"{USER_ID_PREFIX}{user_id}")


def _contact_for(message: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    sender, user_id = str(message.get("from") or ""), str(message.get("from_user_id") or "")
    for contact in contacts:
        if (sender and contact.get("wa_id") == sender) or (user_id and contact.get("user_id") == user_id):
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _sender(message: dict[str, Any], contact: dict[str, Any]) -> IdentityRef:
    """The phone number when Meta gives one (one contact across WhatsApp and SMS), else the business-scoped user id."""
    sender = str(message.get("from") or contact.get("wa_id") or "")
    if sender.isdigit():
        return phone_identity(sender)
    user_id = str(message.get("from_user_id") or contact.get("user_id") or sender)
    if not user_id:
        raise MalformedPayload(f"message {message.get('id')!r} has neither `from` nor `from_user_id`")
    return user_identity(user_id)


def _timestamp(value: Any, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)  # Unix seconds, sent as a string
    except (TypeError, ValueError, OverflowError) as exc:
        raise MalformedPayload(f"{what} has no valid `timestamp`: {value!r}") from exc


# --- message bodies -----------------------------------------------------------------------------
def media_id_with_hash(media_id: str, sha256: str) -> str:
    return f"{media_id}{MEDIA_HASH_SEPARATOR}{sha256}" if sha256 else media_id


def split_media_id(value: str) -> tuple[str, str]:
    media_id, _, sha256 = value.partition(MEDIA_HASH_SEPARATOR)
    return media_id, sha256


def _filename(kind: str, media: dict[str, Any], content_type: str) -> str:
    if kind == "document" and media.get("filename"):
        return str(media["filename"])[:255]
    extension = EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ""
    prefix = "voice" if media.get("voice") else kind
    return f"{prefix}-{media.get('id', 'whatsapp')}{extension}"


def _attachment(kind: str, media: dict[str, Any]) -> InboundAttachment:
    if not media.get("id"):
        raise MalformedPayload(f"{kind} without a media `id`")
    content_type = str(media.get("mime_type") or "application/octet-stream").split(";")[0].strip().lower()
    return InboundAttachment(
        filename=_filename(kind, media, content_type),
        content_type=content_type,
        provider_media_id=media_id_with_hash(str(media["id"]), str(media.get("sha256") or "")),
    )


def _location(body: dict[str, Any]) -> Fields:
    lat, lon = body.get("latitude"), body.get("longitude")
    lines = [f"📍 {body['name']}" if body.get("name") else "📍 Location"]
    if body.get("address"):
        lines.append(str(body["address"]))
    if lat is not None and lon is not None:
        lines.append(f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}")
    keep = ("latitude", "longitude", "name", "address", "url")
    return "\n".join(lines), {"location": {k: body[k] for k in keep if k in body}}


def _contacts(cards: list[dict[str, Any]]) -> Fields:
    lines, kept = [], []
    for card in cards:
        name = (card.get("name") or {}).get("formatted_name") or "Contact"
        phones = [str(p.get("phone") or p.get("wa_id") or "") for p in card.get("phones") or []]
        emails = [str(e.get("email") or "") for e in card.get("emails") or []]
        phones, emails = [p for p in phones if p], [e for e in emails if e]
        lines.append("👤 " + ", ".join([name, *phones, *emails]))
        kept.append({"name": name, "phones": phones, "emails": emails})
    return "\n".join(lines) or "👤 Contact card", {"contacts": kept}


def _interactive(body: dict[str, Any]) -> Fields:
    kind = str(body.get("type") or "")
    reply = body.get(kind) or {}
    if kind in ("button_reply", "list_reply"):
        text = str(reply.get("title") or "")
        if reply.get("description"):
            text += f"\n{reply['description']}"
        return text, {"interactive": {"type": kind, "id": reply.get("id", ""), "title": reply.get("title", "")}}
    if kind == "nfm_reply":  # a WhatsApp Flow's answers
        return str(reply.get("body") or "[WhatsApp form answers]"), {
            "interactive": {"type": kind, "name": reply.get("name", ""), "response_json": reply.get("response_json", "")}
        }
    return f"[WhatsApp interactive reply of type “{kind}” that Omnidesk cannot show yet]", {"interactive": {"type": kind}}


def _errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"code": e.get("code"), "title": e.get("title", ""), "details": (e.get("error_data") or {}).get("details", "")}
        for e in message.get("errors") or []
        if isinstance(e, dict)
    ]


def _unsupported(message: dict[str, Any]) -> Fields:
    errors = _errors(message)
    why = next((e["details"] or e["title"] for e in errors if e["details"] or e["title"]), "").rstrip(". ")
    text = "[This WhatsApp message type is not supported" + (f" ({why})" if why else "") + "; ask the resident to send it differently.]"
    return text, _placeholder(errors)


def _placeholder(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"placeholder": True, **({"errors": errors} if errors else {})}


def _order(body: dict[str, Any]) -> Fields:
    items = body.get("product_items") or []
    text = f"[WhatsApp order with {len(items)} product(s)]" + (f"\n{body['text']}" if body.get("text") else "")
    return text, {"order": {"catalog_id": body.get("catalog_id", ""), "items": len(items)}}


def _fields(message: dict[str, Any], kind: str) -> Fields:
    body = message.get(kind)
    body = body if isinstance(body, (dict, list)) else {}
    handlers: dict[str, Callable[[], Fields]] = {
        "text": lambda: (str(body.get("body", "")), {}),
        "location": lambda: _location(body),
        "contacts": lambda: _contacts(body if isinstance(body, list) else []),
        "interactive": lambda: _interactive(body),
        "button": lambda: (str(body.get("text", "")), {"button": {"payload": body.get("payload", ""), "text": body.get("text", "")}}),
        "system": lambda: (f"[{body.get('body') or 'WhatsApp system message'}]", {"system": {"type": body.get("type", "")}}),
        "order": lambda: _order(body),
        "unsupported": lambda: _unsupported(message),
    }
    if kind in MEDIA_TYPES:
        return str(body.get("caption") or ""), ({"voice": True} if body.get("voice") else {})
    if kind in handlers:
        return handlers[kind]()
    # A type Meta added after this plugin was written: show that something arrived, never block the channel.
    return f"[A WhatsApp message of type “{kind}” that Omnidesk cannot show yet]", _placeholder(_errors(message))


# --- events -------------------------------------------------------------------------------------
def _message_event(message: dict[str, Any], contacts: list[dict[str, Any]]) -> InboundEvent:
    wamid = message.get("id")
    if not isinstance(wamid, str) or not wamid:
        raise MalformedPayload("a message has no `id`")
    contact = _contact_for(message, contacts)
    sender = _sender(message, contact)
    sent_at = _timestamp(message.get("timestamp"), f"message {wamid}")
    kind = str(message.get("type") or "unknown")
    if kind == "reaction":
        reaction = message.get("reaction") or {}
        if not reaction.get("message_id"):
            raise MalformedPayload(f"reaction {wamid} names no `message_id`")
        return Reaction(provider_message_id=wamid, target_provider_message_id=str(reaction["message_id"]),
                        sender=sender, emoji=str(reaction.get("emoji") or ""), sent_at=sent_at)
    text, extra = _fields(message, kind)
    metadata: dict[str, Any] = {} if kind == "text" else {"whatsapp_type": kind, **extra}
    context = message.get("context") or {}
    if context.get("forwarded") or context.get("frequently_forwarded"):
        metadata["forwarded"] = True
        if context.get("frequently_forwarded"):
            metadata["frequently_forwarded"] = True
    if isinstance(message.get("referral"), dict):
        referral = message["referral"]
        metadata["referral"] = {k: referral[k] for k in ("source_type", "source_url", "headline") if k in referral}
    body = message.get(kind)
    return InboundMessage(
        provider_message_id=wamid,
        sender=sender,
        sender_name=str((contact.get("profile") or {}).get("name") or "")[:200],
        text=text,
        sent_at=sent_at,
        attachments=(_attachment(kind, body),) if kind in MEDIA_TYPES and isinstance(body, dict) else (),
        in_reply_to=str(context.get("id") or ""),
        metadata=metadata,
    )


def _status_event(status: dict[str, Any]) -> StatusUpdate | None:
    state = STATUSES.get(str(status.get("status") or ""))
    wamid = status.get("id")
    if state is None:
        return None  # e.g. "deleted" or a state added later: nothing to show on our message
    if not isinstance(wamid, str) or not wamid:
        raise MalformedPayload("a status has no `id`")
    errors = [e for e in status.get("errors") or [] if isinstance(e, dict)]
    code = as_int(errors[0].get("code")) if errors else None
    fallback = ((errors[0].get("error_data") or {}).get("details") or errors[0].get("title") or "") if errors else ""
    return StatusUpdate(
        provider_message_id=wamid,
        status=state,
        occurred_at=_timestamp(status.get("timestamp"), f"status {wamid}"),
        error_code=str(code) if code is not None else "",
        error_message=explain(code, str(fallback)) if errors else "",
        client_reference=str(status.get("biz_opaque_callback_data") or "")[:64],
    )


def _profiles(value: dict[str, Any], messages: list[dict[str, Any]]) -> Iterator[ProfileUpdate]:
    """A resident's current profile name, so a renamed resident's contact follows (after the messages created it)."""
    seen: set[IdentityRef] = set()
    contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
    for message in messages:
        contact = _contact_for(message, contacts)
        name = str((contact.get("profile") or {}).get("name") or "").strip()
        identity = _sender(message, contact)
        if name and identity not in seen:
            seen.add(identity)
            yield ProfileUpdate(identity=identity, display_name=name[:200])


def _values(payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise MalformedPayload("not a WhatsApp webhook: `entry` is missing")
    for entry in entries:
        for change in (entry or {}).get("changes") or []:
            if isinstance(change, dict) and change.get("field") == "messages" and isinstance(change.get("value"), dict):
                yield change["value"]


def parse_payload(body: bytes, phone_number_id: str) -> list[InboundEvent]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MalformedPayload("body must be a JSON object")
    if payload.get("object") != "whatsapp_business_account":
        return []  # another product's webhook on the same Meta app: nothing for this channel
    events: list[InboundEvent] = []
    for value in _values(payload):
        if str((value.get("metadata") or {}).get("phone_number_id") or "") != phone_number_id:
            continue  # another number of the same business account; its own channel account handles it
        contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
        messages = [m for m in value.get("messages") or [] if isinstance(m, dict)]
        try:
            events.extend(_message_event(m, contacts) for m in messages)
            events.extend(_profiles(value, messages))
            events.extend(e for e in (_status_event(s) for s in value.get("statuses") or [] if isinstance(s, dict)) if e)
        except (AttributeError, KeyError, TypeError) as exc:
            raise MalformedPayload(f"unexpected WhatsApp payload shape: {exc}") from exc
    return events
