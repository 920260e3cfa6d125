"""A circuit breaker per channel account, with its state in the shared cache (Redis in production).

Closed: sends go out. After OUTBOUND_BREAKER_FAILURES transient failures in a row the breaker *opens* for a cool-down
(OUTBOUND_BREAKER_COOLDOWN seconds, doubled after every failed trial up to OUTBOUND_BREAKER_COOLDOWN_MAX): the
account's replies wait without calling the provider, so one failing provider cannot keep the workers busy while other
accounts' replies queue behind it. After the cool-down it is *half open*: one send is let through as a trial; its
success closes the breaker, its failure opens it again for twice as long.

Separately, a provider that asks us to wait (429 with Retry-After) *pauses* the whole account for that long, without
counting as a failure: the other replies wait too, while the refused one keeps its own retry time (which already
honours the Retry-After).

Every worker reads and writes the same keys, so the state is shared; updates are not strictly atomic (a few sends in
flight when the breaker opens still complete), which is harmless. When the cache itself is unreachable the breaker
lets everything through: it must never be the reason a reply is not sent.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

TRIAL_SECONDS = 120.0  # a trial send holds the half-open state at most this long (longer than any provider timeout)
HALF_OPEN_RECHECK = 5.0  # while a trial is in flight, other sends look again after about this long


@dataclass(frozen=True)
class Permit:
    """The breaker's answer before a send: wait this many seconds (0: send now)."""

    wait: float = 0.0
    trial: bool = False  # this send is the half-open trial
    clean: bool = True  # nothing was recorded for the account: a success needs no write
    paused: bool = False  # the wait is the provider's own (Retry-After), not an open breaker
    # Only this reply of the batch may go now (the half-open trial, or the reply the provider's pause was about, which
    # keeps its own retry time); ask again for the others once it is done.
    only: int | None = None


def _keys(account_id: int) -> dict[str, str]:
    base = f"omnidesk:breaker:{account_id}"
    return {name: f"{base}:{name}" for name in ("failures", "open", "trial", "pause")}


def _config() -> dict[str, float]:
    cfg = settings.OMNIDESK
    return {"failures": cfg["OUTBOUND_BREAKER_FAILURES"], "cooldown": cfg["OUTBOUND_BREAKER_COOLDOWN"],
            "cooldown_max": cfg["OUTBOUND_BREAKER_COOLDOWN_MAX"]}


def _spread(seconds: float) -> float:
    """A little jitter, so the replies that waited for the same moment do not all arrive at once."""
    return seconds + random.uniform(0.0, min(2.0, 0.1 * seconds + 0.2))


def permit(account_id: int, message_ids: Sequence[int] = ()) -> Permit:
    """May the replies `message_ids` of this account (oldest first) be sent now, or how long should they wait?"""
    keys = _keys(account_id)
    try:
        state = cache.get_many([keys["failures"], keys["open"], keys["pause"]])
        now = time.time()
        pause = state.get(keys["pause"]) or {"until": 0.0, "message_id": None}
        if pause["until"] > now:
            if pause["message_id"] in message_ids:
                return Permit(clean=False, paused=True, only=pause["message_id"])
            return Permit(wait=_spread(pause["until"] - now), clean=False, paused=True)
        opened: dict[str, float] | None = state.get(keys["open"])
        if opened is None:
            return Permit(clean=not state.get(keys["failures"]))
        if opened["until"] > now:
            return Permit(wait=_spread(opened["until"] - now), clean=False)
        if cache.add(keys["trial"], now, timeout=TRIAL_SECONDS):
            return Permit(trial=True, clean=False, only=message_ids[0] if message_ids else None)
        return Permit(wait=_spread(min(HALF_OPEN_RECHECK, opened["cooldown"])), clean=False)
    except Exception:  # noqa: BLE001  (a cache outage must not stop delivery)
        logger.warning("circuit breaker unavailable; sending without it", extra={"account_id": account_id})
        return Permit()


