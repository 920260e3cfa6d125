"""Reads: a municipality's figures per channel account over a period of whole days in the installation's time zone.

Everything is counted in the database, in the same handful of queries whatever the number of accounts, tickets
or messages: accounts, tickets per account, tickets in total, messages, sunset contacts (and on SQLite, which
has no percentile_cont, one more query for the response times).
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, F, Q
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.sunset.models import SunsetContact
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import DeliveryStatus, Direction, Kind, Message, Status, Ticket

PRESETS = (7, 30, 90)  # "the last N days", today included
DEFAULT_DAYS = 30
ACTIVE = (Status.NEW, Status.OPEN, Status.PENDING)


def installation_zone() -> Any:
    """Days begin at midnight where the municipality is (settings.TIME_ZONE), not where a browser happens to be."""
    return timezone.get_default_timezone()


@dataclass(frozen=True)
class Period:
    first: date  # inclusive
    last: date  # inclusive
    days: int | None = None  # the preset it came from, None for chosen dates

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time.min, installation_zone())

    @property
    def until(self) -> datetime:
        """Exclusive: midnight at the end of the last day (a DST day is 23 or 25 hours, which this respects)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, installation_zone())


def last_days(days: int, today: date | None = None) -> Period:
    today = today or timezone.localdate(timezone=installation_zone())
    return Period(first=today - timedelta(days=days - 1), last=today, days=days)


@dataclass(frozen=True)
class Figures:
    new_tickets: int = 0  # created in the period
    inbound: int = 0  # residents' messages received in the period
    outbound: int = 0  # messages to residents in the period, failed ones not counted
    resolved: int = 0  # resolved or closed in the period (and not reopened since)
    # Over the new tickets that have been answered: first response minus creation.
    first_response_median: timedelta | None = None
    first_response_p90: timedelta | None = None
    backlog: int = 0  # new, open or pending now, whatever the period
    sunset_contacts: int = 0  # messages that reached the account while it was switched off


@dataclass(frozen=True)
class AccountFigures:
    account: ChannelAccount
    figures: Figures


@dataclass(frozen=True)
class Report:
    period: Period
    rows: list[AccountFigures]
    total: Figures


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the continuous percentile (interpolated, like `percentile()` below)."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        # A constant of ours, never user input: written into the SQL as a literal.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile(values: list[timedelta], fraction: float) -> timedelta | None:
    """percentile_cont in Python (linear interpolation between the closest ranks), for databases without it."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ticket_aggregates(period: Period, with_percentiles: bool) -> dict[str, Aggregate]:
    created = Q(created_at__gte=period.since, created_at__lt=period.until)
    answered = created & Q(first_response_at__isnull=False)
    aggregates: dict[str, Aggregate] = {
        "new_tickets": Count("id", filter=created),
        "resolved": Count("id", filter=Q(resolved_at__gte=period.since, resolved_at__lt=period.until)),
        "backlog": Count("id", filter=Q(status__in=ACTIVE)),
    }
    if with_percentiles:
        wait = F("first_response_at") - F("created_at")
        aggregates["first_response_median"] = PercentileCont(wait, fraction=0.5, filter=answered,
                                                             output_field=DurationField())
        aggregates["first_response_p90"] = PercentileCont(wait, fraction=0.9, filter=answered,
                                                          output_field=DurationField())
    return aggregates


def _python_percentiles(tickets: Any, period: Period) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """Response times per account and in total from one query of (account, wait) pairs: the SQLite fallback."""
    waits: dict[int, list[timedelta]] = defaultdict(list)
    rows = tickets.filter(created_at__gte=period.since, created_at__lt=period.until, first_response_at__isnull=False)
    for account_id, created_at, first_response_at in rows.values_list("channel_account_id", "created_at",
                                                                       "first_response_at"):
        waits[account_id].append(first_response_at - created_at)

    def times(values: list[timedelta]) -> dict[str, Any]:
        return {"first_response_median": percentile(values, 0.5), "first_response_p90": percentile(values, 0.9)}

    return ({account_id: times(values) for account_id, values in waits.items()},
            times([wait for values in waits.values() for wait in values]))


def _figures(values: Mapping[str, Any]) -> Figures:
    known = Figures.__dataclass_fields__
    return Figures(**{key: value for key, value in values.items() if key in known and value is not None})


def report(municipality: Municipality, period: Period) -> Report:
    """Per channel account of the municipality (by name) and in total; accounts without activity show zeros."""
    accounts = list(ChannelAccount.objects.filter(municipality=municipality).order_by("name", "pk"))
    in_db = connection.vendor == "postgresql"

    tickets = Ticket.objects.filter(municipality=municipality).order_by()
    relevant = tickets.filter(Q(created_at__gte=period.since, created_at__lt=period.until)
                              | Q(resolved_at__gte=period.since, resolved_at__lt=period.until)
                              | Q(status__in=ACTIVE))
    aggregates = _ticket_aggregates(period, with_percentiles=in_db)
    per_account: dict[int, dict[str, Any]] = {
        row.pop("channel_account_id"): row
        for row in relevant.values("channel_account_id").annotate(**aggregates)
    }
    total: dict[str, Any] = relevant.aggregate(**aggregates)
    if not in_db:
        account_times, total_times = _python_percentiles(tickets, period)
        for account_id, times in account_times.items():
            per_account.setdefault(account_id, {}).update(times)
        total.update(total_times)

    messages = (Message.objects.filter(municipality=municipality, kind=Kind.MESSAGE,
                                       created_at__gte=period.since, created_at__lt=period.until)
                .order_by().values("channel_account_id")
                .annotate(inbound=Count("id", filter=Q(direction=Direction.INBOUND)),
                          outbound=Count("id", filter=Q(direction=Direction.OUTBOUND)
                                         & ~Q(delivery_status=DeliveryStatus.FAILED))))
    sunset = (SunsetContact.objects.filter(municipality=municipality, received_at__gte=period.since,
                                           received_at__lt=period.until)
              .order_by().values("channel_account_id").annotate(sunset_contacts=Count("id")))
    for row in (*messages, *sunset):
        per_account.setdefault(row.pop("channel_account_id"), {}).update(row)

    rows = [AccountFigures(account, _figures(per_account.get(account.pk, {}))) for account in accounts]
    summed = {name: sum(getattr(row.figures, name) for row in rows) for name in ("inbound", "outbound",
                                                                               "sunset_contacts")}
    return Report(period=period, rows=rows, total=replace(_figures(total), **summed))


def seconds(value: timedelta | None) -> int | None:
    """Whole seconds, as the page's data attributes and the CSV give them."""
    return None if value is None else round(value.total_seconds())

