"""Open or closed, and when we open next: weekends, evenings, split days, public holidays, closing days, the
DST weekends of Europe/Amsterdam, a channel's own hours replacing the municipality's, and no hours = always open."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from omnidesk.hours.models import ClosingDay, OpeningHours
from omnidesk.hours.schedule import Period, Schedule, describe_periods
from omnidesk.hours.selectors import availability_for, schedule_for
from omnidesk.hours.services import opening_hours_set
from omnidesk.tenants.services import municipality_update
from tests.factories import MunicipalityFactory, sandbox_account

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
UTC = ZoneInfo("UTC")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


def elapsed(start: datetime, end: datetime) -> timedelta:
    # Python subtracts datetimes of the same zone by wall clock; real time passes in UTC.
    return end.astimezone(UTC) - start.astimezone(UTC)


def office(*weekdays: int, opens: str = "09:00", closes: str = "17:00") -> tuple[Period, ...]:
    return tuple(Period(day, time.fromisoformat(opens), time.fromisoformat(closes)) for day in weekdays)


WEEKDAYS = office(0, 1, 2, 3, 4)  # Monday to Friday 09:00–17:00


def schedule(*periods: Period, **options: object) -> Schedule:
    return Schedule(periods=periods or WEEKDAYS, **options)  # type: ignore[arg-type]


# --- the week ---------------------------------------------------------------------------------------------------
def test_inside_and_outside_the_periods_of_a_weekday():
    week = schedule()
    assert week.is_open(at(2026, 11, 30, 9, 0))  # Monday, the minute it opens
    assert week.is_open(at(2026, 11, 30, 16, 59))
    assert not week.is_open(at(2026, 11, 30, 17, 0))  # closing time is closed
    assert not week.is_open(at(2026, 11, 30, 8, 59))
    assert week.next_opening(at(2026, 11, 30, 7, 30)) == at(2026, 11, 30, 9, 0)


def test_an_open_moment_is_its_own_next_opening():
    moment = at(2026, 12, 1, 11, 15)
    assert schedule().next_opening(moment) == moment


def test_an_evening_opens_the_next_morning():
    assert schedule().next_opening(at(2026, 12, 1, 19, 45)) == at(2026, 12, 2, 9, 0)  # Tuesday evening → Wednesday


def test_a_weekend_opens_on_monday():
    week = schedule()
    for moment in (at(2026, 12, 4, 17, 0), at(2026, 12, 5, 12, 0), at(2026, 12, 6, 23, 59)):  # Fri 17:00, Sat, Sun
        assert not week.is_open(moment)
        assert week.next_opening(moment) == at(2026, 12, 7, 9, 0)


def test_a_lunch_break_opens_again_the_same_day_and_back_to_back_periods_count_as_one():
    split = schedule(*office(0, opens="09:00", closes="12:30"), *office(0, opens="13:30", closes="17:00"))
    assert not split.is_open(at(2026, 11, 30, 12, 45))
    assert split.next_opening(at(2026, 11, 30, 12, 45)) == at(2026, 11, 30, 13, 30)
    assert split.open_until(at(2026, 11, 30, 10, 0)) == at(2026, 11, 30, 12, 30)
    joined = schedule(*office(0, opens="09:00", closes="12:00"), *office(0, opens="12:00", closes="17:00"))
    assert joined.is_open(at(2026, 11, 30, 12, 0))
    assert joined.open_until(at(2026, 11, 30, 10, 0)) == at(2026, 11, 30, 17, 0)
    assert joined.open_until(at(2026, 11, 30, 18, 0)) is None


def test_no_hours_means_always_open_and_no_next_opening():
    always = Schedule(periods=())
    assert always.always_open
    assert always.is_open(at(2026, 12, 25, 3, 0))  # even on Christmas at night
    assert always.next_opening(at(2026, 12, 25, 3, 0)) is None


def test_nothing_open_in_the_coming_weeks_has_no_next_opening():
    only_day = date(2026, 12, 25)  # a Friday schedule whose every Friday for two months is a closing day
    fridays = frozenset(only_day + timedelta(weeks=n) for n in range(10))
    assert schedule(*office(4), closing_days=fridays).next_opening(at(2026, 12, 24, 18, 0)) is None


# --- holidays and closing days -------------------------------------------------------------------------------------
def test_christmas_opens_on_the_next_working_day():
    week = schedule()
    assert not week.is_open(at(2026, 12, 25, 10, 0))  # Friday, Christmas Day
    # Thursday evening before Christmas: Friday 25 is Christmas, Saturday 26 the second day and a Saturday.
    assert week.next_opening(at(2026, 12, 24, 17, 30)) == at(2026, 12, 28, 9, 0)


def test_the_holiday_options():
    good_friday, liberation_day = at(2026, 4, 3, 10, 0), at(2026, 5, 5, 10, 0)  # Friday, Tuesday (no lustrum)
    assert schedule().is_open(good_friday) and not schedule(good_friday=True).is_open(good_friday)
    assert not schedule().is_open(liberation_day)  # every year by default (Cao Gemeenten)
    assert schedule(liberation_day_every_year=False).is_open(liberation_day)
    assert schedule(good_friday=True).next_opening(at(2026, 4, 2, 17, 0)) == at(2026, 4, 7, 9, 0)  # after Easter Monday


def test_a_closing_day_of_the_municipality():
    week = schedule(closing_days=frozenset({date(2026, 5, 15)}))  # the Friday after Ascension
    assert not week.is_open(at(2026, 5, 15, 10, 0))
    assert week.next_opening(at(2026, 5, 13, 17, 0)) == at(2026, 5, 18, 9, 0)  # Wed evening → Ascension → Fri → Mon


# --- daylight saving time (Europe/Amsterdam) ------------------------------------------------------------------------
def test_the_spring_change_keeps_wall_clock_hours():
    week = schedule()
    opening = week.next_opening(at(2026, 3, 28, 12, 0))  # Saturday before the clocks go forward (Sunday 29 March)
    assert opening == at(2026, 3, 30, 9, 0)
    assert opening.utcoffset() == timedelta(hours=2) and opening.astimezone(UTC).hour == 7
    assert elapsed(at(2026, 3, 28, 12, 0), opening) == timedelta(hours=44)  # an hour shorter than other weekends
    sunday = schedule(*office(6, opens="10:00", closes="12:00"))
    assert not sunday.is_open(datetime(2026, 3, 29, 7, 30, tzinfo=UTC))  # 09:30 summer time
    assert sunday.is_open(datetime(2026, 3, 29, 8, 30, tzinfo=UTC))  # 10:30 summer time


def test_the_autumn_change_keeps_wall_clock_hours():
    sunday = schedule(*office(6, opens="10:00", closes="12:00"))
    assert not sunday.is_open(datetime(2026, 10, 25, 8, 30, tzinfo=UTC))  # 09:30 winter time
    assert sunday.is_open(datetime(2026, 10, 25, 9, 30, tzinfo=UTC))  # 10:30 winter time
    opening = sunday.next_opening(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))  # 02:30, the first time
    assert opening == at(2026, 10, 25, 10, 0) and opening.utcoffset() == timedelta(hours=1)
    monday = schedule().next_opening(at(2026, 10, 24, 12, 0))
    assert monday == at(2026, 10, 26, 9, 0) and elapsed(at(2026, 10, 24, 12, 0), monday) == timedelta(hours=46)


def test_a_moment_in_another_time_zone_is_judged_in_amsterdam():
    # 07:30 UTC on a Monday in winter is 08:30 in Amsterdam: closed; 08:30 UTC is 09:30: open.
    assert not schedule().is_open(datetime(2026, 11, 30, 7, 30, tzinfo=UTC))
    assert schedule().is_open(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))


# --- from the database ------------------------------------------------------------------------------------------------
@pytest.fixture
def hours(municipality):  # type: ignore[no-untyped-def]
    return opening_hours_set(municipality=municipality, periods=WEEKDAYS, actor=None)


def test_a_channels_own_hours_replace_the_municipalitys(municipality, hours):
    evenings = sandbox_account(municipality, name="Avondchat")
    daytime = sandbox_account(municipality, name="Dagchat")
    opening_hours_set(municipality=municipality, channel_account=evenings,
                      periods=office(0, 1, 2, 3, 4, opens="18:00", closes="21:00"), actor=None)
    monday_evening, monday_morning = at(2026, 11, 30, 19, 0), at(2026, 11, 30, 10, 0)
    assert schedule_for(municipality, evenings.pk).is_open(monday_evening)
    assert not schedule_for(municipality, evenings.pk).is_open(monday_morning)
    assert schedule_for(municipality, daytime.pk).is_open(monday_morning)
    assert not schedule_for(municipality, daytime.pk).is_open(monday_evening)
    assert schedule_for(municipality).is_open(monday_morning)
    assert availability_for(evenings, at=monday_morning) == (False, at(2026, 11, 30, 18, 0))
    assert availability_for(evenings, at=monday_evening) == (True, None)
    assert availability_for(daytime, at=monday_evening) == (False, at(2026, 12, 1, 9, 0))
    # Public holidays and the municipality's closing days still close the channel with its own hours.
    ClosingDay.objects.create(municipality=municipality, date=date(2026, 12, 1))
    assert availability_for(evenings, at=monday_evening + timedelta(days=1)) == (False, at(2026, 12, 2, 18, 0))
    assert not schedule_for(municipality, evenings.pk).is_open(at(2026, 12, 25, 19, 0))
    # Back to the municipality's hours.
    opening_hours_set(municipality=municipality, channel_account=evenings, periods=(), actor=None)
    assert schedule_for(municipality, evenings.pk).is_open(monday_morning)
    assert not OpeningHours.objects.filter(channel_account=evenings).exists()


def test_without_any_hours_every_channel_is_always_open(municipality, account):
    assert availability_for(account, at=at(2026, 12, 25, 3, 0)) == (True, None)
    assert schedule_for(municipality, account.pk).always_open


def test_the_holiday_options_of_the_municipality_are_used(municipality, hours, municipal_admin):
    good_friday = at(2026, 4, 3, 10, 0)
    assert schedule_for(municipality).is_open(good_friday)
    municipality_update(municipality=municipality, actor=municipal_admin, fields={"closed_on_good_friday": True})
    assert not schedule_for(municipality).is_open(good_friday)


def test_hours_of_another_municipality_do_not_count(municipality, hours):
    other = MunicipalityFactory()
    other_account = sandbox_account(other)
    assert schedule_for(other).always_open and availability_for(other_account, at=at(2026, 12, 5, 3, 0)) == (True, None)
    with pytest.raises(ValueError):
        opening_hours_set(municipality=municipality, channel_account=other_account, periods=WEEKDAYS, actor=None)


def test_overlapping_and_backwards_periods_are_refused_and_nothing_changes(municipality, hours):
    before = list(OpeningHours.objects.values_list("weekday", "opens", "closes"))
    for periods in (office(0, opens="09:00", closes="13:00") + office(0, opens="12:00", closes="17:00"),
                    office(2, opens="17:00", closes="09:00"), office(3, opens="09:00", closes="09:00")):
        with pytest.raises(ValidationError):
            opening_hours_set(municipality=municipality, periods=periods, actor=None)
    assert list(OpeningHours.objects.values_list("weekday", "opens", "closes")) == before


def test_hours_read_back_as_a_readable_summary(municipality):
    periods = office(0, opens="09:00", closes="12:30") + office(0, opens="13:30", closes="17:00") + office(4)
    opening_hours_set(municipality=municipality, periods=periods, actor=None)
    assert describe_periods(schedule_for(municipality).periods) == "ma 09:00-12:30, 13:30-17:00; vr 09:00-17:00"
