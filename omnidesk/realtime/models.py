"""Dashboard events, kept briefly so a dashboard that missed some (reconnect, dropped frame) can catch up."""
from __future__ import annotations

from django.db import models

from omnidesk.tenants.models import Municipality


class Event(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["municipality", "id"], name="event_catchup_idx")]
