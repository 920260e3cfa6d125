from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from omnidesk.realtime.models import Event


@shared_task(name="omnidesk.realtime.tasks.prune_events")
def prune_events() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.OMNIDESK["REALTIME_EVENT_RETENTION_HOURS"])
    deleted, _ = Event.objects.filter(created_at__lt=cutoff).delete()
    return deleted
