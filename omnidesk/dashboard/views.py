"""The first dashboard: one inbox across channels, a ticket pane, and the actions on a ticket."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from omnidesk.channel_accounts.selectors import account_context, accounts_of
from omnidesk.dashboard.filters import VIEW_CHOICES, TicketFilter
from omnidesk.dashboard.forms import AssignForm, NoteForm, PriorityForm, ReplyForm, StatusForm, TemplateReplyForm
from omnidesk.dashboard.i18n import script_labels
from omnidesk.dashboard.paging import TwoEndedPaginator
from omnidesk.outbound.services import enqueue_read_receipt
from omnidesk.tickets.composer import composer_state
from omnidesk.tickets.files import attachment_for_token
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.realtime.selectors import latest_event_id
from omnidesk.tenants.access import member_required, switch_municipality
from omnidesk.tenants.models import Membership, Team
from omnidesk.tickets import search, selectors
from omnidesk.tickets.models import Status, Tag, Ticket
from omnidesk.tickets.presenters import message_data, ticket_data
from omnidesk.tickets.services import (
    NotAllowed,
    message_resend,
    note_create,
    reply_create,
    template_reply_create,
    ticket_assign,
    ticket_set_status,
)

PAGE_SIZE = 50


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _ticket_or_404(request: HttpRequest, number: int) -> Ticket:
    ticket = selectors.ticket_by_number(_membership(request).municipality, number)
    if ticket is None:
        raise Http404(_("No such ticket."))
    return ticket


def _resident_links(request: HttpRequest) -> list[dict[str, str]]:
    links = []
    # account_context reads account.municipality.slug: join it, or each channel costs a query.
    for account in accounts_of(_membership(request).municipality).filter(enabled=True).select_related("municipality"):
        try:
            url = get_adapter(account.plugin_key).resident_page_url(account_context(account))
        except UnknownPlugin:
            continue
        if url:
            links.append({"name": account.name, "url": url})
    return links


def _inbox_context(request: HttpRequest) -> dict[str, Any]:
    membership = _membership(request)
    ticket_filter = TicketFilter(request.GET or None, queryset=selectors.inbox(membership.municipality), membership=membership)
    page = TwoEndedPaginator(ticket_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    current_view = request.GET.get("view") or "all"
    base_query = {k: v for k, v in request.GET.items() if k not in ("view", "page", "channel_account")}
    channels = list(accounts_of(membership.municipality).only("pk", "name"))
    channel_counts = search.channel_counts(membership)
    return {
        "dashboard_config": {
            "municipalityId": membership.municipality_id,
            "userId": membership.user_id,
            "timeZone": settings.TIME_ZONE,
            "lastEventId": latest_event_id(municipality_id=membership.municipality_id),
            "filters": {k: v for k, v in request.GET.items() if k in ticket_filter.filters and v},
            "eventsUrl": reverse("events"),
            "resendUrl": reverse("dashboard:resend", kwargs={"message_id": 0}),
            "ticketUrl": reverse("dashboard:ticket", kwargs={"number": 0}),
            "countsUrl": reverse("dashboard:counts"),
            "teamIds": list(membership.user.teams.filter(municipality=membership.municipality)
                            .values_list("pk", flat=True)),
            "labels": script_labels(),
        },
        "flagged_accounts": accounts_of(membership.municipality).exclude(problem=""),
        "filter": ticket_filter,
        "page": page,
        "views": [{"key": key, "label": label, "count": count, "current": key == current_view and
                   not request.GET.get("channel_account"), "query": urlencode({**base_query, "view": key})}
                  for (key, label), count in zip(VIEW_CHOICES, _ordered_counts(membership))],
        "channel_views": [{"pk": c.pk, "name": c.name, "count": channel_counts.get(c.pk, 0),
                           "current": request.GET.get("channel_account") == str(c.pk),
                           "query": urlencode({**base_query, "channel_account": c.pk})} for c in channels],
        "query_string": request.GET.urlencode(),
        "resident_links": _resident_links(request),
        # One list of colleagues for the page (bulk assign, and the ticket's assignee picker).
        "colleagues": list(get_user_model().objects.filter(memberships__municipality=membership.municipality)
                           .order_by("username")),
        "statuses": Status.choices,
    }


def _ordered_counts(membership: Membership) -> list[int]:
    counts = search.view_counts(membership)
    return [counts[key] for key, _label in VIEW_CHOICES]


@member_required
def counts(request: HttpRequest) -> HttpResponse:
    """Active tickets per view and per channel, for the live counts in the inbox."""
    membership = _membership(request)
    return JsonResponse({"views": search.view_counts(membership),
                         "channels": {str(k): v for k, v in search.channel_counts(membership).items()}})


@member_required
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/inbox.html", _inbox_context(request))


@member_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    context = _inbox_context(request)
    context["dashboard_config"]["ticketId"] = ticket.pk
    show = _thread_length(request)
    page = selectors.thread(ticket, show)
    context = {
        **context,
        "ticket": ticket,
        "thread": page.messages,
        "earlier_url": _with_query(request, show=show + selectors.THREAD_PAGE) if page.earlier else "",
        "other_tickets": selectors.other_tickets_of_contact(ticket),
        "identities": ticket.contact.identities.prefetch_related("opt_outs__channel_account"),
        "reply_form": ReplyForm(),
        "note_form": NoteForm(),
        "status_form": StatusForm(initial={"status": ticket.status}),
        "priority_form": PriorityForm(initial={"priority": ticket.priority}),
        "teams": Team.objects.filter(municipality=ticket.municipality),
        "ticket_tags": [tag.name for tag in ticket.tags.all()],
        "known_tags": Tag.objects.filter(municipality=ticket.municipality).values_list("name", flat=True)[:200],
        "composer": composer_state(ticket),
    }
    enqueue_read_receipt(ticket)
    return render(request, "dashboard/inbox.html", context)


def _thread_length(request: HttpRequest) -> int:
    """How many of the latest messages the ticket page shows (`?show=`, in steps of THREAD_PAGE)."""
    raw = request.GET.get("show", "")
    wanted = int(raw) if raw.isdigit() else selectors.THREAD_PAGE
    return max(selectors.THREAD_PAGE, min(wanted, selectors.THREAD_MAX))


def _with_query(request: HttpRequest, **values: Any) -> str:
    """This page's address with these query values set (the inbox's filters stay)."""
    query = request.GET.copy()
    for key, value in values.items():
        query[key] = str(value)
    return f"{request.path}?{query.urlencode()}"


def _done(request: HttpRequest, ticket: Ticket, payload: dict[str, Any] | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": True, "ticket": ticket_data(ticket), **(payload or {})})
    return redirect(reverse("dashboard:ticket", kwargs={"number": ticket.number}) + _query_suffix(request))


def _query_suffix(request: HttpRequest) -> str:
    return f"?{request.GET.urlencode()}" if request.GET else ""


def _refused(request: HttpRequest, ticket: Ticket, errors: dict[str, Any] | str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": False, "errors": errors}, status=400)
    from django.contrib import messages

    messages.error(request, errors if isinstance(errors, str) else _("Please check the form."))
    return redirect(reverse("dashboard:ticket", kwargs={"number": ticket.number}) + _query_suffix(request))


@require_POST
@member_required
def reply(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _refused(request, ticket, form.errors.get_json_data())
    quote_id = form.cleaned_data.get("quote")
    quote = selectors.message_in(_membership(request).municipality, quote_id) if quote_id else None
    try:
        message = reply_create(ticket=ticket, author=request.user, text=form.cleaned_data["text"],
                               files=request.FILES.getlist("attachments"), quote=quote, cc=form.cleaned_data["cc"],
                               subject=form.cleaned_data["subject"])
    except NotAllowed as exc:
        return _refused(request, ticket, str(exc))
    return _done(request, ticket, {"message": message_data(message)})


@require_POST
@member_required
def template_reply(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    form = TemplateReplyForm(request.POST)
    if not form.is_valid():
        return _refused(request, ticket, form.errors.get_json_data())
    name, _sep, language = form.cleaned_data["template"].partition("|")
    try:
        message = template_reply_create(
            ticket=ticket, author=request.user, name=name, language=language, parameters=form.parameters()
        )
    except NotAllowed as exc:
        return _refused(request, ticket, str(exc))
    return _done(request, ticket, {"message": message_data(message)})


@require_POST
@member_required
def note(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _refused(request, ticket, form.errors.get_json_data())
    message = note_create(ticket=ticket, author=request.user, text=form.cleaned_data["text"])
    return _done(request, ticket, {"message": message_data(message)})


@require_POST
@member_required
def assign(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    form = AssignForm(request.POST)
    form.is_valid()
    value = form.cleaned_data.get("assignee", "")
    if value == "me":
        assignee = request.user
    elif value == "":
        assignee = None
    else:
        assignee = (
            get_user_model().objects.filter(pk=value, memberships__municipality=ticket.municipality).first()
            if value.isdigit()
            else None
        )
        if assignee is None:
            return _refused(request, ticket, _("That colleague does not work for this municipality."))
    ticket = ticket_assign(ticket=ticket, assignee=assignee, actor=request.user)
    return _done(request, ticket)


@require_POST
@member_required
def set_status(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _refused(request, ticket, form.errors.get_json_data())
    ticket = ticket_set_status(ticket=ticket, status=Status(form.cleaned_data["status"]), actor=request.user)
    return _done(request, ticket)


@require_POST
@member_required
def resend(request: HttpRequest, message_id: int) -> HttpResponse:
    message = selectors.message_in(_membership(request).municipality, message_id)
    if message is None:
        raise Http404(_("No such message."))
    try:
        message = message_resend(message=message, actor=request.user)
    except NotAllowed as exc:
        return _refused(request, message.ticket, str(exc))
    return _done(request, message.ticket, {"message": message_data(message)})


@member_required
def attachment(request: HttpRequest, uuid: str) -> HttpResponse:
    found = selectors.attachment_in(_membership(request).municipality, uuid)
    if found is None or not found.file:
        raise Http404(_("No such file."))
    response = FileResponse(found.file.open("rb"), as_attachment=True, filename=found.filename)
    response["Content-Type"] = found.content_type
    response["X-Content-Type-Options"] = "nosniff"
    return response


def signed_file(request: HttpRequest, token: str) -> HttpResponse:
    """A reply's file for the plugin that sends it: no login, but an address signed for one hour."""
    found = attachment_for_token(token)
    if found is None:
        raise Http404(_("This address has expired or is not valid."))
    response = FileResponse(found.file.open("rb"), as_attachment=True, filename=found.filename)
    response["Content-Type"] = found.content_type
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@member_required
def choose_municipality(request: HttpRequest) -> HttpResponse:
    value = request.POST.get("municipality", "")
    if not value.isdigit() or not switch_municipality(request, int(value)):
        raise Http404(_("You do not work for that municipality."))
    return redirect("dashboard:inbox")
