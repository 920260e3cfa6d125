"""Typing indicators between an agent's composer and a resident's channel (e.g. the livechat widget)."""
from __future__ import annotations

import logging

from omnidesk.channel_accounts.selectors import account_context
from omnidesk.plugin_api.events import IdentityKind, IdentityRef
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tickets.models import Ticket
from omnidesk.tickets.presenters import user_name

logger = logging.getLogger(__name__)


def agent_typing(*, municipality_id: int, user: object, ticket_id: int, on: bool) -> bool:
    """Tell the resident an agent is (no longer) typing; False when the channel has no typing indicators."""
    ticket = (
        Ticket.objects.select_related("channel_account", "channel_account__municipality", "identity")
        .filter(pk=ticket_id, municipality_id=municipality_id)
        .first()
    )
    if ticket is None or not ticket.channel_account.enabled:
        return False
    try:
        adapter = get_adapter(ticket.channel_account.plugin_key)
    except UnknownPlugin:
        return False
    if not adapter.capabilities.typing_indicators:
        return False
    try:
        adapter.typing(account_context(ticket.channel_account),
                       IdentityRef(IdentityKind(ticket.identity.kind), ticket.identity.value), on, user_name(user))
    except Exception:  # a typing indicator is a courtesy; it must never break the dashboard's socket
        logger.exception("typing indicator failed", extra={"ticket": ticket.pk})
        return False
    return True
