"""Celery tasks for polling plugins: thin wrappers around inbound.polling."""
from __future__ import annotations

from celery import shared_task

from omnidesk.inbound.polling import poll_account, polling_account_ids


@shared_task(name="omnidesk.inbound.tasks.schedule_polls")
def schedule_polls() -> int:
    ids = polling_account_ids()
    for account_id in ids:
        poll_channel_account.delay(account_id)
    return len(ids)


@shared_task(name="omnidesk.inbound.tasks.poll_channel_account")
def poll_channel_account(account_id: int) -> int:
    return poll_account(account_id)
