"""Ingest: normalised events from a plugin become contacts, tickets, messages and status changes."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db import transaction

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.contacts.models import ContactIdentity
from omnidesk.contacts.normalise import InvalidIdentity, normalise
from omnidesk.contacts.services import consent_record, contacts_rename, identities_resolve, identity_for
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
from omnidesk.tenants.models import Municipality
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


class _Pending:
    """The events of a batch that can wait and be stored together: messages (tickets.intake), residents' names
    and delivery statuses. They are stored when an event that depends on them comes (a reaction to a message, an
    opt-out) and at the end of the batch; each kind keeps its order, and none of them depends on the others."""

    def __init__(self, report: IngestReport) -> None:
        self.report = report
        self.messages: list[tuple[ChannelAccount, InboundMessage]] = []
        self.names: list[tuple[ChannelAccount, ProfileUpdate]] = []
        self.statuses: list[tuple[ChannelAccount, StatusUpdate]] = []
        self.acknowledgements: dict[int, str] = {}
        # Identities resolved for this batch's messages, per municipality: a message's profile name needs no new read.
        self.identities: dict[int, dict[tuple[str, str], ContactIdentity]] = {}

    def add(self, account: ChannelAccount, event: InboundEvent) -> bool:
        """Take the event if it can wait; False if it must be stored now (after `flush`)."""
        if isinstance(event, InboundMessage):
            if account.pk not in self.acknowledgements:
                adapter = get_adapter(account.plugin_key)
                self.acknowledgements[account.pk] = adapter.acknowledgement_text(account_context(account))
            self.messages.append((account, event))
        elif isinstance(event, ProfileUpdate):
            self.names.append((account, event))
        elif isinstance(event, StatusUpdate):
            self.statuses.append((account, event))
        else:
            return False
        return True

    def flush(self) -> None:
        self._store_messages()
        for municipality, names in _per_municipality(self.names):
            try:
                contacts_rename(municipality=municipality, names=[(e.identity, e.display_name) for e in names],
                                known=self.identities.get(municipality.pk))
            except InvalidIdentity as exc:
                raise InvalidEvent(str(exc)) from exc
            self.report.profiles += len(names)
        for account, update in self.statuses:
            delivery_status_record(account=account, update=update)
            self.report.statuses += 1
        self.names, self.statuses = [], []

    def _store_messages(self) -> None:
        if not self.messages:
            return
        waiting, self.messages = self.messages, []
        identities = self.identities
        for municipality, events in _per_municipality(waiting):
            try:
                identities.setdefault(municipality.pk, {}).update(identities_resolve(
                    municipality=municipality, senders=[(e.sender, e.sender_name) for e in events]))
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


E = TypeVar("E")


def _per_municipality(events: list[tuple[ChannelAccount, E]]) -> list[tuple[Municipality, list[E]]]:
    grouped: dict[int, tuple[Municipality, list[E]]] = {}
    for account, event in events:
        grouped.setdefault(account.municipality_id, (account.municipality, []))[1].append(event)
    return list(grouped.values())


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
    """Store the events of several webhooks or polls in one transaction: all of it, or nothing. Events that
    depend on earlier ones (a reaction, an opt-out) are stored after everything before them."""
    report = IngestReport()
    pending = _Pending(report)
    with transaction.atomic():
        for account, events in batch:
            for event in events:
                if not pending.add(account, event):
                    pending.flush()
                    _ingest_now(account, event, report)
        pending.flush()
    return report


def _ingest_now(account: ChannelAccount, event: InboundEvent, report: IngestReport) -> None:
    if isinstance(event, Reaction):
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
    else:
        raise InvalidEvent(f"unknown event type {type(event).__name__}")
