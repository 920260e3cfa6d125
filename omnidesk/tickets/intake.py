"""Storing inbound messages: many at once, with a handful of statements for the whole batch.

`messages_receive` is the one way a resident's message is stored; `tickets.services.message_receive` is its batch
of one. For a batch it finds duplicates, locks the residents, finds their tickets and reserves the numbers of new
ones in a few set-based statements, inserts the tickets and messages in bulk and publishes the dashboard events in
one insert, instead of some twenty statements per message. What only some messages need stays per message: a
threaded channel's thread lookup (email), attachments, and for each new ticket its routing, automatic assignment
and automatic reply.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.models import Contact, ContactIdentity
from omnidesk.ops.bulk import bulk_update_rows
from omnidesk.plugin_api.events import InboundAttachment
from omnidesk.realtime.services import publish_many
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Attachment, Direction, Kind, Message, RoutingRule, Status, Ticket
from omnidesk.tickets.presenters import message_data, ticket_data
from omnidesk.tickets.routing_rules import active_rules, route_new_ticket
from omnidesk.tickets.threads import ThreadHint, thread_ticket

PREVIEW_LENGTH = 140
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


@dataclass(frozen=True)
class Incoming:
    """One inbound message, its resident already known (`identity`, with its contact)."""

    account: ChannelAccount
    identity: ContactIdentity
    provider_message_id: str
    text: str
    html: str = ""
    subject: str = ""
    sent_at: datetime | None = None
    in_reply_to: str = ""
    attachments: tuple[InboundAttachment, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    quoted_text: str = ""
    thread: ThreadHint | None = None
    acknowledgement: str = ""


def preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_LENGTH else flat[: PREVIEW_LENGTH - 1] + "…"


def continues(ticket: Ticket, at: datetime) -> bool:
    """Make an active or recently resolved ticket take the next message; False when it is too old for that."""
    if ticket.status in ACTIVE_STATUSES:
        return True
    window = timedelta(days=ticket.municipality.reopen_window_days)
    if ticket.status == Status.RESOLVED and ticket.resolved_at and at - ticket.resolved_at <= window:
        ticket.status = Status.OPEN
        ticket.resolved_at = None
        return True
    return False


def messages_receive(items: Sequence[Incoming]) -> list[Message | None]:
    """Store the messages, in order; None in place of one whose provider id is already known (a duplicate)."""
    if not items:
        return []
    try:
        with transaction.atomic():
            return _receive(items)
    except IntegrityError:
        # A concurrent delivery of the same message won the race (two webhooks at once). Alone, it is that
        # duplicate or a real error to surface; in a batch, each message finds out for itself.
        if len(items) > 1:
            return [messages_receive([item])[0] for item in items]
        item = items[0]
        if item.provider_message_id and Message.objects.filter(
                channel_account=item.account, provider_message_id=item.provider_message_id).exists():
            return [None]
        raise


def _receive(items: Sequence[Incoming]) -> list[Message | None]:
    from omnidesk.notifications.services import notify_inbound_many

    fresh = _without_duplicates(items)
    if not any(fresh):
        return [None] * len(items)
    now = timezone.now()
    # Residents locked in one order, so two first messages cannot open two tickets and batches cannot deadlock.
    list(Contact.objects.select_for_update().filter(pk__in=sorted({i.identity.contact_id for i in fresh if i}))
         .values_list("pk", flat=True))
    latest = _latest_tickets([i for i in fresh if i and i.thread is None])
    tickets: list[Ticket | None] = []
    new_tickets: list[Ticket] = []
    new_ids: set[int] = set()  # id() of the unsaved tickets: unsaved models are unhashable, a list lookup is O(n²)
    for item in fresh:
        if item is None:
            tickets.append(None)
            continue
        ticket = _ticket_for(item, latest, now)
        if ticket.pk is None and id(ticket) not in new_ids:
            new_ids.add(id(ticket))
            new_tickets.append(ticket)
        tickets.append(ticket)
    touched: dict[int, Ticket] = {}
    for item, ticket in zip(fresh, tickets):
        if item is None or ticket is None:
            continue
        if item.subject and not ticket.subject:
            ticket.subject = item.subject[:255]
        ticket.last_inbound_at = ticket.last_activity_at = ticket.updated_at = now
        ticket.preview = preview(item.text or item.subject or ", ".join(a.filename for a in item.attachments))
        if ticket.pk is not None:
            touched[ticket.pk] = ticket
    _number_and_create(new_tickets)  # with the fields above: new tickets need no update
    messages, files = _create_messages(fresh, tickets)
    _update_tickets(list(touched.values()))
    stored = [m for m in messages if m is not None]
    for municipality_id in {m.municipality_id for m in stored}:
        publish_many(municipality_id=municipality_id, events=[
            ("message.created", {"message": message_data(m, files.get(m.pk, ())), "ticket": ticket_data(m.ticket)})
            for m in stored if m.municipality_id == municipality_id
        ])
    notify_inbound_many(stored)  # before a new ticket's automatic assignment, which notifies the assignee itself
    firsts: dict[int, tuple[Incoming, Message]] = {}
    for item, message in zip(fresh, messages):
        if item is not None and message is not None and id(message.ticket) in new_ids:
            firsts.setdefault(message.ticket_id, (item, message))
    _welcome(list(firsts.values()))
    return messages


def _without_duplicates(items: Sequence[Incoming]) -> list[Incoming | None]:
    """The items, with None for those whose provider id is known (stored before, or earlier in this batch)."""
    ids = {(i.account.pk, i.provider_message_id) for i in items if i.provider_message_id}
    known = set(
        Message.objects.filter(channel_account_id__in={a for a, _ in ids},
                               provider_message_id__in={p for _, p in ids})
        .values_list("channel_account_id", "provider_message_id")
    ) if ids else set()
    fresh: list[Incoming | None] = []
    for item in items:
        key = (item.account.pk, item.provider_message_id)
        if item.provider_message_id and key in known:
            fresh.append(None)
            continue
        known.add(key)
        fresh.append(item)
    return fresh


def _latest_tickets(items: Sequence[Incoming]) -> dict[tuple[int, int], Ticket]:
    """Each resident's latest ticket that is not closed, per channel account; locked."""
    if not items:
        return {}
    found: dict[tuple[int, int], Ticket] = {}
    accounts = {i.account.pk: i.account for i in items}
    rows = (Ticket.objects.select_for_update(of=("self",)).select_related("contact", "assignee")
            .filter(contact_id__in={i.identity.contact_id for i in items}, channel_account_id__in=accounts)
            .exclude(status=Status.CLOSED).order_by("-created_at", "-id"))
    for ticket in rows:
        # The batch's accounts (with their municipality) are in hand: not joined and built again for every ticket.
        ticket.channel_account = accounts[ticket.channel_account_id]
        ticket.municipality = ticket.channel_account.municipality
        found.setdefault((ticket.contact_id, ticket.channel_account_id), ticket)
    return found


