"""Outbound delivery: claim a queued reply, hand it to its plugin, record the outcome."""
from __future__ import annotations

import enum
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from omnidesk.audit.services import audit_record, diff
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.contacts.selectors import is_opted_out
from omnidesk.contacts.services import consent_record
from omnidesk.ops import breaker
from omnidesk.ops.retry import backoff_seconds
from omnidesk.plugin_api.capabilities import capability_problem
from omnidesk.channel_accounts.services import channel_account_clear_flag, channel_account_flag
from omnidesk.plugin_api.errors import AccountProblem, DeliveryError, PermanentDeliveryError, TransientDeliveryError
from omnidesk.plugin_api.events import IdentityKind, IdentityRef, OutboundAttachment, OutboundMessage, TemplateRef
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tickets.files import signed_url
from omnidesk.tickets.models import DeliveryEvent, DeliveryStatus, Direction, Kind, Message, Ticket
from omnidesk.tickets.presenters import user_name
from omnidesk.tickets.services import (
    consent_noted,
    message_resend,
    outbound_mark_failed,
    outbound_mark_retrying,
    outbound_mark_sent,
    publish_message,
)

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # not queued (already sent, or another worker has it)


def enqueue_delivery(message: Message) -> None:
    """Schedule delivery once the surrounding transaction commits."""
    message_id = message.pk
    transaction.on_commit(lambda: _publish_delivery(message_id))


def _publish_delivery(message_id: int) -> None:
    """Hand the task to the broker. The queued row is the outbox: if the broker is down, the sweep
    (requeue_stalled) enqueues it later, so the agent's reply is accepted rather than answered with an error."""
    from omnidesk.outbound.tasks import deliver_message

    try:
        deliver_message.delay(message_id)
    except Exception:  # noqa: BLE001  (kombu/redis errors vary; the row is committed either way)
        logger.warning("delivery not enqueued; the outbox sweep will", extra={"message_id": message_id})


def _claim(message_id: int) -> Message | None:
    """Move a queued message to `sending`; only one worker can win."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            # Everything sending and the dashboards' event read, in one query (see message_data, ticket_data).
            .select_related("ticket", "ticket__identity", "ticket__contact", "ticket__channel_account",
                            "ticket__assignee", "channel_account", "channel_account__municipality", "author_user")
            .filter(pk=message_id, delivery_status=DeliveryStatus.QUEUED)
            .first()
        )
        if message is None:
            return None
        prefetch_related_objects([message], "attachments")
        message.delivery_status = DeliveryStatus.SENDING
        message.claimed_at = timezone.now()
        message.attempts += 1
        message.save(update_fields=["delivery_status", "claimed_at", "attempts"])
    return message


MAX_REFERENCES = 20


def _thread_references(message: Message) -> tuple[str, ...]:
    """The provider ids of the ticket's earlier messages, oldest first: what email's References header carries.

    The first resident message's own References come first, so a thread that began elsewhere stays whole.
    """
    earlier = list(
        Message.objects.filter(ticket_id=message.ticket_id, kind=Kind.MESSAGE, created_at__lte=message.created_at)
        .exclude(pk=message.pk)
        .exclude(provider_message_id="")
        .order_by("created_at", "id")
        .values("provider_message_id", "metadata")
    )
    ids: list[str] = []
    if earlier:
        ids.extend(reversed(earlier[0]["metadata"].get("references", [])))  # stored nearest first
    ids.extend(m["provider_message_id"] for m in earlier)
    unique = list(dict.fromkeys(ids))
    # Keep the thread's root and the nearest ones, as RFC 5322 suggests for long threads.
    return tuple(unique if len(unique) <= MAX_REFERENCES else [unique[0], *unique[-(MAX_REFERENCES - 1):]])


def _threaded(message: Message) -> bool:
    try:
        return get_adapter(message.channel_account.plugin_key).capabilities.threads
    except UnknownPlugin:
        return False


def _outbound(message: Message) -> OutboundMessage:
    identity = message.ticket.identity
    previous_inbound = (
        Message.objects.filter(ticket_id=message.ticket_id, direction="inbound", created_at__lte=message.created_at)
        .exclude(provider_message_id="")
        .order_by("-created_at")
        .values_list("provider_message_id", flat=True)
        .first()
    )
    template = message.metadata.get("template")
    return OutboundMessage(
        template=TemplateRef(template["name"], template["language"], tuple(template["parameters"])) if template else None,
        message_id=str(message.pk),
        recipient=IdentityRef(IdentityKind(identity.kind), identity.value),
        text=message.text,
        subject=message.subject or message.ticket.subject,
        sender_name=user_name(message.author_user),
        in_reply_to=previous_inbound or "",
        attempt=message.attempts,
        quote=message.metadata.get("quote", ""),
        attachments=tuple(
            OutboundAttachment(filename=a.filename, content_type=a.content_type, size=a.size, url=signed_url(a))
            for a in message.attachments.all()
        ),
        references=_thread_references(message) if _threaded(message) else (),
        ticket_reference=str(message.ticket.number),
        cc=tuple(message.metadata.get("cc", ())),
        automatic=bool(message.metadata.get("automatic")),
    )


ACCEPTED_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ)


def _accepted_earlier(message: Message) -> str:
    """The provider id of an earlier attempt of this message that did reach the provider, as its status report
    (echoing our id) shows; "" if none. Only a retry can have one: a worker died or timed out mid-send, and the
    report arrived while the message was still marked `sending`, so nothing adopted it (events already applied to
    the message belong to an earlier delivery the agent chose to send again)."""
    if message.attempts <= 1:
        return ""
    return (
        DeliveryEvent.objects.filter(channel_account_id=message.channel_account_id, client_reference=str(message.pk),
                                     message__isnull=True, status__in=ACCEPTED_STATUSES)
        .order_by("occurred_at", "id")
        .values_list("provider_message_id", flat=True)
        .first()
    ) or ""


WAITING_REASONS = {
    "paused": ("provider_rate_limited", "The provider asked to wait; sending resumes after its pause."),
    "open": ("provider_unavailable", "The provider keeps failing; sending resumes when it recovers."),
}


def _postpone(message: Message, granted: breaker.Permit) -> None:
    """The account's breaker holds the message back: queued again without using up an attempt."""
    code, reason = WAITING_REASONS["paused" if granted.paused else "open"]
    changed = message.error_code != code
    message.delivery_status = DeliveryStatus.QUEUED
    message.claimed_at = None
    message.attempts -= 1
    message.next_attempt_at = timezone.now() + timedelta(seconds=granted.wait)
    message.error_code, message.error_message = code, reason
    message.save(update_fields=["delivery_status", "claimed_at", "attempts", "next_attempt_at", "error_code",
                                "error_message"])
    if changed:  # show why it waits once, not on every look
        publish_message(message, "message.updated")


