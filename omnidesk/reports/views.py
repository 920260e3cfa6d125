"""Supervisors' reports: figures per channel account for a period, as a page and as CSV (same rows, same numbers)."""
from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from omnidesk.ops.csv_export import spreadsheet_safe
from omnidesk.reports.selectors import (DEFAULT_DAYS, PRESETS, Figures, Period, Report, installation_zone, last_days,
                                       seconds)
from omnidesk.reports.selectors import report as build_report
from omnidesk.tenants.access import role_required
from omnidesk.tenants.models import Role

DATES = "dates"
# Dates outside these years are typing mistakes, and would overflow when turned into times.
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2999, 12, 31)


class PeriodForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), required=False)
    since = forms.DateField(label=gettext_lazy("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("Up to and including"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text=gettext_lazy("Empty: today."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [  # type: ignore[attr-defined]
            *((str(days), _("Last %(days)d days") % {"days": days}) for days in PRESETS),
            (DATES, _("From and to the dates below")),
        ]
        self.fields["period"].initial = str(DEFAULT_DAYS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if cleaned.get("period") == DATES or (not cleaned.get("period") and (since or until)):
            if since is None and "since" not in self.errors:
                self.add_error("since", _("Enter the first day."))
        for name in ("since", "until"):
            value = cleaned.get(name)
            if value is not None and not FIRST_DATE <= value <= LAST_DATE:
                self.add_error(name, _("Enter a date between %(first)s and %(last)s.") % {
                    "first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()})
        if since and until and since > until and not self.errors:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    def chosen_period(self) -> Period:
        """The period asked for; the default (last 30 days) for an empty or invalid form."""
        if not self.is_bound or not self.is_valid():
            return last_days(DEFAULT_DAYS)
        data = self.cleaned_data
        if data["since"] and data.get("period") in (DATES, ""):
            today = timezone.localdate(timezone=installation_zone())
            return Period(first=data["since"], last=data["until"] or max(today, data["since"]))
        return last_days(int(data.get("period") or DEFAULT_DAYS))


def _period_form(request: HttpRequest) -> PeriodForm:
    form = PeriodForm(request.GET if request.GET else None)
    if form.is_bound and not form.is_valid():
        for name in set(form.errors) & set(form.fields):  # the error, shown after the field, is read with it
            field_id = form[name].id_for_label
            described_by = [f"{field_id}_helptext"] if form.fields[name].help_text else []
            form.fields[name].widget.attrs["aria-describedby"] = " ".join([*described_by, f"{field_id}-error"])
    return form


def duration_text(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    if minutes < 1:
        return _("less than a minute")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if minutes and not days:  # minutes matter little once it is days
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return " ".join(parts)


def _cells(figures: Figures) -> list[dict[str, Any]]:
    """The figures of one row in the table's order: a count, or a duration with its seconds for machines."""
    cells: list[dict[str, Any]] = [{"name": name, "value": getattr(figures, name)}
                                   for name in ("new_tickets", "inbound", "outbound", "resolved")]
    for name in ("first_response_median", "first_response_p90"):
        value = getattr(figures, name)
        cells.append({"name": name, "value": seconds(value), "text": duration_text(value)})
    cells += [{"name": name, "value": getattr(figures, name)} for name in ("backlog", "sunset_contacts")]
    return cells


@never_cache
@role_required(Role.SUPERVISOR)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    municipality = request.membership.municipality  # type: ignore[attr-defined]
    form = _period_form(request)
    result = build_report(municipality, form.chosen_period())
    return render(request, "reports/overview.html", {
        "municipality": municipality, "form": form, "report": result,
        "rows": [{"account": row.account, "cells": _cells(row.figures)} for row in result.rows],
        "total": _cells(result.total), "query": request.GET.urlencode(),
        "period_choices": form.fields["period"].choices,  # type: ignore[attr-defined]
        "period_choice": DATES if result.period.days is None else str(result.period.days),
    })


CSV_HEADER = ["channel_id", "channel", "channel_type", "switched_off", "new_tickets", "inbound_messages",
              "outbound_messages", "resolved_tickets", "first_response_median_seconds", "first_response_p90_seconds",
              "open_backlog", "sunset_contacts"]


def _csv_figures(figures: Figures) -> list[Any]:
    return ["" if cell["value"] is None else cell["value"] for cell in _cells(figures)]


def write_csv(response: HttpResponse, result: Report) -> None:
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for row in result.rows:
        account = row.account
        writer.writerow([account.pk, spreadsheet_safe(account.name), account.plugin_key, int(not account.enabled),
                         *_csv_figures(row.figures)])
    writer.writerow(["", "total", "", "", *_csv_figures(result.total)])


@never_cache
@role_required(Role.SUPERVISOR)
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """The page's table as CSV; a period that does not parse is refused rather than swapped for the default."""
    municipality = request.membership.municipality  # type: ignore[attr-defined]
    form = _period_form(request)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(_("Choose a valid period."), content_type="text/plain; charset=utf-8")
    result = build_report(municipality, form.chosen_period())
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    period = result.period
    response["Content-Disposition"] = (f'attachment; filename="report-{municipality.slug}-'
                                       f'{period.first.isoformat()}-{period.last.isoformat()}.csv"')
    write_csv(response, result)
    return response
