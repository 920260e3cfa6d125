"""Reads: events a dashboard missed."""
from __future__ import annotations

from typing import Any

from omnidesk.realtime.models import Event
from omnidesk.realtime.services import event_frame

# Concurrent transactions can commit ids out of order; a catch-up re-reads a little before the last id
# it saw, and clients drop ids they already applied.
CATCH_UP_OVERLAP = 100


def events_after(*, municipality_id: int, after_id: int, limit: int = 500) -> list[dict[str, Any]]:
    events = Event.objects.filter(municipality_id=municipality_id, id__gt=max(0, after_id - CATCH_UP_OVERLAP)).order_by(
        "id"
    )[:limit]
    return [event_frame(event) for event in events]


def latest_event_id(*, municipality_id: int) -> int:
    last = Event.objects.filter(municipality_id=municipality_id).order_by("-id").values_list("id", flat=True).first()
    return last or 0