def deliver(message_id: int, *, use_breaker: bool = True) -> tuple[Outcome, float]:
    """One delivery attempt. Returns the outcome and, for RETRY, the delay before the next attempt.

    `use_breaker=False` where a wait cannot be honoured (tasks run in-process: Celery retries those at once).
    """
    message = _claim(message_id)
    if message is None:
        return Outcome.SKIPPED, 0.0
    account = message.channel_account
    if not account.enabled:
        outbound_mark_failed(message=message, code="channel_disabled", reason="The channel is switched off.")
        return Outcome.FAILED, 0.0
    try:
        adapter = get_adapter(account.plugin_key)
    except UnknownPlugin:
        outbound_mark_failed(message=message, code="plugin_missing", reason="The channel plugin is not installed.")
        return Outcome.FAILED, 0.0
    if is_opted_out(channel_account_id=account.pk, identity=message.ticket.identity):
        outbound_mark_failed(message=message, code="opted_out", reason="The resident opted out of this channel.")
        return Outcome.FAILED, 0.0
    outbound = _outbound(message)
    problem = capability_problem(adapter.capabilities, outbound)
    if problem:
        outbound_mark_failed(message=message, code=problem[0], reason=problem[1])
        return Outcome.FAILED, 0.0
    earlier = _accepted_earlier(message)
    if earlier:
        # Sending again would reach the resident twice.
        with transaction.atomic():
            outbound_mark_sent(message=message, provider_message_id=earlier, status=DeliveryStatus.SENT.value)
        return Outcome.SENT, 0.0
    granted = breaker.permit(account.pk, message.pk) if use_breaker else breaker.Permit()
    if granted.wait > 0:
        with transaction.atomic():
            _postpone(message, granted)
        return Outcome.RETRY, granted.wait
    try:
        result = adapter.send(outbound, account_context(account))
    except AccountProblem as exc:
        breaker.record_success(account.pk, granted)  # the provider answered; the flag, not the breaker, stops sends
        with transaction.atomic():
            outbound_mark_failed(message=message, code=exc.code, reason=exc.reason)
            channel_account_flag(account=account, reason=exc.reason)
        return Outcome.FAILED, 0.0
    except PermanentDeliveryError as exc:
        breaker.record_success(account.pk, granted)  # a refusal of this message: the provider itself works
        with transaction.atomic():
            outbound_mark_failed(message=message, code=exc.code, reason=exc.reason)
            if exc.recipient_opted_out:
                opt_out_reported_by_provider(message=message, code=exc.code)
        return Outcome.FAILED, 0.0
    except TransientDeliveryError as exc:
        if exc.this_recipient_only:  # the provider works and the account may send to everyone else
            breaker.record_success(account.pk, granted)
        elif use_breaker:
            breaker.record_failure(account.pk, granted, retry_after=exc.retry_after, message_id=message.pk)
        if message.attempts >= settings.OMNIDESK["OUTBOUND_MAX_ATTEMPTS"]:
            with transaction.atomic():
                outbound_mark_failed(message=message, code=exc.code or "gave_up", reason=exc.reason)
            return Outcome.FAILED, 0.0
        delay = backoff_seconds(message.attempts, exc.retry_after)
        if exc.may_have_been_sent:
            # Give the provider's status report (carrying our id) time to arrive before we risk a double send.
            delay = max(delay, settings.OMNIDESK["OUTBOUND_AMBIGUOUS_WAIT"])
        with transaction.atomic():
            outbound_mark_retrying(message=message, code=exc.code, reason=exc.reason, delay=delay)
        return Outcome.RETRY, delay
    except Exception as exc:  # a plugin bug must not leave the message stuck in `sending`
        logger.exception("channel plugin crashed while sending", extra={"message_id": message_id})
        breaker.release(account.pk, granted)  # says nothing about the provider
        if message.attempts >= settings.OMNIDESK["OUTBOUND_MAX_ATTEMPTS"]:
            with transaction.atomic():
                outbound_mark_failed(message=message, code="plugin_error", reason=type(exc).__name__)
            return Outcome.FAILED, 0.0
        delay = backoff_seconds(message.attempts)
        with transaction.atomic():
            outbound_mark_retrying(message=message, code="plugin_error", reason=type(exc).__name__, delay=delay)
        return Outcome.RETRY, delay
    breaker.record_success(account.pk, granted)
    with transaction.atomic():
        outbound_mark_sent(message=message, provider_message_id=result.provider_message_id, status=result.status.value)
        channel_account_clear_flag(account=account)
    return Outcome.SENT, 0.0


