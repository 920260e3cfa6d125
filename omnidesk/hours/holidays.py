"""Dutch public holidays, computed by the `holidays` package (Easter-based days, King's Day moved off Sundays).

Which of them close a municipality differs per employer, so two are options: Good Friday (off by default) and
Liberation Day, which `holidays` lists only in lustrum years while the Cao Gemeenten gives it every year.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
from dateutil.easter import easter

# The `holidays` package's name for each interface language (it has no plain "en").
NAME_LANGUAGES = {"nl": "nl", "en": "en_US"}
LIBERATION_DAY = {"nl": "Bevrijdingsdag", "en": "Liberation Day"}


@lru_cache(maxsize=128)
def _dutch(year: int, language: str) -> dict[date, str]:
    return dict(holidays.NL(years=year, language=NAME_LANGUAGES.get(language, "nl")).items())


def good_friday_of(year: int) -> date:
    # By date, not by name: names change with the package's translations.
    return easter(year) - timedelta(days=2)


def closing_holidays(year: int, *, good_friday: bool, liberation_day_every_year: bool,
                     language: str = "nl") -> dict[date, str]:
    """The public holidays of `year` on which a municipality with these options is closed, with their names in
    `language` ("nl" or "en"), in date order."""
    friday = good_friday_of(year)
    days = {day: name for day, name in _dutch(year, language).items() if day != friday or good_friday}
    if liberation_day_every_year:
        days[date(year, 5, 5)] = LIBERATION_DAY.get(language, LIBERATION_DAY["nl"])
    return dict(sorted(days.items()))
