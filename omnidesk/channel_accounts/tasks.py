"""Beat tasks for channel accounts."""
from __future__ import annotations

from celery import shared_task

from omnidesk.channel_accounts.services import apply_due_schedules


@shared_task(name="omnidesk.channel_accounts.tasks.apply_channel_schedules")
def apply_channel_schedules() -> int:
    """Switch accounts on or off whose planned time has come (every minute, CELERY_BEAT_SCHEDULE)."""
    return apply_due_schedules()
