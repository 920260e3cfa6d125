"""Celery task for sunset replies: a thin wrapper around sunset.services."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from omnidesk.outbound.services import Outcome
from omnidesk.sunset.selectors import stalled_contact_ids
from omnidesk.sunset.services import sunset_reply_send


@shared_task(bind=True, name="omnidesk.sunset.tasks.send_sunset_reply", max_retries=None)
def send_sunset_reply(self, contact_id: int) -> str:  # type: ignore[no-untyped-def]
    outcome, delay = sunset_reply_send(contact_id)
    if outcome is Outcome.RETRY:
        # The contact stays queued in the database; the broker only carries the timer.
        raise self.retry(countdown=delay)
    return outcome.value


# Longer than a reply's whole retry schedule: a contact still queued after this lost its task (worker and broker gone).
STALLED_AFTER = timedelta(hours=2)


@shared_task(name="omnidesk.sunset.tasks.requeue_stalled_replies")
def requeue_stalled_replies() -> int:
    """Queue again sunset replies whose task was lost; sending is idempotent (only a queued contact is sent)."""
    ids = stalled_contact_ids(older_than=timezone.now() - STALLED_AFTER)
    for contact_id in ids:
        send_sunset_reply.delay(contact_id)
    return len(ids)
