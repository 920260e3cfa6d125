"""Celery tasks for inbound: draining the webhook journal, polling plugins, fetching media. Thin wrappers."""
from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown
from django.db import connection

from omnidesk.inbound.journal import drain_all, inline
from omnidesk.inbound.listener import JournalListener
from omnidesk.inbound.media import FetchLater, fetch_and_store
from omnidesk.inbound.polling import poll_account, polling_account_ids
from omnidesk.ops.retry import backoff_seconds


@shared_task(name="omnidesk.inbound.tasks.drain_journal")
def drain_journal() -> int:
    """Store what webhooks accepted (inbound.journal): beat's safety net behind the workers' listeners."""
    return drain_all().entries


_listener: JournalListener | None = None


@worker_ready.connect
def _start_listening(**_kwargs: Any) -> None:
    global _listener
    if not inline() and connection.vendor == "postgresql":
        _listener = JournalListener()
        _listener.start()


@worker_shutdown.connect
def _stop_listening(**_kwargs: Any) -> None:
    if _listener is not None:
        _listener.stop()


@shared_task(name="omnidesk.inbound.tasks.schedule_polls")
def schedule_polls() -> int:
    ids = polling_account_ids()
    for account_id in ids:
        poll_channel_account.delay(account_id)
    return len(ids)


@shared_task(name="omnidesk.inbound.tasks.poll_channel_account")
def poll_channel_account(account_id: int) -> int:
    return poll_account(account_id)


MEDIA_FETCH_ATTEMPTS = 6


@shared_task(bind=True, name="omnidesk.inbound.tasks.fetch_attachment", max_retries=MEDIA_FETCH_ATTEMPTS)
def fetch_attachment(self, attachment_id: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        return fetch_and_store(attachment_id, last_attempt=self.request.retries >= MEDIA_FETCH_ATTEMPTS)
    except FetchLater as later:
        raise self.retry(countdown=backoff_seconds(self.request.retries + 1, later.retry_after)) from None
