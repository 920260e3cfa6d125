"""Reads: the schedule that applies to a municipality or to one of its channel accounts."""
from __future__ import annotations

from omnidesk.hours.models import ClosingDay, OpeningHours
from omnidesk.hours.schedule import Period, Schedule
from omnidesk.tenants.models import Municipality


def schedule_for(municipality: Municipality, channel_account_id: int | None = None) -> Schedule:
    """The account's own hours if it has any, else the municipality's; closing days always the municipality's."""
    rows = list(OpeningHours.objects.filter(municipality=municipality, channel_account_id=channel_account_id)
                .values_list("weekday", "opens", "closes")) if channel_account_id else []
    if not rows:
        rows = list(OpeningHours.objects.filter(municipality=municipality, channel_account__isnull=True)
                    .values_list("weekday", "opens", "closes"))
    closing = frozenset(ClosingDay.objects.filter(municipality=municipality).values_list("date", flat=True))
    return Schedule(
        periods=tuple(Period(weekday, opens, closes) for weekday, opens, closes in rows),
        closing_days=closing,
        good_friday=municipality.closed_on_good_friday,
        liberation_day_every_year=municipality.closed_on_liberation_day,
    )
