"""What core offers to plugins' own pages and sockets, in boundary types only (never models)."""
from __future__ import annotations

from omnidesk.plugin_api.errors import PermanentDeliveryError
from omnidesk.plugin_api.events import AccountContext, HistoryItem, IdentityRef, OutboundAttachment


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


def attachment_content(attachment: OutboundAttachment) -> bytes:
    """The bytes of a reply's file, read from storage, for plugins that send files inline (e.g. email).

    Plugins whose provider fetches files itself pass `attachment.url` instead. The url's signature is checked
    here as it is over HTTP, so a plugin can only read files core handed it.
    """
    from omnidesk.tickets.files import attachment_for_token, token_of_url

    stored = attachment_for_token(token_of_url(attachment.url))
    if stored is None:
        raise PermanentDeliveryError(f"The file {attachment.filename} is no longer available.", code="file_gone")
    with stored.file.open("rb") as handle:
        return handle.read()
