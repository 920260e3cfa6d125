"""Writes: a message to a switched-off account is counted, and the resident answered at most once per period."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.contacts.normalise import InvalidIdentity, normalise
from omnidesk.inbound.services import InvalidEvent
from omnidesk.ops.retry import backoff_seconds
from omnidesk.outbound.services import Outcome
from omnidesk.plugin_api.capabilities import capability_problem
from omnidesk.plugin_api.errors import PermanentDeliveryError, TransientDeliveryError
from omnidesk.plugin_api.events import ConsentChange, IdentityKind, IdentityRef, InboundEvent, InboundMessage, OutboundMessage
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.sunset.models import ReplyStatus, SunsetContact
from omnidesk.sunset.selectors import answered_recently, resident_opted_out, sunset_reply_text

logger = logging.getLogger(__name__)


@dataclass
class SunsetReport:
    contacts: int = 0
    duplicates: int = 0
    answers: int = 0


def _serialise_per_account(account: ChannelAccount) -> ChannelAccount:
    """Lock the account's row until the commit and return it fresh.

    Two webhooks from one resident at the same moment must not both see "not answered yet". A row lock on the
    account (rather than a PostgreSQL advisory lock per resident) works on every database Omnidesk runs on, and a
    switched-off channel's trickle of messages loses nothing by being taken one webhook at a time.
    """
    return ChannelAccount.objects.select_for_update().select_related("municipality").get(pk=account.pk)


def _to_resident(event: InboundMessage | ConsentChange) -> IdentityRef:
    try:
        return normalise(event.sender)
    except InvalidIdentity as exc:
        raise InvalidEvent(str(exc)) from exc


@transaction.atomic
def sunset_contact_record(*, account: ChannelAccount, event: InboundMessage, answer: bool = True,
                          opted_out: bool | None = None) -> tuple[SunsetContact, bool]:
    """Count a resident's message to a switched-off account; queue the sunset reply if they are due one.

    Returns the contact and whether it is new: a redelivered message (same provider id) is counted once and
    never answered twice. `answer=False` counts without answering (e.g. the resident opts out in the same breath);
    `opted_out` remembers a STOP (True) or START (False) the message carries.
    """
    resident = _to_resident(event)
    account = _serialise_per_account(account)
    fields = {"municipality_id": account.municipality_id, "identity_kind": resident.kind.value,
              "identity_value": resident.value, "opted_out": opted_out}
    if event.provider_message_id:
        contact, created = SunsetContact.objects.get_or_create(
            channel_account=account, provider_message_id=event.provider_message_id, defaults=fields)
    else:
        contact, created = SunsetContact.objects.create(channel_account=account, **fields), True
    if not created:
        return contact, False
    if (answer and not event.automated and sunset_reply_text(account)
            and not answered_recently(account=account, identity=resident)
            and not resident_opted_out(account=account, identity=resident)):
        contact.reply_status = ReplyStatus.QUEUED
        contact.save(update_fields=["reply_status"])
        _enqueue_reply(contact.pk)
    return contact, True


def _enqueue_reply(contact_id: int) -> None:
    from omnidesk.sunset.tasks import send_sunset_reply

    transaction.on_commit(lambda: send_sunset_reply.delay(contact_id))


@transaction.atomic
def sunset_events_record(*, account: ChannelAccount, events: Sequence[InboundEvent]) -> SunsetReport:
    """A webhook's events for a switched-off account, in one transaction: residents' messages are counted (never
    a ticket, contact or message); machines' messages, statuses, reactions and the rest are ignored."""
    report = SunsetReport()
    # Someone who writes STOP is not answered, not even with where else to go, and not later either
    # (resident_opted_out); START undoes it.
    consents = {_to_resident(e): e.opted_out for e in events if isinstance(e, ConsentChange)}
    for event in events:
        if not isinstance(event, InboundMessage) or event.automated:
            continue
        resident = _to_resident(event)
        contact, created = sunset_contact_record(account=account, event=event, answer=not consents.get(resident),
                                                 opted_out=consents.pop(resident, None))
        report.contacts += created
        report.duplicates += not created
        report.answers += created and contact.reply_status == ReplyStatus.QUEUED
    for resident, opted_out in consents.items():  # a STOP or START that came without a message of its own
        SunsetContact.objects.create(municipality_id=account.municipality_id, channel_account=account,
                                     identity_kind=resident.kind.value, identity_value=resident.value,
                                     opted_out=opted_out)
    return report


