"""Dashboard events, kept briefly so a dashboard that missed some (reconnect, dropped frame) can catch up.

Each event gets two numbers: `id`, from one global sequence when the row is written, and `seq`, its place in its
municipality's stream, given right after the writing transaction commits (services.sequence). `seq` has no gaps and
is given in commit order, so a dashboard that has every number up to n has everything up to n (docs/realtime.md).
"""
from __future__ import annotations

from django.db import models

from omnidesk.tenants.models import Municipality


class Event(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+",
                                     db_index=False)  # event_catchup_idx starts with it
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # None until numbered; numbering follows the commit within milliseconds (a sweep catches a crash in between).
    seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["municipality", "id"], name="event_catchup_idx"),
            # Small: only the events waiting to be numbered.
            models.Index(fields=["municipality", "id"], name="event_unnumbered_idx",
                         condition=models.Q(seq__isnull=True)),
        ]
        constraints = [models.UniqueConstraint(fields=["municipality", "seq"], name="event_seq_unique")]


class Stream(models.Model):
    """A municipality's event stream: the last number given out. Its row lock orders the numbering."""

    municipality = models.OneToOneField(Municipality, on_delete=models.CASCADE, primary_key=True, related_name="+")
    head = models.BigIntegerField(default=0)
