"""Outbound delivery: replies are queued rows (the outbox); a drain per channel account claims the due ones in
batches, hands them to the plugin and records the outcomes (outbound/claims.py, outbound/delivery.py)."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from omnidesk.audit.services import audit_record, diff
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.ops.commit_hooks import on_commit_once
from omnidesk.outbound.claims import claim_due, claim_message, due_exists, next_due_at
from omnidesk.outbound.delivery import Outcome, Pipeline, concurrent_sends, deliver_batch
from omnidesk.plugin_api.errors import DeliveryError
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tickets.models import DeliveryStatus, Direction, Kind, Message, Ticket
from omnidesk.tickets.services import message_resend

__all__ = ["Outcome", "deliver", "deliver_due", "enqueue_delivery", "requeue_stalled", "stalled_message_ids"]

logger = logging.getLogger(__name__)


SCHEDULED_SECONDS = 10  # how long "a drain of this account is on its way" keeps further replies from asking again
# pg_try_advisory_lock(OUTBOUND_LOCK + slot, account id): the drain slots of a channel account.
OUTBOUND_LOCK = 0x6F6D6F75
WAKE_MARGIN = 0.05  # seconds after the retry time, so the wake-up does not come a hair early
CLAIM_POLL = 0.2  # seconds between looks for new due replies while sends are out
MAX_LOOKS = 5  # drains in a row by one task; what is still due after that is another task's (or the sweep's)


def enqueue_delivery(message: Message) -> None:
    """Schedule delivery once the surrounding transaction commits (one drain request per account and transaction)."""
    account_id = message.channel_account_id
    on_commit_once(("outbound.delivery", account_id), lambda: _publish_delivery(account_id))


def _scheduled_key(account_id: int) -> str:
    return f"omnidesk:outbound:scheduled:{account_id}"


def _publish_delivery(account_id: int) -> None:
    """Ask for a drain of the account's queue, unless one is already on its way (many replies, one task). The queued
    row is the outbox: if the broker is down, the sweep (requeue_stalled) asks later, so the agent's reply is
    accepted rather than answered with an error."""
    from omnidesk.outbound.tasks import deliver_due as deliver_due_task

    try:
        if not cache.add(_scheduled_key(account_id), 1, timeout=SCHEDULED_SECONDS):
            return
    except Exception:  # noqa: BLE001  (without the cache, ask anyway: a spare drain finds nothing to do)
        logger.warning("outbound schedule mark unavailable", extra={"account_id": account_id})
    try:
        deliver_due_task.delay(account_id)
    except Exception:  # noqa: BLE001  (kombu/redis errors vary; the rows are committed either way)
        logger.warning("delivery not enqueued; the outbox sweep will", extra={"account_id": account_id})
        _forget_scheduled(account_id)


def _forget_scheduled(account_id: int) -> None:
    _forget(_scheduled_key(account_id))


def _forget(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:  # noqa: BLE001
        logger.warning("outbound schedule mark unavailable", extra={"key": key})


def deliver(message_id: int, *, use_breaker: bool = True) -> tuple[Outcome, float]:
    """One delivery attempt of this reply now, whatever its retry time (a batch of one). Returns the outcome and,
    for RETRY, the delay before the next attempt. `use_breaker=False` where a wait cannot be honoured."""
    message = claim_message(message_id)
    if message is None:
        return Outcome.SKIPPED, 0.0
    return deliver_batch([message], use_breaker=use_breaker)[message.pk]


def deliver_due(account_id: int, *, in_process: bool = False, wake: str = "") -> int:
    """Deliver the account's due replies, in batches, until none is due; returns how many attempts were made.

    At most OUTBOUND_DRAINS_PER_ACCOUNT drains per account at a time: one that finds them all taken leaves the
    work to those. After letting go it
    looks once more, for replies committed while it held the lock whose own drain gave way to it. The earliest retry
    time left gets a wake-up. `in_process` (tasks run eagerly): retries are made at once and the breaker is not
    consulted, since nothing could wait. `wake`: the mark of the wake-up this drain is, let go so the next can be set.
    """
    _forget_scheduled(account_id)
    if wake:
        _forget(wake)
    attempts = 0
    for _look in range(MAX_LOOKS):
        with _account_lock(account_id) as slot:
            if slot is None:
                return attempts
            attempts += _drain(account_id, in_process=in_process, may_ask_helper=slot == 0)
        if not due_exists(account_id, ignore_retry_times=in_process):
            break
    if not in_process:
        _wake_up_for_retries(account_id)
    return attempts


def _drain(account_id: int, *, in_process: bool, may_ask_helper: bool = False) -> int:
    """Claim and send until nothing is due. While sends are out, it looks for new due replies every CLAIM_POLL
    seconds (an agent's new reply does not wait for a slow provider to answer the others). The first drain of an
    account asks for a helper in the next slot when it finds a full batch waiting (a backlog)."""
    account = ChannelAccount.objects.select_related("municipality").filter(pk=account_id).first()
    if account is None:
        return 0
    claimed = 0
    batch_size = settings.OMNIDESK["OUTBOUND_BATCH_SIZE"]
    last_empty = float("-inf")
    with Pipeline(account, parallel=concurrent_sends(account), use_breaker=not in_process) as pipeline:
        while True:
            if pipeline.wants_more and time.monotonic() - last_empty >= CLAIM_POLL:
                batch = claim_due(account_id, batch_size, ignore_retry_times=in_process)
                claimed += len(batch)
                if may_ask_helper and len(batch) == batch_size and settings.OMNIDESK["OUTBOUND_DRAINS_PER_ACCOUNT"] > 1:
                    may_ask_helper = False
                    _ask_helper(account_id)
                if batch:
                    pipeline.add(batch)
                else:
                    last_empty = time.monotonic()
            pipeline.pump()
            if pipeline.idle:
                if pipeline.stopping or time.monotonic() - last_empty < CLAIM_POLL:
                    break
                continue
            pipeline.collect(timeout=CLAIM_POLL)
    return claimed


def _ask_helper(account_id: int) -> None:
    from omnidesk.outbound.tasks import deliver_due as deliver_due_task

    try:
        deliver_due_task.delay(account_id)
    except Exception:  # noqa: BLE001  (a helper is a bonus; this drain carries on)
        logger.warning("no helper drain enqueued", extra={"account_id": account_id})


@contextmanager
def _account_lock(account_id: int) -> Iterator[int | None]:
    """One of the account's OUTBOUND_DRAINS_PER_ACCOUNT drain slots: a session-level advisory lock, held across the
    drain's transactions and gone with the connection if the worker dies. Drains of one account may run side by side
    (in several worker processes) because claims never overlap and a conversation's next reply is only claimed once
    its previous one is done. Where there are no advisory locks (SQLite, the embedded default) there is one process."""
    if connection.vendor != "postgresql":
        yield 0
        return
    held = None
    with connection.cursor() as cursor:
        for slot in range(max(1, settings.OMNIDESK["OUTBOUND_DRAINS_PER_ACCOUNT"])):
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [OUTBOUND_LOCK + slot, account_id])
            if cursor.fetchone()[0]:
                held = slot
                break
    try:
        yield held
    finally:
        if held is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [OUTBOUND_LOCK + held, account_id])


def _wake_up_for_retries(account_id: int) -> None:
    """A drain when the account's next reply is due (once, however many drains computed the same time)."""
    from omnidesk.outbound.tasks import deliver_due as deliver_due_task

    at = next_due_at(account_id)
    if at is None:
        return
    seconds = max(0.0, (at - timezone.now()).total_seconds()) + WAKE_MARGIN
    wake = f"omnidesk:outbound:wake:{account_id}:{at.timestamp():.3f}"
    try:
        if cache.add(wake, 1, timeout=int(seconds) + 60):
            deliver_due_task.apply_async((account_id,), {"wake": wake}, countdown=seconds)
    except Exception:  # noqa: BLE001  (the sweep delivers what waited too long)
        logger.warning("retry wake-up not scheduled; the outbox sweep will", extra={"account_id": account_id})


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


def requeue_stalled() -> int:
    """The outbox sweep: replies a worker never finished or a lost task never started get a drain of their account."""
    ids = stalled_message_ids()
    for account_id in set(Message.objects.filter(pk__in=ids).values_list("channel_account_id", flat=True)):
        _forget_scheduled(account_id)
        _publish_delivery(account_id)
    return len(ids)


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
