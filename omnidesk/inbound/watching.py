"""Push polling: one thread per account of a plugin that can wait for news (IMAP IDLE), polling the moment
something arrives. Beat's interval polls keep running too, so a watcher that dies only costs speed, never mail.
"""
from __future__ import annotations

import logging
import threading

from django.db import close_old_connections

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.inbound.polling import poll_account
from omnidesk.ops.retry import backoff_seconds
from omnidesk.plugin_api.errors import DeliveryError
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter, get_registry

logger = logging.getLogger(__name__)


def push_polling_account_ids() -> set[int]:
    keys = [key for key, adapter in get_registry().adapters.items() if adapter.capabilities.push_polling]
    return set(ChannelAccount.objects.filter(enabled=True, plugin_key__in=keys).values_list("id", flat=True))


def watch_account(account_id: int, stop: threading.Event, wait_seconds: float) -> None:
    """Wait for news and poll, until the account is switched off or `stop` is set."""
    failures = 0
    while not stop.is_set():
        try:
            account = ChannelAccount.objects.select_related("municipality").filter(pk=account_id, enabled=True).first()
            if account is None:
                return
            try:
                adapter = get_adapter(account.plugin_key)
            except UnknownPlugin:
                return
            context, cursor = account_context(account), account.poll_cursor
        finally:
            close_old_connections()  # a thread that idles for minutes must not hold a database connection
        try:
            news = adapter.wait_for_news(context, cursor, wait_seconds)
            failures = 0
        except DeliveryError as exc:
            # The interval poll flags the account; here we only wait before trying again.
            failures += 1
            logger.warning("waiting for news failed", extra={"account": context.public_id, "code": exc.code})
            stop.wait(backoff_seconds(failures))
            continue
        if news and not stop.is_set():
            try:
                poll_account(account_id)
            except Exception:
                logger.exception("poll after news failed", extra={"account": context.public_id})
            finally:
                close_old_connections()


def watch_all(stop: threading.Event, *, wait_seconds: float = 300, refresh_seconds: float = 60) -> None:
    """Keep one watcher thread per enabled push-polling account; pick up accounts switched on later."""
    threads: dict[int, threading.Thread] = {}
    while not stop.is_set():
        try:
            wanted = push_polling_account_ids()
        finally:
            close_old_connections()
        for account_id in wanted:
            if account_id not in threads or not threads[account_id].is_alive():
                thread = threading.Thread(target=watch_account, args=(account_id, stop, wait_seconds),
                                          name=f"watch-{account_id}", daemon=True)
                thread.start()
                threads[account_id] = thread
        stop.wait(refresh_seconds)
