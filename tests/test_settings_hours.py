"""Business-hours settings pages: per role, per municipality, saving and refusing weekly hours (the municipality's and
a channel's own), holiday options and out-of-hours texts, closing days, and the audit entries they leave."""
from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from omnidesk.audit.models import AuditEntry
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.hours.holidays import good_friday_of
from omnidesk.hours.models import ClosingDay, OpeningHours
from omnidesk.hours.schedule import Period
from omnidesk.hours.services import closing_day_add, opening_hours_set
from omnidesk.tenants.crisis import crisis_set
from omnidesk.tenants.models import Municipality, Role
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account
from tests.test_accessibility import assert_accessible

WEEK_FIELDS = {f"day{day}_period{slot}_{end}": "" for day in range(7) for slot in (1, 2) for end in ("opens", "closes")}


def client_for(municipality: Municipality, role: Role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(municipality=municipality, role=role).user)
    return client


def week(**periods: str) -> dict[str, str]:
    """The posted editor: `day0_period1="09:00-12:00"` fills Monday's first period; the rest stays empty."""
    data = dict(WEEK_FIELDS)
    for name, span in periods.items():
        opens, _sep, closes = span.partition("-")
        data[f"{name}_opens"], data[f"{name}_closes"] = opens, closes
    return data


def hours_form(options: dict[str, Any] | None = None, **periods: str) -> dict[str, Any]:
    return {**week(**periods), "closed_on_liberation_day": "on", **(options or {})}


def rows(account: ChannelAccount | None = None) -> list[tuple[int, str, str]]:
    return [(weekday, f"{opens:%H:%M}", f"{closes:%H:%M}") for weekday, opens, closes in
            OpeningHours.objects.filter(channel_account=account).order_by("weekday", "opens")
            .values_list("weekday", "opens", "closes")]


@pytest.fixture
def a_channel(municipality) -> ChannelAccount:  # type: ignore[no-untyped-def]
    return sandbox_account(municipality, name="Chat")


@pytest.fixture
def a_closing_day(municipality):  # type: ignore[no-untyped-def]
    return closing_day_add(municipality=municipality, day=timezone.localdate() + timedelta(days=10),
                           name="Personeelsdag", actor=None)


@pytest.fixture
def elsewhere(db):  # type: ignore[no-untyped-def]
    other = MunicipalityFactory()
    return {"municipality": other, "account": sandbox_account(other, name="Elders"),
            "closing_day": closing_day_add(municipality=other, day=timezone.localdate() + timedelta(days=3), name="",
                                           actor=None)}


def all_urls(account: ChannelAccount, closing_day: ClosingDay) -> list[tuple[str, str]]:
    return [
        ("get", reverse("settings:hours")),
        ("post", reverse("settings:hours")),
        ("get", reverse("settings:hours-account", args=[account.pk])),
        ("post", reverse("settings:hours-account", args=[account.pk])),
        ("post", reverse("settings:closing-day-add")),
        ("post", reverse("settings:closing-day-delete", args=[closing_day.pk])),
        ("get", reverse("settings:crisis")),
        ("post", reverse("settings:crisis")),
    ]


# --- who may --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_are_refused_everywhere(municipality, a_channel, a_closing_day, role):
    client = client_for(municipality, role)
    audited = AuditEntry.objects.count()
    for method, url in all_urls(a_channel, a_closing_day):
        data = hours_form(day0_period1="09:00-17:00") if method == "post" else None
        assert getattr(client, method)(url, data).status_code == 403, (method, url)
    assert rows() == [] and ClosingDay.objects.filter(pk=a_closing_day.pk).exists()
    assert AuditEntry.objects.count() == audited


def test_anonymous_visitors_are_sent_to_log_in(client, a_channel, a_closing_day):
    for method, url in all_urls(a_channel, a_closing_day):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login" in response["Location"], (method, url)


def test_an_admin_sees_every_page_and_the_navigation_marks_it(municipal_admin_client, a_channel):
    for name, args, section in (("settings:hours", [], "hours"), ("settings:hours-account", [a_channel.pk], "hours"),
                                ("settings:crisis", [], "crisis")):
        page = municipal_admin_client.get(reverse(name, args=args))
        assert page.status_code == 200, name
        assert page.context["settings_section"] == section
    page = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    assert f'href="{reverse("settings:hours")}" aria-current="page"' in page
    assert f'href="{reverse("settings:hours-account", args=[a_channel.pk])}"' in page


