"""Publishing dashboard events: stored in the transaction, pushed to the municipality's group on commit.

The database is the source of truth and the websocket only a notification: the channel layer may drop
messages under load, so every event has an ordered id and dashboards fetch what they missed.
"""
from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from omnidesk.realtime.models import Event

logger = logging.getLogger(__name__)


def municipality_group(municipality_id: int) -> str:
    return f"municipality-{municipality_id}"


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    import json

    # Round-trip now, so unserialisable data fails in the service, not later in the layer.
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def event_frame(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "data": event.payload}


def _push(municipality_id: int, frame: dict[str, Any]) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(
            municipality_group(municipality_id), {"type": "dashboard.event", "frame": frame}
        )
    except Exception:  # the event is stored; dashboards catch up from the database
        logger.exception("realtime push failed", extra={"event_id": frame["id"]})


def publish(*, municipality_id: int, type: str, payload: dict[str, Any]) -> Event:
    event = Event.objects.create(municipality_id=municipality_id, type=type, payload=_jsonable(payload))
    frame = event_frame(event)
    transaction.on_commit(lambda: _push(municipality_id, frame))
    return event


def signal(*, municipality_id: int, type: str, payload: dict[str, Any]) -> None:
    """An ephemeral notice (someone is typing): pushed now, never stored or replayed; frames have id None."""
    _push(municipality_id, {"id": None, "type": type, "data": _jsonable(payload)})
