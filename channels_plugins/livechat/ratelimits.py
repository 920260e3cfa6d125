"""Rate limits per visitor, per IP address and per account, shared by all processes (Redis when configured).

Uses the `limits` library (moving windows). Each check names the limit that was hit, so the resident is told
plainly what to do (wait a minute), not just refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

ACCOUNT_MESSAGES_PER_MINUTE = 600  # a whole website's worth; beyond it someone is scripting
IP_MESSAGES_PER_MINUTE = 60
SOCKETS_PER_VISITOR = 5


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


@lru_cache(maxsize=1)
def _limiter() -> MovingWindowRateLimiter:
    redis_url = getattr(settings, "REDIS_URL", "") or ""
    if not redis_url:
        return MovingWindowRateLimiter(storage_from_string("memory://"))
    prefix = f"{getattr(settings, 'REDIS_PREFIX', 'omnidesk')}:limits"
    return MovingWindowRateLimiter(storage_from_string(redis_url, key_prefix=prefix))


def _hit(rate: RateLimitItem, *keys: str) -> Verdict:
    limiter = _limiter()
    if limiter.hit(rate, "omnidesk-livechat", *keys):
        return Verdict(True)
    stats = limiter.get_window_stats(rate, "omnidesk-livechat", *keys)
    import time

    return Verdict(False, max(1, int(stats.reset_time - time.time())))


def message_allowed(public_id: str, visitor_key: str, ip: str, per_minute: int) -> Verdict:
    """One message: within the visitor's, the address's and the account's per-minute limits."""
    for rate, keys in (
        (parse(f"{per_minute}/minute"), ("visitor", public_id, visitor_key)),
        (parse(f"{IP_MESSAGES_PER_MINUTE}/minute"), ("ip", public_id, ip)),
        (parse(f"{ACCOUNT_MESSAGES_PER_MINUTE}/minute"), ("account", public_id)),
    ):
        verdict = _hit(rate, *keys)
        if not verdict.allowed:
            return verdict
    return Verdict(True)


def conversation_allowed(public_id: str, ip: str, per_hour: int) -> Verdict:
    """A new visitor (or offline question) from this address."""
    return _hit(parse(f"{per_hour}/hour"), "conversation", public_id, ip)
