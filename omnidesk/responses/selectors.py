"""Reads: a municipality's canned responses, always scoped by municipality."""
from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from omnidesk.responses.models import CannedResponse
from omnidesk.tenants.models import Municipality

MAX_RESULTS = 20
MAX_QUERY_LENGTH = 100


def responses_of(municipality: Municipality) -> QuerySet[CannedResponse]:
    return CannedResponse.objects.filter(municipality=municipality).order_by("shortcut")


def responses_matching(
    municipality: Municipality, query: str = "", *, limit: int = MAX_RESULTS
) -> list[CannedResponse]:
    """Responses whose shortcut starts with `query` (first) or whose title or text contains it; all for no query."""
    query = query.strip().removeprefix("/")[:MAX_QUERY_LENGTH]
    responses = responses_of(municipality)
    if query:
        # Shortcut hits first: "/gro" should offer /groet before a response that merely says "groet" in its text.
        responses = responses.filter(
            Q(shortcut__istartswith=query) | Q(title__icontains=query) | Q(body__icontains=query)
        ).annotate(
            rank=Case(When(shortcut__istartswith=query, then=Value(0)), default=Value(1), output_field=IntegerField())
        ).order_by("rank", "shortcut")
    return list(responses[:limit])

