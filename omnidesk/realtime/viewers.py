"""Who is looking at which ticket right now, so colleagues see each other before they both answer.

Kept in the cache (Redis in production) per ticket, with a time-to-live: a browser that vanished stops counting
within a minute and a half, like presence.
"""
from __future__ import annotations

import time

from django.core.cache import cache

from omnidesk.realtime.presence import TTL_SECONDS, locked
from omnidesk.realtime.services import signal
from omnidesk.tickets.models import Ticket


def _key(ticket_id: int) -> str:
    return f"omnidesk:viewers:{ticket_id}"


def _current(ticket_id: int) -> dict[int, tuple[str, float]]:
    now = time.time()
    return {uid: (name, at) for uid, (name, at) in (cache.get(_key(ticket_id)) or {}).items() if now - at < TTL_SECONDS}


def _announce(municipality_id: int, ticket_id: int, viewers: dict[int, tuple[str, float]]) -> None:
    signal(municipality_id=municipality_id, type="ticket.viewers",
           payload={"ticket_id": ticket_id, "viewers": [{"id": uid, "name": name} for uid, (name, _at) in
                                                        sorted(viewers.items(), key=lambda item: item[1][0])]})


def start_viewing(*, municipality_id: int, ticket_id: int, user_id: int, name: str) -> bool:
    """Mark the user as viewing; False when the ticket is not this municipality's."""
    if not Ticket.objects.filter(pk=ticket_id, municipality_id=municipality_id).exists():
        return False
    with locked(_key(ticket_id)):  # announced inside, so announcements follow the order of the changes
        viewers = _current(ticket_id)
        known = user_id in viewers
        viewers[user_id] = (name, time.time())
        cache.set(_key(ticket_id), viewers, TTL_SECONDS)
        if not known:
            _announce(municipality_id, ticket_id, viewers)
    return True


def stop_viewing(*, municipality_id: int, ticket_id: int, user_id: int) -> None:
    with locked(_key(ticket_id)):
        viewers = _current(ticket_id)
        if viewers.pop(user_id, None) is not None:
            cache.set(_key(ticket_id), viewers, TTL_SECONDS)
            _announce(municipality_id, ticket_id, viewers)


def viewers_of(ticket_id: int) -> list[dict[str, object]]:
    return [{"id": uid, "name": name} for uid, (name, _at) in _current(ticket_id).items()]
