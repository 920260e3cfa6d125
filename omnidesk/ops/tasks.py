"""Operational tasks. `bench_tick` is the no-op the pipeline benchmark uses to measure Celery's own ceiling."""
from __future__ import annotations

from celery import shared_task
from django.core.cache import cache


@shared_task(name="omnidesk.ops.tasks.bench_tick", ignore_result=True)
def bench_tick(key: str) -> None:
    cache.incr(key)
