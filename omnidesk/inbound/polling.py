"""Inbound by polling: the cursor moves in the same transaction as the messages it covers.

A poll that fails is counted: the account's next polls back off, and after a few failures in a row (at once for
an AccountProblem such as a refused login) everyone sees the account flagged, until a poll succeeds again.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.channel_accounts.services import channel_account_clear_flag, channel_account_flag
from omnidesk.inbound.services import ingest_events
from omnidesk.plugin_api.errors import AccountProblem, DeliveryError
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter, get_registry

logger = logging.getLogger(__name__)

FLAG_AFTER_FAILURES = 3  # one network blip must not put a banner on every screen
UNREACHABLE = gettext_noop("The channel could not be reached.")


def poll_delay(interval_seconds: int, failures: int) -> float:
    """Seconds between polls: the plugin's interval, doubled for each failure in a row, up to the cap."""
    if failures == 0:
        return interval_seconds
    return min(settings.OMNIDESK["POLL_BACKOFF_CAP"], interval_seconds * 2 ** (failures - 1))


def polling_account_ids() -> list[int]:
    """Enabled accounts of polling plugins whose interval (or backoff after failures) has passed."""
    now = timezone.now()
    due: list[int] = []
    polling_keys = {key: a.capabilities.poll_interval_seconds for key, a in get_registry().adapters.items() if a.capabilities.polling}
    for account in ChannelAccount.objects.filter(enabled=True, plugin_key__in=polling_keys).only(
        "id", "plugin_key", "last_polled_at", "poll_failures"
    ):
        delay = timedelta(seconds=poll_delay(polling_keys[account.plugin_key], account.poll_failures))
        if account.last_polled_at is None or now - account.last_polled_at >= delay:
            due.append(account.id)
    return due


def _poll_once(account_id: int) -> tuple[int, bool]:
    """One batch: (new messages, whether more is waiting). Concurrent polls of one account skip."""
    with transaction.atomic():
        account = (
            ChannelAccount.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("municipality")
            .filter(pk=account_id, enabled=True)
            .first()
        )
        if account is None:
            return 0, False
        try:
            adapter = get_adapter(account.plugin_key)
        except UnknownPlugin:
            return 0, False
        result = adapter.poll(account_context(account), account.poll_cursor)
        report = ingest_events(account=account, events=result.events)
        recovered = account.poll_failures > 0
        account.poll_cursor = result.cursor
        account.last_polled_at = timezone.now()
        account.poll_failures = 0
        account.save(update_fields=["poll_cursor", "last_polled_at", "poll_failures"])
        if recovered:
            channel_account_clear_flag(account=account)
    return report.messages, result.more


def _poll_failed(account_id: int, error: DeliveryError | None) -> None:
    with transaction.atomic():
        account = ChannelAccount.objects.select_for_update().filter(pk=account_id).first()
        if account is None:
            return
        account.poll_failures += 1
        account.last_polled_at = timezone.now()
        account.save(update_fields=["poll_failures", "last_polled_at"])
        if isinstance(error, AccountProblem) or account.poll_failures >= FLAG_AFTER_FAILURES:
            channel_account_flag(account=account, reason=error.reason if error else UNREACHABLE)
    logger.warning("poll failed", extra={"account": account.public_id, "failures": account.poll_failures,
                                         "code": error.code if error else "plugin_error"})


def poll_account(account_id: int) -> int:
    """Poll one account, batch after batch while the plugin says more is waiting; returns new messages."""
    total = 0
    for _ in range(settings.OMNIDESK["POLL_MAX_BATCHES"]):
        try:
            messages, more = _poll_once(account_id)
        except DeliveryError as exc:
            _poll_failed(account_id, exc)
            return total
        except Exception:
            _poll_failed(account_id, None)
            raise  # a plugin bug: the task's error report shows it
        total += messages
        if not more:
            break
    return total