def sunset_consents_carry_over(account: ChannelAccount, since: datetime | None) -> int:
    """The channel is switched on again: residents who wrote STOP while it was off are opted out of it now (and
    START undoes an earlier opt-out), so the first reply after the switch respects them. Returns how many."""
    from omnidesk.contacts.services import consent_record, identity_for
    from omnidesk.sunset.selectors import sunset_consents

    now = timezone.now()
    changes = sunset_consents(account, since)
    for (kind, value), opted_out in changes.items():
        identity = identity_for(municipality=account.municipality, identity=IdentityRef(IdentityKind(kind), value))
        consent_record(channel_account=account, identity=identity, opted_out=opted_out, keyword="sunset", at=now)
    return len(changes)


def _finish(contact: SunsetContact, status: str, error: str = "") -> None:
    contact.reply_status, contact.reply_error = status, error[:300]
    contact.save(update_fields=["reply_status", "reply_error", "reply_attempts"])


def sunset_reply_send(contact_id: int) -> tuple[Outcome, float]:
    """Send one queued sunset reply; the outcome and, for RETRY, the delay before the next attempt.

    The contact's row stays locked while the provider is called: a second run of the task (a redelivery, a
    duplicate) skips it and finds it no longer queued afterwards, so a resident is answered once.
    """
    with transaction.atomic():
        contact = (SunsetContact.objects.select_for_update(skip_locked=True, of=("self",))
                   .select_related("channel_account__municipality")
                   .filter(pk=contact_id, reply_status=ReplyStatus.QUEUED).first())
        if contact is None:
            return Outcome.SKIPPED, 0.0
        account = contact.channel_account
        text = sunset_reply_text(account)
        if account.enabled or not text:
            # Switched on again, or the text was removed, while the reply waited: it would be wrong now.
            _finish(contact, ReplyStatus.NONE, "The channel was switched on again." if account.enabled else "")
            return Outcome.SKIPPED, 0.0
        try:
            adapter = get_adapter(account.plugin_key)
        except UnknownPlugin:
            _finish(contact, ReplyStatus.FAILED, "The channel plugin is not installed.")
            return Outcome.FAILED, 0.0
        contact.reply_attempts += 1
        outbound = OutboundMessage(message_id=f"sunset-{contact.pk}", text=text, automatic=True,
                                   recipient=IdentityRef(IdentityKind(contact.identity_kind), contact.identity_value),
                                   attempt=contact.reply_attempts)
        problem = capability_problem(adapter.capabilities, outbound)
        if problem:
            _finish(contact, ReplyStatus.FAILED, problem[1])
            return Outcome.FAILED, 0.0
        try:
            # The account is switched off, but its credentials still work: that is what makes a sunset possible.
            adapter.send(outbound, account_context(account))
        except PermanentDeliveryError as exc:  # AccountProblem included: nothing to retry
            _finish(contact, ReplyStatus.FAILED, exc.reason)
            return Outcome.FAILED, 0.0
        except TransientDeliveryError as exc:
            # Also when the provider may have got it (a read timeout): a rare second notice beats none.
            return _retry_or_fail(contact, exc.reason, exc.retry_after)
        except Exception as exc:  # a plugin bug must not leave the reply queued for ever
            logger.exception("channel plugin crashed while sending a sunset reply", extra={"contact_id": contact_id})
            return _retry_or_fail(contact, type(exc).__name__, None)
        _finish(contact, ReplyStatus.SENT)
        return Outcome.SENT, 0.0


def _retry_or_fail(contact: SunsetContact, reason: str, retry_after: float | None) -> tuple[Outcome, float]:
    if contact.reply_attempts >= settings.OMNIDESK["OUTBOUND_MAX_ATTEMPTS"]:
        _finish(contact, ReplyStatus.FAILED, reason)
        return Outcome.FAILED, 0.0
    _finish(contact, ReplyStatus.QUEUED, reason)
    return Outcome.RETRY, backoff_seconds(contact.reply_attempts, retry_after)
