"""What core offers to plugins' own pages and sockets, in boundary types only (never models)."""
from __future__ import annotations

from omnidesk.plugin_api.events import AccountContext, HistoryItem, IdentityRef


def account_for(public_id: str, plugin_key: str) -> AccountContext | None:
    """The enabled account with this public id, if it belongs to the calling plugin."""
    from omnidesk.channel_accounts.selectors import account_by_public_id, account_context

    account = account_by_public_id(public_id)
    if account is None or account.plugin_key != plugin_key or not account.enabled:
        return None
    return account_context(account)


def conversation_history(account: AccountContext, identity: IdentityRef, *, limit: int = 200) -> list[HistoryItem]:
    """The resident-visible messages (no internal notes or system events) between this address and account."""
    from omnidesk.tickets.selectors import resident_history

    return resident_history(public_id=account.public_id, identity=identity, limit=limit)
