"""Reads: the schedule that applies to a municipality or to one of its channel accounts, and what the settings
pages show about it."""
from __future__ import annotations

from datetime import date, datetime

from django.db.models import QuerySet
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.hours.holidays import closing_holidays
from omnidesk.hours.models import ClosingDay, OpeningHours
from omnidesk.hours.schedule import Period, Schedule
from omnidesk.tenants.models import Municipality


def periods_of(municipality: Municipality, channel_account_id: int | None = None) -> tuple[Period, ...]:
    """The rows themselves: the municipality's (no account) or only the account's own (empty if it has none)."""
    rows = OpeningHours.objects.filter(municipality=municipality)
    rows = rows.filter(channel_account_id=channel_account_id) if channel_account_id else rows.filter(
        channel_account__isnull=True)
    return tuple(Period(weekday, opens, closes)
                 for weekday, opens, closes in rows.order_by("weekday", "opens").values_list("weekday", "opens", "closes"))


def schedule_for(municipality: Municipality, channel_account_id: int | None = None) -> Schedule:
    """The account's own hours if it has any, else the municipality's; closing days always the municipality's."""
    periods = periods_of(municipality, channel_account_id) if channel_account_id else ()
    if not periods:
        periods = periods_of(municipality)
    closing = frozenset(ClosingDay.objects.filter(municipality=municipality).values_list("date", flat=True))
    return Schedule(
        periods=periods,
        closing_days=closing,
        good_friday=municipality.closed_on_good_friday,
        liberation_day_every_year=municipality.closed_on_liberation_day,
    )


def availability_for(account: ChannelAccount, *, at: datetime | None = None) -> tuple[bool, datetime | None]:
    """(open now, next opening) for a channel account, e.g. for a livechat widget. Without any hours: (True, None);
    closed with nothing open in the coming weeks: (False, None)."""
    at = at or timezone.now()
    schedule = schedule_for(account.municipality, account.pk)
    if schedule.is_open(at):
        return True, None
    return False, schedule.next_opening(at)


def closing_days_of(municipality: Municipality, *, since: date | None = None) -> QuerySet[ClosingDay]:
    rows = ClosingDay.objects.filter(municipality=municipality)
    return rows.filter(date__gte=since) if since else rows


def closing_day_in(municipality: Municipality, closing_day_id: int) -> ClosingDay | None:
    return ClosingDay.objects.filter(municipality=municipality, pk=closing_day_id).first()


def holidays_of(municipality: Municipality, years: tuple[int, ...], *, language: str = "nl") -> list[tuple[date, str]]:
    """The public holidays on which the municipality is closed in these years, with their names, in date order."""
    return [item for year in years for item in closing_holidays(
        year, good_friday=municipality.closed_on_good_friday,
        liberation_day_every_year=municipality.closed_on_liberation_day, language=language).items()]


def account_ids_with_own_hours(municipality: Municipality) -> set[int]:
    return set(OpeningHours.objects.filter(municipality=municipality, channel_account__isnull=False)
               .values_list("channel_account_id", flat=True))
