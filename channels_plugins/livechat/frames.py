"""The JSON frames the widget and the server exchange (see docs/channels/livechat.md)."""
from __future__ import annotations

from typing import Any

from omnidesk.plugin_api import HistoryItem

INBOUND_PREFIX = "lc-"
OUTBOUND_PREFIX = "lc-out-"


def inbound_id(visitor_key: str, client_id: str) -> str:
    """The provider id of a visitor's message: the widget's own id, so a resend after a reconnect is one message."""
    return f"{INBOUND_PREFIX}{visitor_key}-{client_id}"


def visitor_key_of(provider_message_id: str) -> str:
    return provider_message_id.removeprefix(INBOUND_PREFIX).split("-", 1)[0]


def client_id_of(provider_message_id: str) -> str:
    return provider_message_id.removeprefix(INBOUND_PREFIX).split("-", 1)[-1] if provider_message_id else ""


def message_frame(item: HistoryItem) -> dict[str, Any]:
    return {
        "id": int(item.id),
        "client_id": client_id_of(item.client_reference),
        "direction": item.direction,
        "text": item.text,
        "author_name": item.author_name,
        "created_at": item.created_at.isoformat(),
        "status": item.status,
        "attachments": [{"filename": a.filename, "url": a.url, "content_type": a.content_type, "size": a.size}
                        for a in item.attachments],
    }