def test_changes_are_post_only(municipal_admin_client, a_closing_day):
    for url in (reverse("settings:closing-day-add"), reverse("settings:closing-day-delete", args=[a_closing_day.pk])):
        assert municipal_admin_client.get(url).status_code == 405
    assert ClosingDay.objects.filter(pk=a_closing_day.pk).exists()


def test_another_municipalitys_channels_and_closing_days_are_not_found(municipal_admin_client, elsewhere):
    account, closing_day = elsewhere["account"], elsewhere["closing_day"]
    audited = AuditEntry.objects.count()
    url = reverse("settings:hours-account", args=[account.pk])
    assert municipal_admin_client.get(url).status_code == 404
    assert municipal_admin_client.post(url, {**week(day0_period1="09:00-17:00")}).status_code == 404
    assert municipal_admin_client.post(
        reverse("settings:closing-day-delete", args=[closing_day.pk])).status_code == 404
    assert ClosingDay.objects.filter(pk=closing_day.pk).exists() and rows(account) == []
    assert AuditEntry.objects.count() == audited
    page = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    assert f'data-account="{account.pk}"' not in page and f'data-closing-day="{closing_day.pk}"' not in page


# --- the municipality's week ------------------------------------------------------------------------------------------
def test_hours_and_options_are_saved_and_audited(municipality, municipal_admin, municipal_admin_client):
    response = municipal_admin_client.post(reverse("settings:hours"), hours_form(
        {"closed_on_good_friday": "on", "out_of_hours_reply": "on", "out_of_hours_text_nl": "Wij zijn dicht.",
         "out_of_hours_text_en": ""},
        day0_period1="09:00-12:30", day0_period2="13:30-17:00", day4_period1="09:00-12:00"))
    assert response.status_code == 302 and response["Location"] == reverse("settings:hours")
    assert rows() == [(0, "09:00", "12:30"), (0, "13:30", "17:00"), (4, "09:00", "12:00")]
    municipality.refresh_from_db()
    assert municipality.closed_on_good_friday and municipality.closed_on_liberation_day
    assert municipality.out_of_hours_reply and municipality.out_of_hours_text_nl == "Wij zijn dicht."
    entry = AuditEntry.objects.get(action="hours.changed")
    assert entry.actor == municipal_admin and entry.target_type == "Municipality"
    assert entry.changes == {"hours": ["", "ma 09:00-12:30, 13:30-17:00; vr 09:00-12:00"]}
    options = AuditEntry.objects.get(action="hours.settings_changed")
    assert options.changes["closed_on_good_friday"] == [False, True]
    assert options.changes["out_of_hours_text_nl"] == ["", "Wij zijn dicht."]
    # The saved week comes back in the editor.
    page = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    assert 'name="day0_period2_opens" value="13:30"' in page and 'name="day4_period1_closes" value="12:00"' in page


def test_saving_the_same_week_again_records_nothing(municipality, municipal_admin_client):
    data = hours_form(day1_period1="08:30-16:30")
    municipal_admin_client.post(reverse("settings:hours"), data)
    municipal_admin_client.post(reverse("settings:hours"), data)
    assert AuditEntry.objects.filter(action="hours.changed").count() == 1


def test_emptying_the_week_means_always_open(municipality, municipal_admin_client):
    opening_hours_set(municipality=municipality, periods=[Period(0, time(9), time(17))], actor=None)
    assert municipal_admin_client.post(reverse("settings:hours"), hours_form()).status_code == 302
    assert rows() == []
    assert AuditEntry.objects.filter(action="hours.changed").latest("pk").changes == {"hours": ["ma 09:00-17:00", ""]}
    page = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    assert 'data-always-open="true"' in page


@pytest.mark.parametrize("periods, field", [
    ({"day0_period1": "09:00-13:00", "day0_period2": "12:00-17:00"}, "day0_period2_opens"),  # overlap
    ({"day2_period1": "17:00-09:00"}, "day2_period1_closes"),  # closes before it opens
    ({"day3_period1": "09:00-09:00"}, "day3_period1_closes"),  # closes when it opens
    ({"day4_period1": "09:00-"}, "day4_period1_closes"),  # half a period
    ({"day5_period2": "-12:00"}, "day5_period2_opens"),
    ({"day6_period1": "9 uur-17:00"}, "day6_period1_opens"),  # not a time
])
def test_invalid_hours_are_refused_on_the_period_concerned(municipality, municipal_admin_client, periods, field):
    opening_hours_set(municipality=municipality, periods=[Period(0, time(9), time(17))], actor=None)
    audited = AuditEntry.objects.count()
    response = municipal_admin_client.post(reverse("settings:hours"),
                                           hours_form({"out_of_hours_reply": "on"}, **periods))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="form-errors"' in page
    assert f'aria-invalid="true" aria-describedby="id_{field}_error"' in page
    assert f'id="id_{field}_error"' in page
    assert rows() == [(0, "09:00", "17:00")]
    municipality.refresh_from_db()
    assert not municipality.out_of_hours_reply  # nothing of a refused form is saved
    assert AuditEntry.objects.count() == audited


