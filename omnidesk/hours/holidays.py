"""Dutch public holidays, computed by the `holidays` package (Easter-based days, King's Day moved off Sundays).

Which of them close a municipality differs per employer, so two are options: Good Friday (off by default) and
Liberation Day, which `holidays` lists only in lustrum years while the Cao Gemeenten gives it every year.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

GOOD_FRIDAY = "Goede vrijdag"
LIBERATION_DAY = "Bevrijdingsdag"


@lru_cache(maxsize=64)
def _dutch(year: int) -> dict[date, str]:
    return dict(holidays.NL(years=year, language="nl").items())


def closing_holidays(year: int, *, good_friday: bool, liberation_day_every_year: bool) -> dict[date, str]:
    """The public holidays of `year` on which a municipality with these options is closed, with their Dutch names."""
    days = {day: name for day, name in _dutch(year).items() if name != GOOD_FRIDAY or good_friday}
    if liberation_day_every_year:
        days[date(year, 5, 5)] = LIBERATION_DAY
    return dict(sorted(days.items()))
