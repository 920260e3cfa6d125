"""Ingest: normalised events from a plugin become contacts, tickets, messages and status changes."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.contacts.models import ContactIdentity
from omnidesk.contacts.normalise import InvalidIdentity, normalise
from omnidesk.contacts.services import consent_record, contact_update_name, identities_resolve, identity_for
from omnidesk.plugin_api.events import (
    ConsentChange,
    InboundEvent,
    InboundMessage,
    ProfileUpdate,
    Reaction,
    StatusUpdate,
)
from omnidesk.plugin_api.adapter import ChannelAdapter
from omnidesk.plugin_api.registry import get_adapter
from omnidesk.tickets.threads import ThreadHint
from omnidesk.tickets.intake import Incoming, messages_receive
from omnidesk.tickets.services import consent_noted, delivery_status_record, reaction_record

logger = logging.getLogger(__name__)


class InvalidEvent(ValueError):
    """A plugin produced an event core cannot accept (e.g. an address that is no phone number)."""


@dataclass
class IngestReport:
    messages: int = 0
    duplicates: int = 0
    statuses: int = 0
    profiles: int = 0
    reactions: int = 0
    consents: int = 0

    def add(self, other: IngestReport) -> None:
        for name in self.as_dict():
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "duplicates": self.duplicates,
            "statuses": self.statuses,
            "profiles": self.profiles,
            "reactions": self.reactions,
            "consents": self.consents,
        }


def _incoming(account: ChannelAccount, event: InboundMessage, identity: ContactIdentity, adapter: ChannelAdapter,
              acknowledgement: str) -> Incoming:
    metadata = dict(event.metadata)
    if event.cc:
        metadata["cc"] = list(event.cc)
    if event.automated:
        metadata["automated"] = True
    if event.references:
        metadata["references"] = list(event.references)
    thread = None
    if adapter.capabilities.threads:
        thread = ThreadHint.of(in_reply_to=event.in_reply_to, references=event.references,
                               ticket_reference=event.ticket_reference)
    return Incoming(
        account=account, identity=identity, provider_message_id=event.provider_message_id, text=event.text,
        html=event.html, subject=event.subject, sent_at=event.sent_at, in_reply_to=event.in_reply_to,
        attachments=event.attachments, metadata=metadata, quoted_text=event.quoted, thread=thread,
        acknowledgement="" if event.automated else acknowledgement,
    )


class _Messages:
    """Consecutive messages of a batch, stored together (tickets.intake) when another kind of event or the end of
    the batch comes: order is kept, and the residents of a municipality are looked up in one go."""

    def __init__(self, report: IngestReport) -> None:
        self.report = report
        self.waiting: list[tuple[ChannelAccount, InboundMessage]] = []
        self.acknowledgements: dict[int, str] = {}

    def add(self, account: ChannelAccount, event: InboundMessage) -> None:
        if account.pk not in self.acknowledgements:
            adapter = get_adapter(account.plugin_key)
            self.acknowledgements[account.pk] = adapter.acknowledgement_text(account_context(account))
        self.waiting.append((account, event))

    def flush(self) -> None:
        if not self.waiting:
            return
        waiting, self.waiting = self.waiting, []
        identities: dict[int, dict[tuple[str, str], ContactIdentity]] = {}
        for municipality_id in {account.municipality_id for account, _ in waiting}:
            senders = [(e.sender, e.sender_name) for a, e in waiting if a.municipality_id == municipality_id]
            municipality = next(a.municipality for a, _ in waiting if a.municipality_id == municipality_id)
            try:
                identities[municipality_id] = identities_resolve(municipality=municipality, senders=senders)
            except InvalidIdentity as exc:
                raise InvalidEvent(str(exc)) from exc
        items = []
        for account, event in waiting:
            sender = normalise(event.sender)
            identity = identities[account.municipality_id][(str(sender.kind), sender.value)]
            items.append(_incoming(account, event, identity, get_adapter(account.plugin_key),
                                   self.acknowledgements[account.pk]))
        stored = messages_receive(items)
        self.report.messages += sum(1 for m in stored if m is not None)
        self.report.duplicates += sum(1 for m in stored if m is None)


def validate_events(events: tuple[InboundEvent, ...]) -> None:
    """Refuse, before anything is accepted, what the ingest could never store (an address that is no address)."""
    for event in events:
        if not isinstance(event, (InboundMessage, StatusUpdate, Reaction, ConsentChange, ProfileUpdate)):
            raise InvalidEvent(f"unknown event type {type(event).__name__}")
        address = getattr(event, "sender", None) or getattr(event, "identity", None)
        if address is not None:
            try:
                normalise(address)
            except InvalidIdentity as exc:
                raise InvalidEvent(str(exc)) from exc


def ingest_events(*, account: ChannelAccount, events: tuple[InboundEvent, ...]) -> IngestReport:
    """Store all events of one webhook or poll in one transaction: all of it, or nothing."""
    return ingest_batch([(account, events)])


def ingest_batch(batch: Sequence[tuple[ChannelAccount, tuple[InboundEvent, ...]]]) -> IngestReport:
    """Store the events of several webhooks or polls, in order, in one transaction: all of it, or nothing."""
    report = IngestReport()
    messages = _Messages(report)
    with transaction.atomic():
        for account, events in batch:
            for event in events:
                if isinstance(event, InboundMessage):
                    messages.add(account, event)
                else:
                    messages.flush()
                    _ingest_other(account, event, report)
        messages.flush()
    return report


def _ingest_other(account: ChannelAccount, event: InboundEvent, report: IngestReport) -> None:
    if isinstance(event, StatusUpdate):
        delivery_status_record(account=account, update=event)
        report.statuses += 1
    elif isinstance(event, Reaction):
        try:
            sender = normalise(event.sender)
        except InvalidIdentity as exc:
            raise InvalidEvent(str(exc)) from exc
        reaction_record(account=account, target_provider_id=event.target_provider_message_id,
                        sender=sender.value, emoji=event.emoji)
        report.reactions += 1
    elif isinstance(event, ConsentChange):
        try:
            identity = identity_for(municipality=account.municipality, identity=event.sender)
        except InvalidIdentity as exc:
            raise InvalidEvent(str(exc)) from exc
        if consent_record(channel_account=account, identity=identity, opted_out=event.opted_out,
                          keyword=event.keyword, at=event.occurred_at):
            consent_noted(account=account, identity=identity, opted_out=event.opted_out, keyword=event.keyword)
        report.consents += 1
    elif isinstance(event, ProfileUpdate):
        try:
            contact_update_name(
                municipality=account.municipality, identity=event.identity, display_name=event.display_name
            )
        except InvalidIdentity as exc:
            raise InvalidEvent(str(exc)) from exc
        report.profiles += 1
    else:
        raise InvalidEvent(f"unknown event type {type(event).__name__}")
