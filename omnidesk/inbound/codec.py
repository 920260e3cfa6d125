"""Events to and from bytes, for the inbound journal: each event tagged with its type, fields as msgspec encodes
dataclasses (datetimes ISO 8601, bytes base64)."""
from __future__ import annotations

from typing import Any

import msgspec

from omnidesk.plugin_api.events import (
    ConsentChange,
    InboundEvent,
    InboundMessage,
    ProfileUpdate,
    Reaction,
    StatusUpdate,
)

EVENT_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in
                                     (InboundMessage, StatusUpdate, ProfileUpdate, Reaction, ConsentChange)}

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[tuple[str, msgspec.Raw]])


class UndecodableEvents(ValueError):
    """Stored bytes that are not a list of known events (a plugin's event type that no longer exists)."""


def encode_events(events: tuple[InboundEvent, ...]) -> bytes:
    return _encoder.encode([(type(event).__name__, event) for event in events])


def decode_events(data: bytes) -> tuple[InboundEvent, ...]:
    try:
        return tuple(msgspec.json.decode(raw, type=EVENT_TYPES[name]) for name, raw in _decoder.decode(data))
    except (KeyError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UndecodableEvents(str(exc)) from exc
