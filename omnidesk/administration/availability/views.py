"""Availability settings: weekly hours (the municipality's and per channel), holidays and closing days, the
out-of-hours reply, and crisis mode.

Every view is for the municipality's admins only, and every object is looked up within their municipality (404
otherwise). Writes go through the services, which record them in the audit log.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from omnidesk.administration.availability.forms import (
    AccountWeekForm,
    ClosingDayForm,
    CrisisForm,
    HoursOptionsForm,
    WeekForm,
)
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import accounts_of
from omnidesk.hours import selectors
from omnidesk.hours.auto_replies import out_of_hours_texts
from omnidesk.hours.models import Weekday
from omnidesk.hours.schedule import Period, Schedule
from omnidesk.hours.services import closing_day_add, closing_day_delete, opening_hours_set
from omnidesk.tenants.access import role_required
from omnidesk.tenants.crisis import crisis_set
from omnidesk.tenants.models import Municipality, Role
from omnidesk.tenants.services import municipality_update


def _data(request: HttpRequest) -> Any:
    """The posted data, or None for a GET (an empty POST is still a submission, with its errors)."""
    return request.POST if request.method == "POST" else None


def _municipality(request: HttpRequest) -> Municipality:
    return request.membership.municipality  # type: ignore[attr-defined]


def _account_or_404(request: HttpRequest, account_id: int) -> ChannelAccount:
    account = accounts_of(_municipality(request)).filter(pk=account_id).first()
    if account is None:
        raise Http404
    return account


def week_summary(periods: tuple[Period, ...]) -> list[tuple[str, list[Period]]]:
    """Per weekday (in the interface language) its periods, for showing hours that are not edited here."""
    return [(str(label), [p for p in periods if p.weekday == day]) for day, label in Weekday.choices]


def _preview_opening(schedule: Schedule, now: datetime) -> datetime | None:
    """The opening the out-of-hours reply would announce: the next one now, or after the current opening ends."""
    if schedule.always_open:
        return None
    end = schedule.open_until(now)
    return schedule.next_opening(end or now)


# --- weekly hours, holidays, closing days, out-of-hours reply -------------------------------------------------------
def _hours_page(request: HttpRequest, *, week_form: WeekForm | None = None,
                options_form: HoursOptionsForm | None = None, closing_form: ClosingDayForm | None = None
                ) -> HttpResponse:
    municipality = _municipality(request)
    now = timezone.now()
    today = timezone.localdate(now)
    schedule = selectors.schedule_for(municipality)
    opening = _preview_opening(schedule, now)
    own_hours = selectors.account_ids_with_own_hours(municipality)
    return render(request, "administration/availability/hours.html", {
        "settings_section": "hours",
        "municipality": municipality,
        "week_form": week_form or WeekForm(periods=selectors.periods_of(municipality)),
        "options_form": options_form or HoursOptionsForm(instance=municipality),
        "closing_form": closing_form or ClosingDayForm(),
        "closing_days": selectors.closing_days_of(municipality, since=today),
        "holidays": selectors.holidays_of(municipality, (today.year, today.year + 1), language=get_language() or "nl"),
        "accounts": [(account, account.pk in own_hours) for account in accounts_of(municipality).order_by("name")],
        "always_open": schedule.always_open,
        "open_now": schedule.is_open(now),
        "preview_opening": opening,
        "preview": list(zip(("nl", "en"), out_of_hours_texts(municipality, opening))) if opening else [],
    })


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def hours(request: HttpRequest) -> HttpResponse:
    municipality = _municipality(request)
    if request.method != "POST":
        return _hours_page(request)
    week_form = WeekForm(request.POST, periods=selectors.periods_of(municipality))
    # The form validates a copy, so the service still sees the old values and records what changed.
    options_form = HoursOptionsForm(request.POST, instance=copy.copy(municipality))
    if all([week_form.is_valid(), options_form.is_valid()]):  # both validated, so both show their errors
        try:
            with transaction.atomic():
                opening_hours_set(municipality=municipality, periods=week_form.periods, actor=request.user)
                municipality_update(municipality=municipality, actor=request.user, fields=options_form.cleaned_data,
                                    action="hours.settings_changed")
        except ValidationError as error:
            week_form.add_error(None, error)
        else:
            messages.success(request, _("Business hours saved."))
            return redirect("settings:hours")
    return _hours_page(request, week_form=week_form, options_form=options_form)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def account_hours(request: HttpRequest, account_id: int) -> HttpResponse:
    municipality = _municipality(request)
    account = _account_or_404(request, account_id)
    own = selectors.periods_of(municipality, account.pk)
    form = AccountWeekForm(_data(request), periods=own, initial={"use_municipality_hours": not own})
    if request.method == "POST" and form.is_valid():
        periods = () if form.cleaned_data["use_municipality_hours"] else form.periods
        try:
            opening_hours_set(municipality=municipality, channel_account=account, periods=periods,
                              actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Business hours of %(channel)s saved.") % {"channel": account.name})
            return redirect("settings:hours-account", account_id=account.pk)
    return render(request, "administration/availability/account_hours.html", {
        "settings_section": "hours", "account": account, "form": form, "has_own_hours": bool(own),
        "municipality_week": week_summary(selectors.periods_of(municipality)),
    })


@role_required(Role.ADMIN)
@require_POST
def closing_day_create(request: HttpRequest) -> HttpResponse:
    form = ClosingDayForm(request.POST)
    if form.is_valid():
        try:
            closing_day_add(municipality=_municipality(request), day=form.cleaned_data["day"],
                            name=form.cleaned_data["name"], actor=request.user)
        except ValidationError as error:
            form.add_error("day", error)
        else:
            messages.success(request, _("Closing day added."))
            return redirect("settings:hours")
    return _hours_page(request, closing_form=form)


@role_required(Role.ADMIN)
@require_POST
def closing_day_remove(request: HttpRequest, closing_day_id: int) -> HttpResponse:
    closing_day = selectors.closing_day_in(_municipality(request), closing_day_id)
    if closing_day is None:
        raise Http404
    closing_day_delete(closing_day=closing_day, actor=request.user)
    messages.success(request, _("Closing day removed."))
    return redirect("settings:hours")


# --- crisis mode -----------------------------------------------------------------------------------------------------
@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def crisis(request: HttpRequest) -> HttpResponse:
    municipality = _municipality(request)
    form = CrisisForm(_data(request), initial={"message_nl": municipality.crisis_message_nl,
                                               "message_en": municipality.crisis_message_en})
    if request.method == "POST" and form.is_valid():
        # One button switches (on when off, off when on); the other only saves the messages.
        switch = request.POST.get("action") == "switch"
        active = not municipality.crisis_active if switch else municipality.crisis_active
        try:
            crisis_set(municipality=municipality, active=active, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if not switch:
                messages.success(request, _("Crisis messages saved."))
            elif active:
                messages.success(request, _("Crisis mode is on."))
            else:
                messages.success(request, _("Crisis mode is off."))
            return redirect("settings:crisis")
    return render(request, "administration/availability/crisis.html",
                  {"settings_section": "crisis", "municipality": municipality, "form": form})
