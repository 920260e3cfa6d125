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
        zone = local.tzinfo
        for offset in range(SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            if self.is_closing_day(day):
                continue
            starts = sorted(p.opens for p in self.periods if p.weekday == day.weekday())
            for opens in starts:
                candidate = timezone.make_aware(datetime.combine(day, opens), zone) if zone else datetime.combine(day, opens)
                if candidate > local:
                    return candidate
        return None
