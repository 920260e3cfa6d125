"""Inbound by polling: the cursor moves in the same transaction as the messages it covers."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.inbound.services import ingest_events
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter, get_registry

logger = logging.getLogger(__name__)


def polling_account_ids() -> list[int]:
    """Enabled accounts of polling plugins whose interval has passed."""
    now = timezone.now()
    due: list[int] = []
    polling_keys = {key: a.capabilities.poll_interval_seconds for key, a in get_registry().adapters.items() if a.capabilities.polling}
    for account in ChannelAccount.objects.filter(enabled=True, plugin_key__in=polling_keys).only(
        "id", "plugin_key", "last_polled_at"
    ):
        interval = timedelta(seconds=polling_keys[account.plugin_key])
        if account.last_polled_at is None or now - account.last_polled_at >= interval:
            due.append(account.id)
    return due


def poll_account(account_id: int) -> int:
    """Poll one account; returns the number of new messages. Concurrent polls of one account skip."""
    with transaction.atomic():
        account = (
            ChannelAccount.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("municipality")
            .filter(pk=account_id, enabled=True)
            .first()
        )
        if account is None:
            return 0
        try:
            adapter = get_adapter(account.plugin_key)
        except UnknownPlugin:
            return 0
        result = adapter.poll(account_context(account), account.poll_cursor)
        report = ingest_events(account=account, events=result.events)
        account.poll_cursor = result.cursor
        account.last_polled_at = timezone.now()
        account.save(update_fields=["poll_cursor", "last_polled_at"])
    return report.messages