def _ticket_for(item: Incoming, latest: dict[tuple[int, int], Ticket], now: datetime) -> Ticket:
    """The ticket the message joins: the active one, a recently resolved one (reopened), or a new one.

    With a thread (threaded channels such as email) only the thread decides: a message joins the ticket whose
    messages it answers if it comes from that ticket's resident; from anyone else it opens a new ticket linked to
    that one, so one resident's reply never lands in another's ticket. No known thread: a new ticket.
    """
    contact = item.identity.contact
    if item.thread is not None:
        found = thread_ticket(item.account, item.thread)
        if found is not None and found.contact_id == contact.pk and continues(found, now):
            return found
        return _unsaved_ticket(item, now, related=found)
    key = (contact.pk, item.account.pk)
    ticket = latest.get(key)
    if ticket is None or not (ticket.pk is None or continues(ticket, now)):
        ticket = latest[key] = _unsaved_ticket(item, now)
    return ticket


def _unsaved_ticket(item: Incoming, now: datetime, related: Ticket | None = None) -> Ticket:
    return Ticket(municipality=item.account.municipality, contact=item.identity.contact, identity=item.identity,
                  channel_account=item.account, last_activity_at=now, related_ticket=related,
                  subject=related.subject if related else "")


def _number_and_create(tickets: list[Ticket]) -> None:
    """Number the new tickets (one reservation per municipality; its row lock serialises numbering until commit)."""
    per_municipality: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        per_municipality.setdefault(ticket.municipality_id, []).append(ticket)
    for municipality_id, group in per_municipality.items():
        Municipality.objects.filter(pk=municipality_id).update(last_ticket_number=F("last_ticket_number") + len(group))
        last = Municipality.objects.values_list("last_ticket_number", flat=True).get(pk=municipality_id)
        for number, ticket in enumerate(group, start=last - len(group) + 1):
            ticket.number = number
    Ticket.objects.bulk_create(tickets)


