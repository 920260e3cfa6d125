"""The one automatic answer a new conversation gets: crisis notice, out-of-hours notice, channel acknowledgement."""
from __future__ import annotations

from omnidesk.tickets.models import Message, Ticket


def automatic_reply_text(*, ticket: Ticket, message: Message, acknowledgement: str) -> str:
    """The text to send automatically for a new ticket ("" sends nothing). Never for automated mail (RFC 3834)."""
    if message.metadata.get("automated"):
        return ""
    return acknowledgement
