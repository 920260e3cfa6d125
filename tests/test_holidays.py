"""Dutch public holidays for 2024–2031: Easter-based days, King's Day off Sundays, Liberation Day and Good Friday as
options, Christmas and New Year. The expected dates are written out, not computed."""
from __future__ import annotations

from datetime import date

import pytest

from omnidesk.hours.holidays import closing_holidays

# year: (Good Friday, Easter Monday, Ascension Day, Whit Monday, King's Day)
KNOWN = {
    2024: (date(2024, 3, 29), date(2024, 4, 1), date(2024, 5, 9), date(2024, 5, 20), date(2024, 4, 27)),
    2025: (date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 29), date(2025, 6, 9), date(2025, 4, 26)),
    2026: (date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25), date(2026, 4, 27)),
    2027: (date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17), date(2027, 4, 27)),
    2028: (date(2028, 4, 14), date(2028, 4, 17), date(2028, 5, 25), date(2028, 6, 5), date(2028, 4, 27)),
    2029: (date(2029, 3, 30), date(2029, 4, 2), date(2029, 5, 10), date(2029, 5, 21), date(2029, 4, 27)),
    2030: (date(2030, 4, 19), date(2030, 4, 22), date(2030, 5, 30), date(2030, 6, 10), date(2030, 4, 27)),
    2031: (date(2031, 4, 11), date(2031, 4, 14), date(2031, 5, 22), date(2031, 6, 2), date(2031, 4, 26)),
}
YEARS = sorted(KNOWN)
LUSTRUM_YEARS = {2025, 2030}


def days(year: int, *, good_friday: bool = False, liberation_day_every_year: bool = True) -> dict[date, str]:
    return closing_holidays(year, good_friday=good_friday, liberation_day_every_year=liberation_day_every_year)


@pytest.mark.parametrize("year", YEARS)
def test_easter_based_days_fall_on_their_known_dates(year):
    _friday, easter_monday, ascension, whit_monday, _kings_day = KNOWN[year]
    holidays = days(year)
    assert holidays[easter_monday] == "Tweede paasdag"
    assert holidays[ascension] == "Hemelvaartsdag"
    assert holidays[whit_monday] == "Tweede pinksterdag"
    assert easter_monday.weekday() == 0 and whit_monday.weekday() == 0 and ascension.weekday() == 3


@pytest.mark.parametrize("year", YEARS)
def test_kings_day_is_the_27th_of_april_or_the_26th_when_the_27th_is_a_sunday(year):
    kings_day = KNOWN[year][4]
    holidays = days(year)
    assert holidays[kings_day] == "Koningsdag"
    assert [day for day, name in holidays.items() if name == "Koningsdag"] == [kings_day]
    if year in (2025, 2031):
        assert date(year, 4, 27).weekday() == 6 and kings_day == date(year, 4, 26)
        assert date(year, 4, 27) not in holidays
    else:
        assert kings_day == date(year, 4, 27)


@pytest.mark.parametrize("year", YEARS)
def test_liberation_day_every_year_with_the_option_and_otherwise_only_in_lustrum_years(year):
    assert date(year, 5, 5) in days(year, liberation_day_every_year=True)
    assert (date(year, 5, 5) in days(year, liberation_day_every_year=False)) == (year in LUSTRUM_YEARS)


@pytest.mark.parametrize("year", YEARS)
def test_good_friday_only_with_its_option(year):
    friday = KNOWN[year][0]
    assert friday.weekday() == 4
    assert friday not in days(year)
    assert friday in days(year, good_friday=True)


@pytest.mark.parametrize("year", YEARS)
def test_christmas_and_new_year(year):
    holidays = days(year)
    assert {date(year, 1, 1), date(year, 12, 25), date(year, 12, 26)} <= set(holidays)
    assert date(year, 12, 24) not in holidays and date(year, 12, 31) not in holidays


def test_a_whole_year_with_both_options_and_english_names():
    assert closing_holidays(2031, good_friday=True, liberation_day_every_year=True, language="en") == {
        date(2031, 1, 1): "New Year's Day",
        date(2031, 4, 11): "Good Friday",
        date(2031, 4, 13): "Easter Sunday",
        date(2031, 4, 14): "Easter Monday",
        date(2031, 4, 26): "King's Day",
        date(2031, 5, 5): "Liberation Day",
        date(2031, 5, 22): "Ascension Day",
        date(2031, 6, 1): "Pentecost",
        date(2031, 6, 2): "Pentecost Monday",
        date(2031, 12, 25): "Christmas Day",
        date(2031, 12, 26): "Second Day of Christmas",
    }
    # In date order, as the settings page lists them.
    assert list(days(2026)) == sorted(days(2026))
