"""Celery tasks for outbound delivery: thin wrappers around outbound.services."""
from __future__ import annotations

from celery import shared_task

from omnidesk.outbound.services import Outcome, deliver, read_receipt_send, stalled_message_ids


@shared_task(bind=True, name="omnidesk.outbound.tasks.deliver_message", max_retries=None)
def deliver_message(self, message_id: int) -> str:  # type: ignore[no-untyped-def]
    # In-process (eager) tasks retry at once, whatever the countdown: a breaker's wait would loop there.
    outcome, delay = deliver(message_id, use_breaker=not self.request.is_eager)
    if outcome is Outcome.RETRY:
        # The message is queued again in the database; the broker only carries the timer.
        raise self.retry(countdown=delay)
    return outcome.value


@shared_task(name="omnidesk.outbound.tasks.requeue_stalled")
def requeue_stalled() -> int:
    ids = stalled_message_ids()
    for message_id in ids:
        deliver_message.delay(message_id)
    return len(ids)


@shared_task(name="omnidesk.outbound.tasks.send_read_receipt")
def send_read_receipt(message_id: int) -> bool:
    return read_receipt_send(message_id)
