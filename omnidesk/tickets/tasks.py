"""Celery tasks for tickets: thin wrappers around the services."""
from __future__ import annotations

import logging

from celery import shared_task

from omnidesk.tenants.models import Municipality
from omnidesk.tickets.retention import retention_apply

logger = logging.getLogger(__name__)


@shared_task(name="omnidesk.tickets.tasks.apply_retention")
def apply_retention() -> int:
    """Hourly (beat): delete expired finished tickets in every municipality that set a retention period."""
    total = 0
    for municipality in Municipality.objects.filter(retention_days__isnull=False).order_by("pk"):
        try:
            total += retention_apply(municipality=municipality)
        except Exception:  # noqa: BLE001  (one municipality's failure must not stop the others' retention)
            logger.exception("retention failed", extra={"municipality_id": municipality.pk})
    return total
