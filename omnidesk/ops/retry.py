"""Retry timing shared by every task that talks to a provider."""
from __future__ import annotations

import random

from django.conf import settings


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (half to full of the step), at least what the provider asked for."""
    cfg = settings.OMNIDESK
    ceiling = min(cfg["OUTBOUND_BACKOFF_CAP"], cfg["OUTBOUND_BACKOFF_BASE"] * (2 ** max(0, attempt - 1)))
    return max(retry_after or 0.0, random.uniform(ceiling / 2, ceiling))
