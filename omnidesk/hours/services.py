"""Writes: weekly opening hours (the municipality's or one channel account's) and the municipality's closing days.

Every change is recorded in the audit log.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from omnidesk.audit.services import audit_record
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.hours import selectors
from omnidesk.hours.models import ClosingDay, OpeningHours, Weekday
from omnidesk.hours.schedule import WEEKDAY_ABBREVIATIONS, Period, describe_periods
from omnidesk.hours.validation import period_problems
from omnidesk.tenants.models import Municipality


def _lock(municipality: Municipality) -> None:
    """Hours of a municipality change one save at a time, so two admins saving at once cannot mix their weeks."""
    Municipality.objects.select_for_update().filter(pk=municipality.pk).values_list("pk", flat=True).first()


@transaction.atomic
def opening_hours_set(*, municipality: Municipality, channel_account: ChannelAccount | None = None,
                      periods: Iterable[Period], actor: Any) -> tuple[Period, ...]:
    """Replace the weekly hours of the municipality, or of one of its channel accounts (no periods: the account
    follows the municipality's hours again; for the municipality: always open). Raises ValidationError for a
    period that does not end after it starts or periods that overlap."""
    if channel_account is not None and channel_account.municipality_id != municipality.pk:
        raise ValueError("the channel account belongs to another municipality")
    new = tuple(sorted(set(periods), key=lambda p: (p.weekday, p.opens, p.closes)))
    if any(period.weekday not in Weekday.values for period in new):
        raise ValueError("a weekday is 0 (Monday) to 6 (Sunday)")
    problems = period_problems(new)
    if problems:
        raise ValidationError([f"{WEEKDAY_ABBREVIATIONS[new[index].weekday]}: {message}" for index, message in problems],
                              code="invalid_hours")
    _lock(municipality)
    account_id = channel_account.pk if channel_account else None
    old = selectors.periods_of(municipality, account_id)
    if old == new:
        return new
    rows = OpeningHours.objects.filter(municipality=municipality)
    rows = rows.filter(channel_account_id=account_id) if account_id else rows.filter(channel_account__isnull=True)
    rows.delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(municipality=municipality, channel_account=channel_account, weekday=p.weekday, opens=p.opens,
                     closes=p.closes) for p in new)
    audit_record(municipality=municipality, actor=actor, action="hours.changed",
                 target=channel_account or municipality,
                 changes={"hours": [describe_periods(old), describe_periods(new)]})
    return new


@transaction.atomic
def closing_day_add(*, municipality: Municipality, day: date, name: str, actor: Any) -> ClosingDay:
    """A day the municipality is closed besides the public holidays. Raises ValidationError if it has that day."""
    name = " ".join(name.split())
    try:
        with transaction.atomic():
            closing_day = ClosingDay.objects.create(municipality=municipality, date=day, name=name)
    except IntegrityError:
        raise ValidationError(_("This day is a closing day already."), code="duplicate") from None
    audit_record(municipality=municipality, actor=actor, action="closing_day.added", target=closing_day,
                 changes={"date": [None, day.isoformat()], "reason": [None, name]})
    return closing_day


@transaction.atomic
def closing_day_delete(*, closing_day: ClosingDay, actor: Any) -> None:
    audit_record(municipality=closing_day.municipality, actor=actor, action="closing_day.removed", target=closing_day,
                 changes={"date": [closing_day.date.isoformat(), None], "reason": [closing_day.name, None]})
    closing_day.delete()