def test_the_page_lists_this_and_next_years_holidays_with_the_options(municipality, municipal_admin_client):
    year = timezone.localdate().year
    page = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    for day in (date(year, 1, 1), date(year, 12, 25), date(year + 1, 12, 26), date(year, 5, 5), date(year + 1, 5, 5)):
        assert f'data-date="{day:%Y-%m-%d}"' in page, day
    assert page.count('<tr data-date="') >= 20
    # Good Friday only with its option (its date is checked in test_holidays).
    friday = good_friday_of(year + 1)
    assert f'<tr data-date="{friday:%Y-%m-%d}"' not in page
    municipality.closed_on_good_friday = True
    municipality.save(update_fields=["closed_on_good_friday"])
    page = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    assert f'<tr data-date="{friday:%Y-%m-%d}"' in page


def test_the_preview_shows_the_reply_with_the_next_opening(municipality, municipal_admin_client):
    municipality.out_of_hours_reply = True
    municipality.out_of_hours_text_nl = "Wij zijn dicht tot {opening}, sorry."
    municipality.save(update_fields=["out_of_hours_reply", "out_of_hours_text_nl"])
    page = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    assert 'id="out-of-hours-preview"' in page and "<blockquote" not in page  # no hours: no reply
    opening_hours_set(municipality=municipality, periods=[Period(day, time(9), time(17)) for day in range(7)],
                      actor=None)
    page = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    preview = page[page.index('id="out-of-hours-preview"'):]
    preview = preview[:preview.index("</div>")]
    assert 'data-language="nl">Wij zijn dicht tot ' in preview and ", sorry." in preview
    assert "{opening}" not in preview
    assert 'data-language="en"' in preview and "09:00" in preview


# --- a channel's own hours -------------------------------------------------------------------------------------------
def test_a_channel_gets_its_own_hours_and_can_return_to_the_municipalitys(municipality, municipal_admin,
                                                                         municipal_admin_client, a_channel):
    opening_hours_set(municipality=municipality, periods=[Period(0, time(9), time(17))], actor=None)
    url = reverse("settings:hours-account", args=[a_channel.pk])
    page = municipal_admin_client.get(url).content.decode()
    assert 'data-own-hours="false"' in page and 'id="id_use_municipality_hours" checked' in page
    response = municipal_admin_client.post(url, week(day0_period1="18:00-21:00", day3_period1="18:00-21:00"))
    assert response.status_code == 302 and response["Location"] == url
    assert rows(a_channel) == [(0, "18:00", "21:00"), (3, "18:00", "21:00")]
    assert rows() == [(0, "09:00", "17:00")]  # the municipality's stay
    entry = AuditEntry.objects.get(action="hours.changed", actor=municipal_admin)
    assert (entry.actor, entry.target_type, entry.target_id) == (municipal_admin, "ChannelAccount", str(a_channel.pk))
    assert entry.changes == {"hours": ["", "ma 18:00-21:00; do 18:00-21:00"]}
    overview = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    assert f'data-account="{a_channel.pk}" data-own-hours="true"' in overview
    # Back to the municipality's hours: the channel's own are removed.
    response = municipal_admin_client.post(url, {**week(day0_period1="18:00-21:00"), "use_municipality_hours": "on"})
    assert response.status_code == 302
    assert rows(a_channel) == [] and rows() == [(0, "09:00", "17:00")]
    assert AuditEntry.objects.filter(action="hours.changed").latest("pk").changes == {
        "hours": ["ma 18:00-21:00; do 18:00-21:00", ""]}


