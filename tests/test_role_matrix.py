"""Every page of the product, for every role: who may open it (200), who may not (403), and that another
municipality's objects do not exist (404). The areas' own tests check the changes (POST) per role in detail; this
one keeps the whole map in one place, so a new page without a role check shows up here."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from omnidesk.hours.models import ClosingDay
from omnidesk.responses.models import CannedResponse
from omnidesk.tenants.models import Role, Team
from omnidesk.tickets.models import RoutingRule
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account

AGENT, SUPERVISOR, ADMIN = Role.AGENT, Role.SUPERVISOR, Role.ADMIN
EVERYONE = (AGENT, SUPERVISOR, ADMIN)


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    """Two municipalities with one of everything each; people of every role in the first."""
    ours, theirs = MunicipalityFactory(), MunicipalityFactory()
    objects = {}
    for name, municipality in (("ours", ours), ("theirs", theirs)):
        account = sandbox_account(municipality)
        team = Team.objects.create(municipality=municipality, name="Team")
        member = MembershipFactory(municipality=municipality, role=AGENT)
        objects[name] = {
            "account": account.pk, "team": team.pk, "member": member.pk,
            "rule": RoutingRule.objects.create(municipality=municipality, name="Regel").pk,
            "response": CannedResponse.objects.create(municipality=municipality, title="Groet", body="Hallo").pk,
            "closing_day": ClosingDay.objects.create(municipality=municipality, date="2030-01-02").pk,
        }
    people = {role: MembershipFactory(municipality=ours, role=role).user for role in EVERYONE}
    return {"people": people, **objects}


# (url name, kwargs from the municipality's objects, roles that may open it)
PAGES = [
    ("dashboard:inbox", {}, EVERYONE),
    ("reports:overview", {}, (SUPERVISOR, ADMIN)),
    ("reports:export", {}, (SUPERVISOR, ADMIN)),
    ("audit:list", {}, (ADMIN,)),
    ("audit:export", {}, (ADMIN,)),
    ("settings:overview", {}, (ADMIN,)),
    ("settings:channels", {}, (ADMIN,)),
    ("settings:channel-add", {}, (ADMIN,)),
    ("settings:channel-edit", {"pk": "account"}, (ADMIN,)),
    ("settings:channel-remove", {"pk": "account"}, (ADMIN,)),
    ("settings:sunset-contacts", {}, (ADMIN,)),
    ("settings:sunset-export", {}, (ADMIN,)),
    ("settings:users", {}, (ADMIN,)),
    ("settings:teams", {}, (ADMIN,)),
    ("settings:team-add", {}, (ADMIN,)),
    ("settings:team-edit", {"team_id": "team"}, (ADMIN,)),
    ("settings:hours", {}, (ADMIN,)),
    ("settings:hours-account", {"account_id": "account"}, (ADMIN,)),
    ("settings:crisis", {}, (ADMIN,)),
    ("settings:rules", {}, (ADMIN,)),
    ("settings:rule-add", {}, (ADMIN,)),
    ("settings:rule-edit", {"rule_id": "rule"}, (ADMIN,)),
    ("settings:responses", {}, (ADMIN,)),
    ("settings:response-add", {}, (ADMIN,)),
    ("settings:response-edit", {"response_id": "response"}, (ADMIN,)),
    ("settings:general", {}, (ADMIN,)),
    ("settings:retention", {}, (ADMIN,)),
]
# Changes to another municipality's objects, by its admin's counterpart in ours: all must be 404.
FOREIGN_CHANGES = [
    ("settings:channel-toggle", {"pk": "account"}),
    ("settings:channel-test", {"pk": "account"}),
    ("settings:channel-schedule", {"pk": "account"}),
    ("settings:channel-remove", {"pk": "account"}),
    ("settings:user-role", {"membership_id": "member"}),
    ("settings:user-remove", {"membership_id": "member"}),
    ("settings:team-delete", {"team_id": "team"}),
    ("settings:rule-delete", {"rule_id": "rule"}),
    ("settings:rule-move", {"rule_id": "rule"}),
    ("settings:response-delete", {"response_id": "response"}),
    ("settings:closing-day-delete", {"closing_day_id": "closing_day"}),
]


def _url(world, name: str, kwargs: dict[str, str], whose: str = "ours") -> str:  # type: ignore[no-untyped-def]
    return reverse(name, kwargs={key: world[whose][value] for key, value in kwargs.items()})


def _get(client: Client, url: str) -> int:
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    return response.status_code


@pytest.mark.parametrize("role", EVERYONE)
def test_each_role_opens_exactly_its_pages(world, role):
    client = Client()
    client.force_login(world["people"][role])
    wrong = {}
    for name, kwargs, allowed in PAGES:
        status = _get(client, _url(world, name, kwargs))
        if status != (200 if role in allowed else 403):
            wrong[name] = status
    assert wrong == {}


def test_nobody_logged_out_gets_in(world):
    client = Client()
    for name, kwargs, _allowed in PAGES:
        response = client.get(_url(world, name, kwargs))
        assert response.status_code == 302 and "/login/" in response["Location"], name


def test_another_municipalitys_objects_do_not_exist_for_an_admin(world):
    client = Client()
    client.force_login(world["people"][ADMIN])
    for name, kwargs, _allowed in PAGES:
        if kwargs:
            assert _get(client, _url(world, name, kwargs, "theirs")) == 404, name
    for name, kwargs in FOREIGN_CHANGES:
        assert client.post(_url(world, name, kwargs, "theirs"), {"enabled": "0", "direction": "up"}).status_code == 404, name


def test_the_settings_navigation_links_every_settings_area(world):
    client = Client()
    client.force_login(world["people"][ADMIN])
    page = client.get(reverse("settings:overview")).content.decode()
    navigation = page.split('class="settings-nav"')[1].split("</nav>")[0]
    for name in ("settings:channels", "settings:sunset-contacts", "settings:users", "settings:teams", "settings:hours",
                 "settings:crisis", "settings:rules", "settings:responses", "settings:general", "settings:retention",
                 "audit:list"):
        assert f'href="{reverse(name)}"' in navigation, name
