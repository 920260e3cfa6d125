"""Celery tasks for outbound delivery: thin wrappers around outbound.services."""
from __future__ import annotations

from celery import shared_task

from omnidesk.outbound import services


@shared_task(bind=True, name="omnidesk.outbound.tasks.deliver_due")
def deliver_due(self, account_id: int, wake: str = "") -> int:  # type: ignore[no-untyped-def]
    # In-process (eager) tasks cannot wait for a retry time or a breaker: they retry at once.
    return services.deliver_due(account_id, in_process=bool(self.request.is_eager), wake=wake)


@shared_task(name="omnidesk.outbound.tasks.requeue_stalled")
def requeue_stalled() -> int:
    return services.requeue_stalled()


@shared_task(name="omnidesk.outbound.tasks.send_read_receipt")
def send_read_receipt(message_id: int) -> bool:
    return services.read_receipt_send(message_id)
