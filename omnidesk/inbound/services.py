"""Ingest: normalised events from a plugin become contacts, tickets, messages and status changes."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.contacts.models import ContactIdentity
from omnidesk.contacts.normalise import InvalidIdentity, normalise
from omnidesk.contacts.services import consent_record, contact_for_identity, contact_update_name, identity_for
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
from omnidesk.tickets.services import (
    DuplicateMessage,
    consent_noted,
    delivery_status_record,
    message_receive,
    reaction_record,
)

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

    def as_dict(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "duplicates": self.duplicates,
            "statuses": self.statuses,
            "profiles": self.profiles,
            "reactions": self.reactions,
            "consents": self.consents,
        }


def _ingest_message(
    account: ChannelAccount, event: InboundMessage, report: IngestReport, adapter: ChannelAdapter, acknowledgement: str
) -> None:
    try:
        identity_ref = normalise(event.sender)
    except InvalidIdentity as exc:
        raise InvalidEvent(str(exc)) from exc
    contact = contact_for_identity(
        municipality=account.municipality, identity=identity_ref, display_name=event.sender_name
    )
    identity = ContactIdentity.objects.get(
        municipality=account.municipality, kind=identity_ref.kind, value=identity_ref.value
    )
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
    try:
        message_receive(
            account=account,
            contact=contact,
            identity=identity,
            provider_message_id=event.provider_message_id,
            text=event.text,
            html=event.html,
            subject=event.subject,
            sent_at=event.sent_at,
            in_reply_to=event.in_reply_to,
            attachments=event.attachments,
            metadata=metadata,
            quoted_text=event.quoted,
            thread=thread,
            acknowledgement="" if event.automated else acknowledgement,
        )
        report.messages += 1
    except DuplicateMessage:
        report.duplicates += 1


def ingest_events(*, account: ChannelAccount, events: tuple[InboundEvent, ...]) -> IngestReport:
    """Store all events of one webhook or poll in one transaction: all of it, or nothing."""
    report = IngestReport()
    adapter = get_adapter(account.plugin_key)
    messages = [e for e in events if isinstance(e, InboundMessage)]
    acknowledgement = adapter.acknowledgement_text(account_context(account)) if messages else ""
    with transaction.atomic():
        for event in events:
            if isinstance(event, InboundMessage):
                _ingest_message(account, event, report, adapter, acknowledgement)
            elif isinstance(event, StatusUpdate):
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
    return report