def _update_tickets(tickets: list[Ticket]) -> None:
    """What a batch changed on existing tickets, in one statement."""
    bulk_update_rows(tickets, ["status", "resolved_at", "subject", "last_inbound_at", "last_activity_at", "preview",
                               "updated_at"])


def _create_messages(items: Sequence[Incoming | None], tickets: Sequence[Ticket | None]
                     ) -> tuple[list[Message | None], dict[int, list[Attachment]]]:
    """The messages (None where the item is), and the attachments stored with them by message id."""
    from omnidesk.tickets.services import store_attachment

    unsaved: list[Message | None] = []
    for item, ticket in zip(items, tickets):
        if item is None or ticket is None:
            unsaved.append(None)
            continue
        unsaved.append(Message(
            municipality_id=item.account.municipality_id, ticket=ticket, channel_account=item.account,
            direction=Direction.INBOUND, kind=Kind.MESSAGE, text=item.text, html=item.html,
            subject=item.subject[:255], author_contact=item.identity.contact,
            provider_message_id=item.provider_message_id, in_reply_to=item.in_reply_to,
            quoted_text=item.quoted_text, sent_at=item.sent_at, metadata=dict(item.metadata),
        ))
    Message.objects.bulk_create([m for m in unsaved if m is not None])
    files: dict[int, list[Attachment]] = {}
    for item, message in zip(items, unsaved):
        if item is not None and message is not None and item.attachments:
            files[message.pk] = [store_attachment(message, attachment) for attachment in item.attachments]
    return unsaved, files


def _welcome(firsts: list[tuple[Incoming, Message]]) -> None:
    """New tickets (with their first message): routed, announced, assigned (round robin) and answered automatically
    where configured. Routing comes before the announcement, and the announcement before any assignment."""
    from omnidesk.hours.auto_replies import automatic_reply_text
    from omnidesk.tickets.services import acknowledge, auto_assign

    rules: dict[int, list[RoutingRule]] = {}
    for _item, message in firsts:
        if message.municipality_id not in rules:
            rules[message.municipality_id] = active_rules(message.municipality_id)
        route_new_ticket(ticket=message.ticket, message=message, rules=rules[message.municipality_id])
    for municipality_id in rules:
        publish_many(municipality_id=municipality_id, events=[
            ("ticket.created", {"ticket": ticket_data(m.ticket)}) for _item, m in firsts
            if m.municipality_id == municipality_id
        ])
    for item, message in firsts:
        ticket = message.ticket
        if ticket.municipality.auto_assign:
            auto_assign(ticket)
        automatic = automatic_reply_text(ticket=ticket, message=message, acknowledgement=item.acknowledgement)
        if automatic:
            acknowledge(ticket=ticket, text=automatic)
