"""Delivery-status precedence: a message's shown status never moves backwards."""
from __future__ import annotations

from omnidesk.plugin_api.events import DeliveryStatus

_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}


def next_status(current: str, incoming: str) -> str:
    """The status to show after `incoming` arrives on a message now in `current`.

    read > delivered > sent; `failed` wins over queued/sending/sent but later evidence of delivery or
    reading contradicts it.
    """
    if not current:
        return incoming
    cur, new = DeliveryStatus(current), DeliveryStatus(incoming)
    if new is DeliveryStatus.FAILED:
        return new.value if cur in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT) else cur.value
    if cur is DeliveryStatus.FAILED:
        return new.value if new in (DeliveryStatus.DELIVERED, DeliveryStatus.READ) else cur.value
    return new.value if _RANK[new] > _RANK[cur] else cur.value
