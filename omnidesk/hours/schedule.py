"""Open or closed at a moment, and when we open next: pure logic over weekly periods and closing dates."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from omnidesk.hours.holidays import closing_holidays

SEARCH_DAYS = 62  # a schedule with nothing open in two months has no next opening worth announcing


@dataclass(frozen=True)
class Period:
    weekday: int  # 0 = Monday
    opens: time
    closes: time


@dataclass(frozen=True)
class Schedule:
    """Empty `periods` means always open (a municipality that has not set hours never sends out-of-hours replies)."""

    periods: tuple[Period, ...]
    closing_days: frozenset[date] = frozenset()
    good_friday: bool = False
    liberation_day_every_year: bool = True
    _holidays: dict[int, frozenset[date]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def always_open(self) -> bool:
        return not self.periods

    def is_closing_day(self, day: date) -> bool:
        if day in self.closing_days:
            return True
        if day.year not in self._holidays:
            self._holidays[day.year] = frozenset(closing_holidays(
                day.year, good_friday=self.good_friday, liberation_day_every_year=self.liberation_day_every_year))
        return day in self._holidays[day.year]

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = timezone.localtime(at)
        if self.is_closing_day(local.date()):
            return False
        moment = local.time()
        return any(p.weekday == local.weekday() and p.opens <= moment < p.closes for p in self.periods)

    def next_opening(self, at: datetime) -> datetime | None:
        """The start of the next open period after `at` (now, if open now); None if always open or never."""
        if self.always_open:
            return None
        if self.is_open(at):
            return at
        local = timezone.localtime(at)
        for offset in range(SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            if self.is_closing_day(day):
                continue
            starts = sorted(p.opens for p in self.periods if p.weekday == day.weekday())
            for opens in starts:
                # Wall-clock time on that day, in the local zone: 09:00 stays 09:00 across a DST change.
                candidate = datetime.combine(day, opens, tzinfo=local.tzinfo)
                if candidate > local:
                    return candidate
        return None

    def open_until(self, at: datetime) -> datetime | None:
        """When the opening that includes `at` ends (back-to-back periods count as one); None if closed or always
        open."""
        if self.always_open or not self.is_open(at):
            return None
        local = timezone.localtime(at)
        end = local.time()
        while True:
            ends = [p.closes for p in self.periods if p.weekday == local.weekday() and p.opens <= end < p.closes]
            if not ends:
                return datetime.combine(local.date(), end, tzinfo=local.tzinfo)
            end = max(ends)


# Audit entries are stored text, read long after in any interface language: Dutch abbreviations, fixed.
WEEKDAY_ABBREVIATIONS = ("ma", "di", "wo", "do", "vr", "za", "zo")


def describe_periods(periods: tuple[Period, ...] | list[Period]) -> str:
    """A readable summary such as "ma 09:00-12:00, 13:00-17:00; di 09:00-17:00" ("" for no periods)."""
    days: dict[int, list[str]] = {}
    for period in sorted(periods, key=lambda p: (p.weekday, p.opens)):
        days.setdefault(period.weekday, []).append(f"{period.opens:%H:%M}-{period.closes:%H:%M}")
    return "; ".join(f"{WEEKDAY_ABBREVIATIONS[day]} {', '.join(spans)}" for day, spans in days.items())