def record_success(account_id: int, granted: Permit) -> None:
    """The provider took a message (or answered that it never will): the account works, close the breaker."""
    if granted.clean:
        return
    keys = _keys(account_id)
    try:
        cache.delete_many([keys["failures"], keys["open"], keys["trial"]])
    except Exception:  # noqa: BLE001
        logger.warning("circuit breaker unavailable; success not recorded", extra={"account_id": account_id})


def release(account_id: int, granted: Permit) -> None:
    """A trial that proved nothing (the plugin crashed): let the next send be the trial."""
    if granted.trial:
        try:
            cache.delete(_keys(account_id)["trial"])
        except Exception:  # noqa: BLE001
            logger.warning("circuit breaker unavailable; trial not released", extra={"account_id": account_id})


def record_failure(account_id: int, granted: Permit, *, retry_after: float | None = None,
                   message_id: int | None = None) -> None:
    """A transient failure. A provider's Retry-After pauses the account; otherwise failures in a row open the breaker."""
    keys = _keys(account_id)
    cfg = _config()
    try:
        now = time.time()
        if retry_after:
            # Asked to wait: the provider is answering, so a trial "succeeded"; the account pauses as a whole.
            pause = {"until": now + retry_after, "message_id": message_id}  # that reply is rescheduled by its own backoff
            cache.set(keys["pause"], pause, timeout=int(retry_after) + 60)
            if granted.trial:
                cache.delete_many([keys["failures"], keys["open"], keys["trial"]])
            return
        if granted.trial:
            previous = cache.get(keys["open"]) or {"cooldown": cfg["cooldown"] / 2}
            cooldown = min(cfg["cooldown_max"], previous["cooldown"] * 2)
            _open(keys, now, cooldown, replace=True)
            cache.delete(keys["trial"])
            logger.warning("circuit breaker opened again after a failed trial",
                           extra={"account_id": account_id, "cooldown": cooldown})
            return
        cache.add(keys["failures"], 0, timeout=int(cfg["cooldown_max"]) + 60)
        failures = cache.incr(keys["failures"])
        if failures >= cfg["failures"] and _open(keys, now, cfg["cooldown"], replace=False):
            logger.warning("circuit breaker opened", extra={"account_id": account_id, "failures": failures,
                                                            "cooldown": cfg["cooldown"]})
    except Exception:  # noqa: BLE001
        logger.warning("circuit breaker unavailable; failure not recorded", extra={"account_id": account_id})


def _open(keys: dict[str, str], now: float, cooldown: float, *, replace: bool) -> bool:
    value = {"until": now + cooldown, "cooldown": cooldown, "since": now}
    timeout = int(cooldown + TRIAL_SECONDS + 60)
    if replace:
        cache.set(keys["open"], value, timeout=timeout)
        return True
    return bool(cache.add(keys["open"], value, timeout=timeout))  # only the first of concurrent failures opens it


def state(account_id: int) -> dict[str, Any]:
    """For operators: closed / open / half_open / paused, with until when it applies, and the failures in a row."""
    keys = _keys(account_id)
    try:
        values = cache.get_many(list(keys.values()))
    except Exception:  # noqa: BLE001
        return {"state": "unknown"}
    now = time.time()
    failures = int(values.get(keys["failures"]) or 0)
    paused_until = float((values.get(keys["pause"]) or {"until": 0.0})["until"])
    opened = values.get(keys["open"])
    if paused_until > now:
        return {"state": "paused", "until": paused_until, "failures": failures}
    if opened is not None:
        if opened["until"] > now:
            return {"state": "open", "until": opened["until"], "cooldown": opened["cooldown"], "failures": failures}
        return {"state": "half_open", "cooldown": opened["cooldown"], "failures": failures}
    return {"state": "closed", "failures": failures}


def reset(account_id: int) -> None:
    """Forget everything about the account (an operator fixed it, or a test starts clean)."""
    cache.delete_many(list(_keys(account_id).values()))
