"""Pure parsing of the simulator's webhook body: {"id", "text", "name"?, "sent_at"?}."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundEvent, InboundMessage, MalformedPayload

MAX_TEXT = 4096
RESIDENT_ID = re.compile(r"^[a-f0-9]{32}$")


def parse_body(body: bytes, resident_id: str) -> list[InboundEvent]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MalformedPayload("body must be a JSON object")
    message_id, text = payload.get("id"), payload.get("text")
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= 100:
        raise MalformedPayload("`id` must be a string of 1 to 100 characters")
    if not isinstance(text, str) or not text.strip():
        raise MalformedPayload("`text` must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise MalformedPayload(f"`text` is longer than {MAX_TEXT} characters")
    name = payload.get("name", "")
    if not isinstance(name, str):
        raise MalformedPayload("`name` must be a string")
    sent_at = datetime.now(timezone.utc)
    if "sent_at" in payload:
        try:
            sent_at = datetime.fromisoformat(str(payload["sent_at"]))
        except ValueError as exc:
            raise MalformedPayload("`sent_at` must be an ISO 8601 timestamp") from exc
    return [
        InboundMessage(
            provider_message_id=f"{resident_id}:{message_id}",
            sender=IdentityRef(IdentityKind.VISITOR, f"sandbox-{resident_id}"),
            sender_name=name.strip()[:200],
            text=text,
            sent_at=sent_at,
        )
    ]
