"""Reads: a municipality's stream position, and the events a dashboard missed."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omnidesk.realtime.models import Event, Stream
from omnidesk.realtime.services import event_frame

# Protocol 1 (by id): concurrent transactions can commit ids out of order; a catch-up re-reads a little before
# the last id it saw, and clients drop ids they already applied.
CATCH_UP_OVERLAP = 100
CATCH_UP_LIMIT = 500


@dataclass(frozen=True)
class CatchUp:
    """Events after `since` in order; `head` is the stream position read before them, so every number up to
    min(head, last returned) that is not among them no longer exists (pruned)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False
    head: int = 0

    def frame(self) -> dict[str, Any]:
        return {"type": "catch_up", "events": self.events, "more": self.more, "head": self.head}


def stream_head(*, municipality_id: int) -> int:
    """The last number given out in the municipality's stream (0 before its first event)."""
    return Stream.objects.filter(municipality_id=municipality_id).values_list("head", flat=True).first() or 0


def events_since(*, municipality_id: int, since: int, limit: int = CATCH_UP_LIMIT) -> CatchUp:
    head = stream_head(municipality_id=municipality_id)  # first: everything up to it is committed and numbered
    events = list(Event.objects.filter(municipality_id=municipality_id, seq__gt=since).order_by("seq")[:limit + 1])
    return CatchUp(events=[event_frame(event) for event in events[:limit]], more=len(events) > limit, head=head)


def latest_event_id(*, municipality_id: int) -> int:
    """Where a dashboard page starts following: the stream position (a `seq`), read before the page's queries.

    (Named for protocol 1, whose cursor was an id; the dashboard's `lastEventId` is this position.)
    """
    return stream_head(municipality_id=municipality_id)


def events_after(*, municipality_id: int, after_id: int, limit: int = CATCH_UP_LIMIT) -> list[dict[str, Any]]:
    """Protocol 1: events by id after `after_id`, re-reading CATCH_UP_OVERLAP ids before it."""
    events = Event.objects.filter(municipality_id=municipality_id, id__gt=max(0, after_id - CATCH_UP_OVERLAP)).order_by(
        "id"
    )[:limit]
    return [event_frame(event) for event in events]
