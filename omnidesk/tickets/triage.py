"""Writes: a ticket's priority, tags and team, and bulk changes to many tickets at once."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from omnidesk.tenants.models import Team
from omnidesk.tickets.models import Priority, Status, Tag, Ticket
from omnidesk.tickets.services import _system_event, publish_ticket, ticket_assign, ticket_set_status

MAX_TAGS = 20
MAX_BULK = 200


def ticket_set_priority(*, ticket: Ticket, priority: Priority, actor: AbstractBaseUser) -> Ticket:
    if ticket.priority == priority:
        return ticket
    with transaction.atomic():
        ticket.priority = priority
        ticket.save(update_fields=["priority", "updated_at"])
        _system_event(ticket, actor, "priority", priority=priority.value)
        publish_ticket(ticket)
    return ticket


def _clean_tag_names(names: Iterable[str]) -> list[str]:
    cleaned = []
    for name in names:
        name = " ".join(name.split())[:50].lower()
        if name and name not in cleaned:
            cleaned.append(name)
    return cleaned[:MAX_TAGS]


def ticket_set_tags(*, ticket: Ticket, names: Sequence[str], actor: AbstractBaseUser) -> Ticket:
    """Replace the ticket's tags; unknown names become the municipality's new tags."""
    wanted = _clean_tag_names(names)
    with transaction.atomic():
        tags = [Tag.objects.get_or_create(municipality_id=ticket.municipality_id, name=name)[0] for name in wanted]
        before = set(ticket.tags.values_list("name", flat=True))
        if before == set(wanted):
            return ticket
        ticket.tags.set(tags)
        _system_event(ticket, actor, "tags", tags=", ".join(wanted))
        publish_ticket(ticket)
    return ticket


def ticket_set_team(*, ticket: Ticket, team: Team | None, actor: AbstractBaseUser) -> Ticket:
    if team is not None and team.municipality_id != ticket.municipality_id:
        raise ValueError("team of another municipality")
    if ticket.team_id == (team.pk if team else None):
        return ticket
    with transaction.atomic():
        ticket.team = team
        ticket.save(update_fields=["team", "updated_at"])
        _system_event(ticket, actor, "team", team=team.name if team else "")
        publish_ticket(ticket)
    return ticket


def bulk_change(
    *, tickets: Sequence[Ticket], actor: AbstractBaseUser, assignee: AbstractBaseUser | None | str = "keep",
    add_tag: str = "", status: Status | None = None,
) -> int:
    """Apply one change to many tickets (each with its own system event); returns how many were changed."""
    with transaction.atomic():
        for ticket in tickets[:MAX_BULK]:
            if assignee != "keep":
                ticket_assign(ticket=ticket, assignee=assignee, actor=actor)  # type: ignore[arg-type]
            if add_tag:
                ticket_set_tags(ticket=ticket, names=[*ticket.tags.values_list("name", flat=True), add_tag], actor=actor)
            if status is not None:
                ticket_set_status(ticket=ticket, status=status, actor=actor)
    return min(len(tickets), MAX_BULK)
