"""Reads: tickets and messages, always scoped by municipality."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from omnidesk.contacts.normalise import InvalidIdentity, normalise
from omnidesk.plugin_api.events import HistoryItem, IdentityRef
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Attachment, Kind, Message, Ticket
from omnidesk.tickets.presenters import user_name


def tickets_of(municipality: Municipality) -> QuerySet[Ticket]:
    return Ticket.objects.filter(municipality=municipality).select_related("contact", "channel_account", "assignee")


def inbox(municipality: Municipality) -> QuerySet[Ticket]:
    return tickets_of(municipality).order_by("-last_activity_at", "-id")


def ticket_by_number(municipality: Municipality, number: int) -> Ticket | None:
    return tickets_of(municipality).select_related("identity", "team").filter(number=number).first()


def thread_messages(ticket: Ticket) -> QuerySet[Message]:
    return (
        Message.objects.filter(ticket=ticket)
        .select_related("author_user", "author_contact", "ticket")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .order_by("created_at", "id")
    )


# Messages a ticket page shows at first; each "earlier messages" step adds as many. A thread of hundreds of messages
# (a resident who writes for months) would otherwise cost a millisecond per message on every visit.
THREAD_PAGE = 50
THREAD_MAX = 5_000


@dataclass(frozen=True)
class ThreadPage:
    messages: list[Message]  # oldest first, each with `.quoted`
    earlier: bool  # older messages exist that are not shown


def thread(ticket: Ticket, show: int = THREAD_PAGE) -> ThreadPage:
    """The ticket's latest `show` messages, oldest first, each with `.quoted`: the message of this thread it replies
    to or quotes (looked up further back, in one query, when it is older than what is shown)."""
    show = max(1, min(show, THREAD_MAX))
    latest = list(thread_messages(ticket).order_by("-created_at", "-id")[:show + 1])
    messages = latest[:show][::-1]
    by_provider_id = {m.provider_message_id: m for m in latest if m.provider_message_id}
    missing = {quoted_reference(m) for m in messages} - set(by_provider_id) - {""}
    if missing and len(latest) > show:
        by_provider_id.update((m.provider_message_id, m) for m in Message.objects.filter(
            ticket=ticket, provider_message_id__in=missing).only("id", "text", "provider_message_id"))
    for message in messages:
        message.quoted = by_provider_id.get(quoted_reference(message))  # type: ignore[attr-defined]
    return ThreadPage(messages, earlier=len(latest) > show)


def quoted_reference(message: Message) -> str:
    """The provider id of the message this one replies to (resident) or quotes (agent), if any."""
    return message.in_reply_to or message.metadata.get("quote", "")


def message_in(municipality: Municipality, message_id: int) -> Message | None:
    return Message.objects.filter(municipality=municipality, pk=message_id).select_related("ticket", "channel_account").first()


def attachment_in(municipality: Municipality, uuid: str) -> Attachment | None:
    return Attachment.objects.filter(municipality=municipality, uuid=uuid).first()


def other_tickets_of_contact(ticket: Ticket, limit: int = 10) -> QuerySet[Ticket]:
    return tickets_of(ticket.municipality).filter(contact_id=ticket.contact_id).exclude(pk=ticket.pk).order_by(
        "-last_activity_at"
    )[:limit]


def _history_items(messages: list[Message]) -> list[HistoryItem]:
    from omnidesk.plugin_api.events import OutboundAttachment
    from omnidesk.tickets.files import signed_url

    return [
        HistoryItem(
            id=str(m.pk),
            direction=m.direction,
            text=m.text,
            author_name=user_name(m.author_user) if m.author_user_id else "",
            created_at=m.created_at,
            status=m.delivery_status,
            client_reference=m.provider_message_id if m.direction == "inbound" else "",
            attachments=tuple(OutboundAttachment(filename=a.filename, content_type=a.content_type, size=a.size,
                                                 url=signed_url(a)) for a in m.attachments.all() if a.file),
        )
        for m in messages
    ]


def resident_history(*, public_id: str, identity: IdentityRef, limit: int, after: int = 0) -> list[HistoryItem]:
    try:
        ref = normalise(identity)
    except InvalidIdentity:
        return []
    messages = (
        Message.objects.filter(
            channel_account__public_id=public_id,
            kind=Kind.MESSAGE,
            ticket__identity__kind=ref.kind,
            ticket__identity__value=ref.value,
            pk__gt=after,
        )
        .select_related("author_user")
        .prefetch_related("attachments")
        .order_by("-created_at", "-id")[:limit]
    )
    return _history_items(list(reversed(list(messages))))


def history_item(*, public_id: str, provider_message_id: str) -> HistoryItem | None:
    """One resident-visible message by its provider id, e.g. to echo a stored message back to the widget."""
    messages = list(Message.objects.filter(channel_account__public_id=public_id, kind=Kind.MESSAGE,
                                           provider_message_id=provider_message_id)
                    .select_related("author_user").prefetch_related("attachments")[:1])
    return _history_items(messages)[0] if messages else None
