"""Ticket triage from the dashboard: priority, tags and team in place, and bulk changes from the list."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from omnidesk.dashboard.forms import BulkForm, PriorityForm, TagsForm
from omnidesk.dashboard.views import _done, _membership, _refused, _ticket_or_404, _wants_json
from omnidesk.tenants.access import member_required
from omnidesk.tenants.models import Team
from omnidesk.tickets import selectors
from omnidesk.tickets.models import Priority, Status
from omnidesk.tickets.triage import bulk_change, ticket_set_priority, ticket_set_tags, ticket_set_team


@require_POST
@member_required
def set_priority(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    form = PriorityForm(request.POST)
    if not form.is_valid():
        return _refused(request, ticket, form.errors.get_json_data())
    return _done(request, ticket_set_priority(ticket=ticket, priority=Priority(form.cleaned_data["priority"]),
                                              actor=request.user))


@require_POST
@member_required
def set_tags(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    form = TagsForm(request.POST)
    if not form.is_valid():
        return _refused(request, ticket, form.errors.get_json_data())
    ticket = ticket_set_tags(ticket=ticket, names=form.names(), actor=request.user)
    return _done(request, ticket, {"tags": list(ticket.tags.values_list("name", flat=True))})


@require_POST
@member_required
def set_team(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    value = request.POST.get("team", "")
    team = Team.objects.filter(municipality=ticket.municipality, pk=value).first() if value.isdigit() else None
    if value and team is None:
        return _refused(request, ticket, _("That team does not belong to this municipality."))
    return _done(request, ticket_set_team(ticket=ticket, team=team, actor=request.user))


@require_POST
@member_required
def bulk(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    form = BulkForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"ok": False, "errors": form.errors.get_json_data()}, status=400)
    tickets = list(selectors.tickets_of(membership.municipality).filter(number__in=form.numbers()))
    action = form.cleaned_data["action"]
    if action == "assign":
        value = form.cleaned_data["assignee"]
        assignee = request.user if value == "me" else None if value == "" else (
            get_user_model().objects.filter(pk=value, memberships__municipality=membership.municipality).first()
            if value.isdigit() else None)
        if value not in ("me", "") and assignee is None:
            return JsonResponse({"ok": False, "errors": _("That colleague does not work for this municipality.")},
                                status=400)
        changed = bulk_change(tickets=tickets, actor=request.user, assignee=assignee)
    elif action == "tag":
        if not form.cleaned_data["tag"].strip():
            return JsonResponse({"ok": False, "errors": _("Enter a tag.")}, status=400)
        changed = bulk_change(tickets=tickets, actor=request.user, add_tag=form.cleaned_data["tag"])
    else:
        if not form.cleaned_data["status"]:
            return JsonResponse({"ok": False, "errors": _("Choose a status.")}, status=400)
        changed = bulk_change(tickets=tickets, actor=request.user, status=Status(form.cleaned_data["status"]))
    if _wants_json(request):
        return JsonResponse({"ok": True, "changed": changed})
    return redirect(reverse("dashboard:inbox") + (f"?{request.GET.urlencode()}" if request.GET else ""))