def test_a_channel_without_the_municipalitys_hours_needs_hours_of_its_own(municipal_admin_client, a_channel):
    audited = AuditEntry.objects.count()  # the channel's creation
    response = municipal_admin_client.post(reverse("settings:hours-account", args=[a_channel.pk]), week())
    assert response.status_code == 200 and 'id="form-errors"' in response.content.decode()
    response = municipal_admin_client.post(reverse("settings:hours-account", args=[a_channel.pk]),
                                           week(day0_period1="10:00-12:00", day0_period2="11:00-13:00"))
    assert response.status_code == 200
    assert 'aria-invalid="true" aria-describedby="id_day0_period2_opens_error"' in response.content.decode()
    assert rows(a_channel) == [] and AuditEntry.objects.count() == audited


# --- closing days ------------------------------------------------------------------------------------------------------
def test_closing_days_are_added_and_removed_with_audit(municipality, municipal_admin, municipal_admin_client):
    day = timezone.localdate() + timedelta(days=20)
    response = municipal_admin_client.post(reverse("settings:closing-day-add"),
                                           {"day": day.isoformat(), "name": " Dag na  Hemelvaart "})
    assert response.status_code == 302 and response["Location"] == reverse("settings:hours")
    closing_day = ClosingDay.objects.get(municipality=municipality)
    assert (closing_day.date, closing_day.name) == (day, "Dag na Hemelvaart")
    added = AuditEntry.objects.get(action="closing_day.added")
    assert added.actor == municipal_admin and added.changes["date"] == [None, day.isoformat()]
    page = municipal_admin_client.get(reverse("settings:hours")).content.decode()
    assert f'data-closing-day="{closing_day.pk}" data-date="{day:%Y-%m-%d}"' in page and "Dag na Hemelvaart" in page

    response = municipal_admin_client.post(reverse("settings:closing-day-delete", args=[closing_day.pk]))
    assert response.status_code == 302 and not ClosingDay.objects.exists()
    removed = AuditEntry.objects.get(action="closing_day.removed")
    assert removed.actor == municipal_admin and removed.changes["date"] == [day.isoformat(), None]


@pytest.mark.parametrize("posted", [
    {"day": "", "name": "Zonder datum"},
    {"day": "31-02-2030", "name": "Geen datum"},
    {"day": (timezone.localdate() - timedelta(days=2)).isoformat(), "name": "Voorbij"},
])
def test_a_closing_day_needs_a_coming_date(municipality, municipal_admin_client, posted):
    response = municipal_admin_client.post(reverse("settings:closing-day-add"), posted)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="closing-day-errors"' in page and 'aria-describedby="id_day_error"' in page
    assert not ClosingDay.objects.exists() and not AuditEntry.objects.filter(action="closing_day.added").exists()


def test_a_closing_day_is_added_once(municipality, municipal_admin_client, a_closing_day):
    response = municipal_admin_client.post(reverse("settings:closing-day-add"),
                                           {"day": a_closing_day.date.isoformat(), "name": "Nog eens"})
    assert response.status_code == 200 and 'aria-describedby="id_day_error"' in response.content.decode()
    assert ClosingDay.objects.count() == 1
    assert AuditEntry.objects.filter(action="closing_day.added").count() == 1  # the fixture's


# --- accessibility ---------------------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.stack
@pytest.mark.parametrize("language", ["nl-NL", "en-GB"])
def test_the_pages_meet_wcag_21_aa_also_with_errors(live_stack, browser, language):
    municipality = MunicipalityFactory()
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN).user
    account = sandbox_account(municipality, name="Chat")
    opening_hours_set(municipality=municipality, periods=[Period(0, time(9), time(17))], actor=None)
    closing_day_add(municipality=municipality, day=timezone.localdate() + timedelta(days=5), name="Personeelsdag",
                    actor=None)
    crisis_set(municipality=municipality, active=True, message_nl="Storm.", message_en="Storm.", actor=admin)

    page = browser.new_context(locale=language).new_page()
    page.goto(f"{live_stack}/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "correct-horse-battery")
    page.locator("button[type=submit]").click()
    page.wait_for_selector("#main")
    page.goto(f"{live_stack}{reverse('settings:hours')}")
    assert_accessible(page, "hours")
    page.fill("#id_day1_period1_opens", "17:00")
    page.fill("#id_day1_period1_closes", "09:00")
    page.locator("#hours-form button[type=submit]").click()
    page.wait_for_selector("#form-errors")
    assert_accessible(page, "hours with errors")
    page.goto(f"{live_stack}{reverse('settings:hours-account', args=[account.pk])}")
    assert_accessible(page, "channel hours")
    page.goto(f"{live_stack}{reverse('settings:crisis')}")
    page.wait_for_selector("#crisis-banner")
    assert_accessible(page, "crisis mode")
