"""Plain-data views of tickets and messages, shared by realtime events and the API."""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.urls import get_script_prefix, get_urlconf, reverse

from omnidesk.tickets.models import Attachment, Message, Ticket


def user_name(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@lru_cache(maxsize=10_000)  # reverse() costs more than the rest of ticket_data; a drain presents hundreds of tickets
def _ticket_path(number: int, script_prefix: str, urlconf: str | None) -> str:
    return reverse("dashboard:ticket", kwargs={"number": number}, urlconf=urlconf)


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "url": _ticket_path(ticket.number, get_script_prefix(), get_urlconf()),
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "contact_name": str(ticket.contact),
        "channel_account_id": ticket.channel_account_id,
        "channel_name": ticket.channel_account.name,
        "channel_key": ticket.channel_account.plugin_key,
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
        "assignee_name": user_name(ticket.assignee),
        "preview": ticket.preview,
        "last_activity_at": ticket.last_activity_at,
    }


def attachment_data(attachment: Attachment) -> dict[str, Any]:
    return {
        "url": reverse("dashboard:attachment", kwargs={"uuid": attachment.uuid}) if attachment.file else "",
        "error": attachment.fetch_error,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }


def _quoted_text(message: Message) -> str:
    from omnidesk.tickets.selectors import quoted_reference

    if hasattr(message, "quoted"):  # already looked up for the whole thread
        return message.quoted.text if message.quoted else ""
    reference = quoted_reference(message)
    if not reference:
        return ""
    text = (
        Message.objects.filter(channel_account_id=message.channel_account_id, provider_message_id=reference)
        .values_list("text", flat=True)
        .first()
    )
    return text or ""


def message_data(message: Message, attachments: Sequence[Attachment] | None = None) -> dict[str, Any]:
    """What dashboards show of a message; `attachments` when the caller has them in hand (a message just stored)."""
    if message.author_user_id:
        author = user_name(message.author_user)
    elif message.author_contact_id:
        author = str(message.author_contact)
    else:
        author = ""
    return {
        "id": message.id,
        "ticket_id": message.ticket_id,
        "ticket_number": message.ticket.number,
        "direction": message.direction,
        "kind": message.kind,
        "text": message.text,
        "html": message.html,
        "author_name": author,
        "author_user_id": message.author_user_id,
        "created_at": message.created_at,
        "delivery_status": message.delivery_status,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "metadata": message.metadata if message.kind == "event" else {},
        "reactions": sorted(set(message.metadata.get("reactions", {}).values())),
        "forwarded": bool(message.metadata.get("forwarded")),
        "template": message.metadata.get("template", {}).get("name", ""),
        "quoted_text": _quoted_text(message),
        "earlier_text": message.quoted_text,  # what the sender quoted below their message (email), shown collapsed
        "automatic": bool(message.metadata.get("automatic")),
        "cc": list(message.metadata.get("cc", [])),
        "quotable": message.direction == "inbound" and message.kind == "message" and bool(message.provider_message_id),
        "attachments": [attachment_data(a) for a in (message.attachments.all() if attachments is None else attachments)],
    }
