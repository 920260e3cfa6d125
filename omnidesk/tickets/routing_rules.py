"""Where a new ticket goes: its channel account's team, then the municipality's routing rules."""
from __future__ import annotations

from omnidesk.tickets.models import Message, Ticket


def route_new_ticket(*, ticket: Ticket, message: Message) -> None:
    """Set the new ticket's team (and tags, priority) before anyone is notified or assigned."""
    team_id = ticket.channel_account.team_id
    if team_id and ticket.team_id is None:
        ticket.team_id = team_id
        ticket.save(update_fields=["team"])
