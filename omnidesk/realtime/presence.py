"""Which agents have a dashboard open: what a livechat's online/away state is based on.

Each open dashboard refreshes its mark every HEARTBEAT seconds; a mark older than TTL counts as gone, so a browser
that vanished without closing its socket stops counting within a minute and a half.
"""
from __future__ import annotations

import time

from django.core.cache import cache

HEARTBEAT_SECONDS = 30
TTL_SECONDS = 90


def _key(municipality_id: int) -> str:
    return f"omnidesk:presence:{municipality_id}"


def mark_present(municipality_id: int, user_id: int) -> None:
    marks = cache.get(_key(municipality_id)) or {}
    now = time.time()
    marks = {uid: at for uid, at in marks.items() if now - at < TTL_SECONDS}
    marks[user_id] = now
    cache.set(_key(municipality_id), marks, TTL_SECONDS)


def mark_gone(municipality_id: int, user_id: int) -> None:
    marks = cache.get(_key(municipality_id)) or {}
    if marks.pop(user_id, None) is not None:
        cache.set(_key(municipality_id), marks, TTL_SECONDS)


def agents_present(municipality_id: int) -> int:
    now = time.time()
    return sum(1 for at in (cache.get(_key(municipality_id)) or {}).values() if now - at < TTL_SECONDS)


def present_user_ids(municipality_id: int) -> list[int]:
    now = time.time()
    return [uid for uid, at in (cache.get(_key(municipality_id)) or {}).items() if now - at < TTL_SECONDS]
