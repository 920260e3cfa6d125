"""Which ticket a message of a threaded channel (email) belongs to: by the thread it answers, never by subject."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, When

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.tickets.models import Message, Ticket

MAX_REFERENCES = 50  # a References header can be long; the nearest ids are the ones that matter


@dataclass(frozen=True)
class ThreadHint:
    """What an inbound message says about its thread."""

    provider_ids: tuple[str, ...] = ()  # the messages it answers, nearest first (In-Reply-To, then References)
    ticket_number: int | None = None  # a ticket it names, e.g. "[#123]" in the subject

    @classmethod
    def of(cls, *, in_reply_to: str, references: tuple[str, ...], ticket_reference: str) -> "ThreadHint":
        ids = tuple(dict.fromkeys(i for i in (in_reply_to, *references) if i))[:MAX_REFERENCES]
        number = int(ticket_reference) if ticket_reference.isdigit() and len(ticket_reference) < 10 else None
        return cls(provider_ids=ids, ticket_number=number)


def thread_ticket(account: ChannelAccount, hint: ThreadHint) -> Ticket | None:
    """The ticket of the nearest known message the hint names; else the ticket it names by number. Locked."""
    if hint.provider_ids:
        nearest_first = Case(*(When(provider_message_id=pid, then=i) for i, pid in enumerate(hint.provider_ids)),
                             output_field=IntegerField())
        ticket_id = (
            Message.objects.filter(channel_account=account, provider_message_id__in=hint.provider_ids)
            .order_by(nearest_first)
            .values_list("ticket_id", flat=True)
            .first()
        )
        if ticket_id is not None:
            return Ticket.objects.select_for_update().get(pk=ticket_id)
    if hint.ticket_number is not None:
        return Ticket.objects.select_for_update().filter(channel_account=account, number=hint.ticket_number).first()
    return None
