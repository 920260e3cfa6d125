"""The accounts webhooks arrive for, kept a minute per web process so a webhook does not load its account (a query
with its municipality, and the secrets' decryption) every time.

A cached account is never trusted on its own: it carries the fingerprint of the row it was read from (config,
secrets, plugin, enabled), and the journal insert that accepts the webhook's events checks it in the same statement
(`journal_append(..., fingerprint=…)`). An account changed or switched off since is read again and the webhook handled
anew, so a change takes effect at once, as without the cache. Only PostgreSQL (the production shape) uses it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connection
from django.db.models.expressions import RawSQL

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_by_public_id, account_context
from omnidesk.plugin_api.events import AccountContext

TTL_SECONDS = 60.0
MAX_ENTRIES = 1_000


def fingerprint_sql(table: str) -> str:
    """What any change of the account's row that matters to a webhook changes (compared by the journal insert)."""
    return (f'md5("{table}".plugin_key || "{table}".enabled::text || "{table}".config::text || '
            f'"{table}".encrypted_secrets)')


@dataclass(frozen=True)
class WebhookAccount:
    account: ChannelAccount
    context: AccountContext
    fingerprint: str  # "" when not checkable (not PostgreSQL): the account was just read
    cached: bool = False


_cache: dict[str, tuple[float, WebhookAccount]] = {}


def webhook_account(public_id: str, *, fresh: bool = False) -> WebhookAccount | None:
    """The account for a webhook address, from this process's cache unless `fresh`; None for an unknown address."""
    if connection.vendor != "postgresql":
        account = account_by_public_id(public_id)
        return None if account is None else WebhookAccount(account, account_context(account), "")
    now = time.monotonic()
    hit = None if fresh else _cache.get(public_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    account = (ChannelAccount.objects.select_related("municipality").filter(public_id=public_id)
               .annotate(fingerprint=RawSQL(fingerprint_sql(ChannelAccount._meta.db_table), ()))
               .first())
    if account is None:
        _cache.pop(public_id, None)
        return None
    found = WebhookAccount(account, account_context(account), account.fingerprint)
    if account.enabled:  # a switched-off account's webhooks take the slow path anyway (the sunset)
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        _cache[public_id] = (now + TTL_SECONDS, WebhookAccount(account, found.context, found.fingerprint, cached=True))
    return found


def forget(public_id: str) -> None:
    _cache.pop(public_id, None)
