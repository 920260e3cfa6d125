"""Reads for the inbox: views (unassigned, mine, my team, all), their counts, full-text search and sorting."""
from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Case, Count, F, Q, QuerySet, When

from omnidesk.contacts.models import Contact, ContactIdentity
from omnidesk.tenants.models import Membership
from omnidesk.tickets.models import Message, Status, Ticket

ACTIVE = (Status.NEW, Status.OPEN, Status.PENDING)
VIEWS = ("all", "unassigned", "mine", "team")
SEARCH_CONFIG = "dutch"  # stemming for Dutch: "vergunningen" finds "vergunning"
MAX_QUERY = 200


def view_filter(view: str, membership: Membership) -> Q:
    if view == "unassigned":
        return Q(assignee__isnull=True)
    if view == "mine":
        return Q(assignee_id=membership.user_id)
    if view == "team":
        return Q(team__members=membership.user_id)
    return Q()


def view_counts(membership: Membership) -> dict[str, int]:
    """Active tickets per view, in one query, for the live counts beside each view."""
    active = Ticket.objects.filter(municipality_id=membership.municipality_id, status__in=ACTIVE)
    team_ids = list(membership.user.teams.filter(municipality_id=membership.municipality_id).values_list("pk", flat=True))
    return active.aggregate(
        all=Count("pk"),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        mine=Count("pk", filter=Q(assignee_id=membership.user_id)),
        team=Count("pk", filter=Q(team_id__in=team_ids)),
    )


def channel_counts(membership: Membership) -> dict[int, int]:
    rows = (Ticket.objects.filter(municipality_id=membership.municipality_id, status__in=ACTIVE)
            .values_list("channel_account_id").annotate(n=Count("pk")))
    return dict(rows)


def search(tickets: QuerySet[Ticket], municipality_id: int, text: str) -> QuerySet[Ticket]:
    """Tickets whose messages (PostgreSQL full text, Dutch), subject, resident's name or address, or number match."""
    query = " ".join(text.split())[:MAX_QUERY]
    if not query:
        return tickets
    messages = Message.objects.filter(municipality_id=municipality_id)
    if connection.vendor == "postgresql":
        matching = messages.annotate(document=SearchVector("text", config=SEARCH_CONFIG)).filter(
            document=SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch"))
    else:  # the embedded SQLite default: plain substring search
        matching = messages.filter(text__icontains=query)
    # Each part a subquery of its own, so each reads its index (full text; trigrams for the substrings, migration
    # tickets 0009) instead of one scan joining every ticket to its resident.
    subjects = Ticket.objects.filter(municipality_id=municipality_id, subject__icontains=query)
    names = Contact.objects.filter(municipality_id=municipality_id, display_name__icontains=query)
    addresses = ContactIdentity.objects.filter(municipality_id=municipality_id, value__icontains=query)
    match = (Q(pk__in=matching.values("ticket_id")) | Q(pk__in=subjects.values("pk"))
             | Q(contact_id__in=names.values("pk")) | Q(contact_id__in=addresses.values("contact_id")))
    number = query.lstrip("#")
    if number.isdigit() and len(number) < 10:
        match |= Q(number=int(number))
    return tickets.filter(match)


def sorted_tickets(tickets: QuerySet[Ticket], sort: str) -> QuerySet[Ticket]:
    """`waiting`: residents waiting longest for an answer first; otherwise latest activity first."""
    if sort != "waiting":
        return tickets.order_by("-last_activity_at", "-id")
    waiting_since = Case(
        When(Q(status__in=ACTIVE, last_inbound_at__isnull=False)
             & (Q(last_outbound_at__isnull=True) | Q(last_inbound_at__gt=F("last_outbound_at"))),
             then=F("last_inbound_at")),
        default=None,
    )
    return tickets.annotate(waiting_since=waiting_since).order_by(F("waiting_since").asc(nulls_last=True),
                                                                  "-last_activity_at", "-id")
