"""Which agents have a dashboard open: what a livechat's online/away state is based on.

Each open dashboard refreshes its mark every HEARTBEAT seconds; a mark older than TTL counts as gone, so a browser
that vanished without closing its socket stops counting within a minute and a half.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

HEARTBEAT_SECONDS = 30
TTL_SECONDS = 90
LOCK_SECONDS = 2


@contextmanager
def locked(key: str) -> Iterator[None]:
    """Serialise read-modify-write of one cache entry across threads and processes: two dashboards that open (or
    close) at the same moment must not overwrite each other's mark. A holder that died frees it after LOCK_SECONDS."""
    lock, deadline = f"{key}:lock", time.monotonic() + LOCK_SECONDS
    acquired = cache.add(lock, 1, LOCK_SECONDS)
    while not acquired and time.monotonic() < deadline:
        time.sleep(0.005)
        acquired = cache.add(lock, 1, LOCK_SECONDS)
    try:
        yield
    finally:
        if acquired:
            cache.delete(lock)


def _key(municipality_id: int) -> str:
    return f"omnidesk:presence:{municipality_id}"


def mark_present(municipality_id: int, user_id: int) -> None:
    with locked(_key(municipality_id)):
        marks = cache.get(_key(municipality_id)) or {}
        now = time.time()
        marks = {uid: at for uid, at in marks.items() if now - at < TTL_SECONDS}
        marks[user_id] = now
        cache.set(_key(municipality_id), marks, TTL_SECONDS)


def mark_gone(municipality_id: int, user_id: int) -> None:
    with locked(_key(municipality_id)):
        marks = cache.get(_key(municipality_id)) or {}
        if marks.pop(user_id, None) is not None:
            cache.set(_key(municipality_id), marks, TTL_SECONDS)


def agents_present(municipality_id: int) -> int:
    now = time.time()
    return sum(1 for at in (cache.get(_key(municipality_id)) or {}).values() if now - at < TTL_SECONDS)


def present_user_ids(municipality_id: int) -> list[int]:
    now = time.time()
    return [uid for uid, at in (cache.get(_key(municipality_id)) or {}).items() if now - at < TTL_SECONDS]
