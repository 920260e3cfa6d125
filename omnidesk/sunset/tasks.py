"""Celery task for sunset replies: a thin wrapper around sunset.services."""
from __future__ import annotations

from celery import shared_task

from omnidesk.outbound.services import Outcome
from omnidesk.sunset.services import sunset_reply_send


@shared_task(bind=True, name="omnidesk.sunset.tasks.send_sunset_reply", max_retries=None)
def send_sunset_reply(self, contact_id: int) -> str:  # type: ignore[no-untyped-def]
    outcome, delay = sunset_reply_send(contact_id)
    if outcome is Outcome.RETRY:
        # The contact stays queued in the database; the broker only carries the timer.
        raise self.retry(countdown=delay)
    return outcome.value
