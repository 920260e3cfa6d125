"""Round-robin assignment of new tickets over the agents who are online, with a cap per agent."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from omnidesk.realtime.presence import present_user_ids
from omnidesk.tenants.models import Membership, Role
from omnidesk.tickets.models import Status, Ticket

ACTIVE = (Status.NEW, Status.OPEN, Status.PENDING)


def next_agent(ticket: Ticket):  # type: ignore[no-untyped-def]
    """The online agent (or supervisor) of the ticket's municipality with the fewest active tickets, under the cap.

    Ties go to the longest-standing colleague (lowest id), so the order is predictable. None when nobody qualifies.
    """
    municipality = ticket.municipality
    online = present_user_ids(municipality.pk)
    if not online:
        return None
    members = Membership.objects.filter(municipality=municipality, user_id__in=online,
                                        role__in=(Role.AGENT, Role.SUPERVISOR)).values_list("user_id", flat=True)
    if ticket.team_id:  # a ticket routed to a team stays within it
        members = members.filter(user__teams=ticket.team_id)
    candidates = (
        get_user_model().objects.filter(pk__in=members, is_active=True)
        .annotate(load=Count("assigned_tickets", filter=Q(assigned_tickets__municipality=municipality,
                                                          assigned_tickets__status__in=ACTIVE)))
        .filter(load__lt=municipality.auto_assign_cap)
        .order_by("load", "pk")
    )
    return candidates.first()
