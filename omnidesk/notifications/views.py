"""The bell's endpoints: the latest notifications, marking them read, and following a ticket.

All scoped to the logged-in member and the municipality they work under: another user's or another
municipality's notifications are never listed or touched, and tickets are looked up within the municipality.
Without a script the forms still work: a POST without `Accept: application/json` redirects back.
"""
from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from omnidesk.notifications import selectors, services
from omnidesk.tenants.access import member_required
from omnidesk.tenants.models import Membership
from omnidesk.tickets.selectors import ticket_by_number


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = default
    return HttpResponseRedirect(target)


@never_cache  # excerpts of residents' messages: no shared or browser cache keeps them
@member_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """`{"unread": n, "notifications": [...]}`: the latest 30, newest first."""
    membership = _membership(request)
    return JsonResponse({
        "unread": selectors.unread_count(request.user, membership.municipality_id),
        "notifications": [selectors.notification_data(n)
                          for n in selectors.latest_notifications(request.user, membership.municipality_id)],
    })


@member_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """`all=1`, or `ids` (repeated or comma-separated): marks those of the user's notifications read."""
    membership = _membership(request)
    if request.POST.get("all") == "1":
        ids = None
    else:
        raw = [part.strip() for value in request.POST.getlist("ids") for part in value.split(",") if part.strip()]
        if not raw or not all(part.isascii() and part.isdigit() and len(part) <= 18 for part in raw):
            return JsonResponse({"ok": False, "errors": _("Say which notifications to mark as read.")}, status=400)
        ids = {int(part) for part in raw}
    services.mark_read(user=request.user, municipality=membership.municipality, ids=ids)
    if not _wants_json(request):
        return _back(request, reverse("dashboard:inbox"))
    return JsonResponse({"ok": True, "unread": selectors.unread_count(request.user, membership.municipality_id)})


@member_required
@require_POST
def follow(request: HttpRequest, number: int) -> HttpResponse:
    """Toggle following the ticket; `follow=1` or `follow=0` sets it, so a repeated click cannot flip it back."""
    ticket = ticket_by_number(_membership(request).municipality, number)
    if ticket is None:
        raise Http404(_("No such ticket."))
    wanted = request.POST.get("follow")
    following = (not selectors.is_following(ticket, request.user)) if wanted not in ("0", "1") else wanted == "1"
    if following:
        services.follow(ticket, request.user)
    else:
        services.unfollow(ticket, request.user)
    if not _wants_json(request):
        return _back(request, reverse("dashboard:ticket", kwargs={"number": ticket.number}))
    return JsonResponse({"ok": True, "following": following})
