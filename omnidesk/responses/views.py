"""The composer's look-up: a municipality's canned responses, already rendered for one ticket."""
from __future__ import annotations

import re

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from omnidesk.responses.rendering import render, ticket_values
from omnidesk.responses.selectors import responses_matching
from omnidesk.tenants.access import member_required
from omnidesk.tenants.models import Membership
from omnidesk.tickets.selectors import ticket_by_number

# ASCII digits only ("١".isdecimal() is true too), and few enough to fit the database's integer.
_TICKET_NUMBER = re.compile(r"\A[0-9]{1,9}\Z")


@never_cache  # the rendered text carries a resident's name: no shared or browser cache keeps it
@member_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """`?ticket=<number>&q=<text>` → `{"responses": [{"shortcut", "title", "text"}]}`, at most 20."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    number = request.GET.get("ticket", "")
    if not _TICKET_NUMBER.match(number):
        return JsonResponse({"error": _("Give the number of a ticket.")}, status=400)
    # Looked up within the agent's municipality: another municipality's ticket is simply not found.
    ticket = ticket_by_number(membership.municipality, int(number))
    if ticket is None:
        raise Http404(_("No such ticket."))
    values = ticket_values(ticket=ticket, agent=request.user)
    return JsonResponse({"responses": [
        {"shortcut": response.shortcut, "title": response.title, "text": render(response.body, values)}
        for response in responses_matching(membership.municipality, request.GET.get("q", ""))
    ]})