def message_requeue(*, message: Message, actor: Any) -> Message:
    """Platform staff send a dead letter again (Django admin): the agents' resend, plus an audit entry."""
    before = {"delivery_status": message.delivery_status, "error_code": message.error_code,
              "attempts": message.attempts}
    with transaction.atomic():
        message_resend(message=message, actor=actor)
        after = {"delivery_status": message.delivery_status, "error_code": message.error_code,
                 "attempts": message.attempts}
        audit_record(municipality=message.municipality, actor=actor, action="message.requeued", target=message,
                     changes=diff(before, after))
    return message


def opt_out_reported_by_provider(*, message: Message, code: str) -> None:
    """The provider refused because the resident opted out: record it, as if their STOP had reached us."""
    identity = message.ticket.identity
    if consent_record(channel_account=message.channel_account, identity=identity, opted_out=True,
                      keyword=code or "provider", at=timezone.now()):
        consent_noted(account=message.channel_account, identity=identity, opted_out=True, keyword=code or "provider")


def stalled_message_ids() -> list[int]:
    """Messages that were claimed by a worker that never reported back, or queued but never picked up."""
    cutoff = timezone.now() - timedelta(seconds=settings.OMNIDESK["OUTBOUND_STALL_SECONDS"])
    Message.objects.filter(delivery_status=DeliveryStatus.SENDING, claimed_at__lt=cutoff).update(
        delivery_status=DeliveryStatus.QUEUED, claimed_at=None, next_attempt_at=None
    )
    overdue = Message.objects.filter(delivery_status=DeliveryStatus.QUEUED).filter(
        Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, created_at__lt=cutoff)
    )
    return list(overdue.values_list("pk", flat=True)[:1000])


def enqueue_read_receipt(ticket: Ticket) -> None:
    """An agent opened the ticket: tell the provider the resident's latest message was read (once)."""
    from omnidesk.outbound.tasks import send_read_receipt

    try:
        capabilities = get_adapter(ticket.channel_account.plugin_key).capabilities
    except UnknownPlugin:
        return
    if not capabilities.read_receipts or not ticket.channel_account.enabled:
        return
    latest = (
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND, kind=Kind.MESSAGE)
        .exclude(provider_message_id="")
        .order_by("-created_at", "-id")
        .only("id", "metadata")
        .first()
    )
    if latest is None or latest.metadata.get("read_receipt"):
        return
    message_id = latest.pk
    transaction.on_commit(lambda: send_read_receipt.delay(message_id))


def read_receipt_send(message_id: int) -> bool:
    """Best effort: a failed read receipt is logged, never retried into the resident's face."""
    message = Message.objects.select_related("channel_account__municipality").filter(pk=message_id).first()
    if message is None or message.metadata.get("read_receipt"):
        return False
    account = message.channel_account
    try:
        get_adapter(account.plugin_key).mark_read(account_context(account), message.provider_message_id)
    except (UnknownPlugin, DeliveryError) as exc:
        logger.warning("read receipt not sent", extra={"message_id": message_id, "reason": getattr(exc, "reason", "")})
        return False
    message.metadata = {**message.metadata, "read_receipt": True}
    message.save(update_fields=["metadata"])
    return True
