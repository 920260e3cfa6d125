"""Workflow settings pages: routing rules, canned responses, assignment and retention, per role and municipality."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from omnidesk.audit.models import AuditEntry
from omnidesk.responses.models import CannedResponse
from omnidesk.responses.services import canned_response_create
from omnidesk.tenants.models import Municipality, Role, Team
from omnidesk.tickets.models import Priority, RoutingRule, Status, Tag, Ticket
from omnidesk.tickets.rules_services import rule_create
from tests.conftest import post_sandbox
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account


@pytest.fixture
def team(municipality):  # type: ignore[no-untyped-def]
    return Team.objects.create(municipality=municipality, name="Burgerzaken")


@pytest.fixture
def a_rule(municipality, team):  # type: ignore[no-untyped-def]
    return rule_create(municipality=municipality, actor=None, name="Paspoort", keywords="paspoort", team=team)


@pytest.fixture
def a_response(municipality):  # type: ignore[no-untyped-def]
    return canned_response_create(municipality=municipality, shortcut="groet", title="Groet", body="Hallo")


@pytest.fixture
def elsewhere(db):  # type: ignore[no-untyped-def]
    """Another municipality with a rule and a response of its own."""
    other = MunicipalityFactory()
    other_team = Team.objects.create(municipality=other, name="Elders")
    return {
        "municipality": other,
        "team": other_team,
        "account": sandbox_account(other, name="Elders"),
        "rule": rule_create(municipality=other, actor=None, name="Elders", keywords="x", team=other_team),
        "response": canned_response_create(municipality=other, shortcut="groet", title="Groet", body="Elders"),
        "tag": Tag.objects.create(municipality=other, name="elders"),
    }


def client_for(municipality: Municipality, role: Role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(municipality=municipality, role=role).user)
    return client


PAGES = ["settings:rules", "settings:rule-add", "settings:responses", "settings:response-add", "settings:general",
         "settings:retention"]


def all_urls(rule: RoutingRule, response: CannedResponse) -> list[tuple[str, str]]:
    """(method, url) for every view of this area."""
    return [
        *[("get", reverse(name)) for name in PAGES],
        ("get", reverse("settings:rule-edit", args=[rule.pk])),
        ("get", reverse("settings:response-edit", args=[response.pk])),
        ("post", reverse("settings:rule-add")),
        ("post", reverse("settings:rule-edit", args=[rule.pk])),
        ("post", reverse("settings:rule-delete", args=[rule.pk])),
        ("post", reverse("settings:rule-move", args=[rule.pk])),
        ("post", reverse("settings:response-add")),
        ("post", reverse("settings:response-edit", args=[response.pk])),
        ("post", reverse("settings:response-delete", args=[response.pk])),
        ("post", reverse("settings:general")),
        ("post", reverse("settings:retention")),
    ]


# --- who may --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_are_refused_everywhere(municipality, a_rule, a_response, role):
    client = client_for(municipality, role)
    audited = AuditEntry.objects.count()
    for method, url in all_urls(a_rule, a_response):
        assert getattr(client, method)(url).status_code == 403, (method, url)
    assert RoutingRule.objects.filter(pk=a_rule.pk).exists() and CannedResponse.objects.filter(pk=a_response.pk).exists()
    assert AuditEntry.objects.count() == audited


def test_anonymous_visitors_are_sent_to_log_in(client, a_rule, a_response):
    for method, url in all_urls(a_rule, a_response):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login" in response["Location"], (method, url)


def test_an_admin_sees_every_page(municipal_admin_client, a_rule, a_response):
    urls = [reverse(name) for name in PAGES] + [reverse("settings:rule-edit", args=[a_rule.pk]),
                                               reverse("settings:response-edit", args=[a_response.pk])]
    for url in urls:
        assert municipal_admin_client.get(url).status_code == 200, url


@pytest.mark.parametrize("name, section", [("settings:rules", "rules"), ("settings:responses", "responses"),
                                           ("settings:general", "general"), ("settings:retention", "retention")])
def test_the_navigation_marks_the_current_section(municipal_admin_client, name, section):
    page = municipal_admin_client.get(reverse(name))
    assert page.context["settings_section"] == section
    assert f'href="{reverse(name)}" aria-current="page"' in page.content.decode()


def test_changes_are_post_only(municipal_admin_client, a_rule, a_response):
    for url in (reverse("settings:rule-delete", args=[a_rule.pk]), reverse("settings:rule-move", args=[a_rule.pk]),
                reverse("settings:response-delete", args=[a_response.pk])):
        assert municipal_admin_client.get(url).status_code == 405
    assert RoutingRule.objects.filter(pk=a_rule.pk).exists() and CannedResponse.objects.filter(pk=a_response.pk).exists()


def test_another_municipalitys_rules_and_responses_are_not_found(municipal_admin_client, elsewhere):
    rule, response = elsewhere["rule"], elsewhere["response"]
    audited = AuditEntry.objects.count()
    for method, url in [
        ("get", reverse("settings:rule-edit", args=[rule.pk])),
        ("post", reverse("settings:rule-edit", args=[rule.pk])),
        ("post", reverse("settings:rule-delete", args=[rule.pk])),
        ("post", reverse("settings:rule-move", args=[rule.pk])),
        ("get", reverse("settings:response-edit", args=[response.pk])),
        ("post", reverse("settings:response-edit", args=[response.pk])),
        ("post", reverse("settings:response-delete", args=[response.pk])),
    ]:
        assert getattr(municipal_admin_client, method)(url, {"direction": "up"} if method == "post" else None
                                                       ).status_code == 404, (method, url)
    rule.refresh_from_db()
    response.refresh_from_db()
    assert rule.name == "Elders" and response.body == "Elders"
    assert AuditEntry.objects.count() == audited
    pages = municipal_admin_client.get(reverse("settings:rules")).content.decode()
    assert f'data-rule="{rule.pk}"' not in pages
    assert f'data-response="{response.pk}"' not in municipal_admin_client.get(reverse("settings:responses")
                                                                             ).content.decode()


# --- routing rules --------------------------------------------------------------------------------------------------
def rule_data(**overrides: object) -> dict[str, object]:
    return {"name": "Paspoort", "active": "on", "keywords": "paspoort\nidentiteitskaart", "channel_account": "",
            "team": "", "tag": "", "priority": "", **overrides}


def test_an_admin_adds_a_rule_with_a_new_tag(municipal_admin_client, municipal_admin, municipality, account, team):
    response = municipal_admin_client.post(reverse("settings:rule-add"), rule_data(
        channel_account=account.pk, team=team.pk, tag="  Reis Document ", priority=Priority.HIGH))
    assert response.status_code == 302 and response["Location"] == reverse("settings:rules")
    rule = RoutingRule.objects.get(municipality=municipality)
    assert (rule.name, rule.channel_account, rule.team, rule.priority) == ("Paspoort", account, team, "high")
    assert rule.tag == Tag.objects.get(municipality=municipality, name="reis document")
    entry = AuditEntry.objects.get(action="rule.created")
    assert entry.actor == municipal_admin and entry.municipality == municipality
    assert entry.changes["team"] == [None, "Burgerzaken"] and entry.changes["tag"] == [None, "reis document"]
    listing = municipal_admin_client.get(reverse("settings:rules")).content.decode()
    assert f'data-rule="{rule.pk}"' in listing and "Burgerzaken" in listing


def test_an_existing_tag_is_reused(municipal_admin_client, municipality, team):
    existing = Tag.objects.create(municipality=municipality, name="afval")
    municipal_admin_client.post(reverse("settings:rule-add"), rule_data(tag="Afval"))
    assert RoutingRule.objects.get().tag == existing
    assert Tag.objects.filter(municipality=municipality).count() == 1


@pytest.mark.parametrize("field", ["channel_account", "team"])
def test_another_municipalitys_channel_or_team_cannot_be_chosen(municipal_admin_client, elsewhere, field):
    chosen = elsewhere["account"] if field == "channel_account" else elsewhere["team"]
    response = municipal_admin_client.post(reverse("settings:rule-add"), rule_data(**{field: chosen.pk, "tag": "x"}))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not RoutingRule.objects.exclude(municipality=elsewhere["municipality"]).exists()


def test_the_tag_suggestions_are_the_municipalitys_own(municipal_admin_client, municipality, elsewhere):
    Tag.objects.create(municipality=municipality, name="eigen-tag")
    page = municipal_admin_client.get(reverse("settings:rule-add")).content.decode()
    assert '<option value="eigen-tag">' in page and "elders" not in page


@pytest.mark.parametrize("data", [
    rule_data(tag="x", name=""),  # a name is required
    rule_data(),  # does nothing: no team, tag or priority
    rule_data(tag="x", keywords="paspoort\n!!!"),  # a keyword without a letter or digit
    rule_data(tag="x", keywords="a" * 101),
    rule_data(tag="x", priority="enormous"),
])
def test_an_invalid_rule_is_refused_with_the_errors_linked(municipal_admin_client, data):
    response = municipal_admin_client.post(reverse("settings:rule-add"), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert 'id="form-errors"' in response.content.decode()
    assert not RoutingRule.objects.exists() and not AuditEntry.objects.exists()


def test_a_field_error_is_tied_to_its_input(municipal_admin_client):
    page = municipal_admin_client.post(reverse("settings:rule-add"), rule_data(tag="x", name="")).content.decode()
    assert 'id="id_name_error"' in page
    assert 'aria-describedby="id_name_error"' in page and 'aria-invalid="true"' in page
    assert 'aria-describedby="id_keywords_helptext"' in page


def test_an_admin_edits_a_rule_and_the_change_is_audited(municipal_admin_client, municipal_admin, a_rule):
    page = municipal_admin_client.get(reverse("settings:rule-edit", args=[a_rule.pk])).content.decode()
    assert 'value="Paspoort"' in page
    response = municipal_admin_client.post(reverse("settings:rule-edit", args=[a_rule.pk]), rule_data(
        name="Reisdocumenten", active="", keywords="paspoort", team=a_rule.team_id))
    assert response.status_code == 302
    a_rule.refresh_from_db()
    assert (a_rule.name, a_rule.active, a_rule.keywords) == ("Reisdocumenten", False, "paspoort")
    entry = AuditEntry.objects.get(action="rule.updated")
    assert entry.actor == municipal_admin
    assert entry.changes == {"name": ["Paspoort", "Reisdocumenten"], "active": [True, False]}


def test_saving_a_rule_unchanged_writes_no_audit_entry(municipal_admin_client, a_rule):
    municipal_admin_client.post(reverse("settings:rule-edit", args=[a_rule.pk]), rule_data(
        keywords="paspoort", team=a_rule.team_id))
    assert not AuditEntry.objects.filter(action="rule.updated").exists()


def test_an_admin_deletes_a_rule(municipal_admin_client, municipal_admin, a_rule):
    response = municipal_admin_client.post(reverse("settings:rule-delete", args=[a_rule.pk]))
    assert response.status_code == 302
    assert not RoutingRule.objects.filter(pk=a_rule.pk).exists()
    entry = AuditEntry.objects.get(action="rule.deleted")
    assert entry.actor == municipal_admin and entry.target_id == str(a_rule.pk)
    assert entry.changes["name"] == ["Paspoort", None]


def test_rules_move_up_and_down(municipal_admin_client, municipal_admin, municipality, team):
    rules = [rule_create(municipality=municipality, actor=None, name=name, team=team) for name in "ABC"]

    def order() -> list[str]:
        return list(RoutingRule.objects.filter(municipality=municipality).order_by("position", "id")
                    .values_list("name", flat=True))

    move = lambda rule, direction: municipal_admin_client.post(  # noqa: E731
        reverse("settings:rule-move", args=[rule.pk]), {"direction": direction})
    assert move(rules[2], "up").status_code == 302
    assert order() == ["A", "C", "B"]
    move(rules[0], "down")
    assert order() == ["C", "A", "B"]
    move(rules[2], "up")  # already first: nothing happens
    move(rules[1], "down")  # already last
    assert order() == ["C", "A", "B"]
    assert move(rules[0], "sideways").status_code == 400
    entries = AuditEntry.objects.filter(action="rule.moved").order_by("id")
    assert [(e.target_label, e.changes["position"]) for e in entries] == [("C", [3, 2]), ("A", [1, 2])]
    assert all(e.actor == municipal_admin for e in entries)
    listing = municipal_admin_client.get(reverse("settings:rules")).content.decode()
    assert listing.index(f'data-rule="{rules[2].pk}"') < listing.index(f'data-rule="{rules[0].pk}"') < listing.index(
        f'data-rule="{rules[1].pk}"')


def test_a_rule_made_on_the_page_routes_the_next_ticket(municipal_admin_client, municipality, account, team):
    municipal_admin_client.post(reverse("settings:rule-add"), rule_data(team=team.pk, tag="reisdocument",
                                                                       priority="urgent"))
    assert post_sandbox(Client(), account, {"id": "1", "text": "Mijn identiteitskaart is gestolen"}).status_code == 200
    ticket = Ticket.objects.get(municipality=municipality)
    assert ticket.team == team and ticket.priority == "urgent"
    assert list(ticket.tags.values_list("name", flat=True)) == ["reisdocument"]


# --- canned responses -----------------------------------------------------------------------------------------------
def test_an_admin_adds_edits_and_deletes_a_canned_response(municipal_admin_client, municipal_admin, municipality):
    response = municipal_admin_client.post(reverse("settings:response-add"), {
        "shortcut": "afval", "title": "Afvalkalender", "body": "Kijk op de afvalkalender, {resident_name}."})
    assert response.status_code == 302 and response["Location"] == reverse("settings:responses")
    canned = CannedResponse.objects.get(municipality=municipality, shortcut="afval")
    assert canned.created_by == municipal_admin
    assert AuditEntry.objects.get(action="response.created").changes["shortcut"] == [None, "afval"]
    assert f'data-response="{canned.pk}"' in municipal_admin_client.get(reverse("settings:responses")).content.decode()

    edit = reverse("settings:response-edit", args=[canned.pk])
    assert "Kijk op de afvalkalender" in municipal_admin_client.get(edit).content.decode()
    assert municipal_admin_client.post(edit, {"shortcut": "afval", "title": "Afval",
                                              "body": "Kijk op de afvalkalender, {resident_name}."}).status_code == 302
    canned.refresh_from_db()
    assert canned.title == "Afval"
    updated = AuditEntry.objects.get(action="response.updated")
    assert updated.changes == {"title": ["Afvalkalender", "Afval"]} and updated.actor == municipal_admin

    assert municipal_admin_client.post(reverse("settings:response-delete", args=[canned.pk])).status_code == 302
    assert not CannedResponse.objects.filter(pk=canned.pk).exists()
    deleted = AuditEntry.objects.get(action="response.deleted")
    assert deleted.actor == municipal_admin and deleted.changes["shortcut"] == ["afval", None]


def test_a_taken_shortcut_is_refused_but_another_municipalitys_is_free(municipal_admin_client, municipality,
                                                                        a_response, elsewhere):
    audited = AuditEntry.objects.count()
    taken = municipal_admin_client.post(reverse("settings:response-add"),
                                        {"shortcut": "groet", "title": "Nog een", "body": "Tekst"})
    assert taken.status_code == 200 and taken.context["form"].errors
    assert CannedResponse.objects.filter(municipality=municipality).count() == 1
    # Renaming another response to a taken shortcut is refused too, and leaves it as it was.
    other = canned_response_create(municipality=municipality, shortcut="dag", title="Dag", body="Dag")
    refused = municipal_admin_client.post(reverse("settings:response-edit", args=[other.pk]),
                                          {"shortcut": "groet", "title": "Dag", "body": "Dag"})
    assert refused.status_code == 200 and refused.context["form"].errors
    other.refresh_from_db()
    assert other.shortcut == "dag"
    assert AuditEntry.objects.count() == audited
    # "groet" exists elsewhere too (the fixture), and that did not stand in the way of this municipality's own.
    assert CannedResponse.objects.filter(shortcut="groet").count() == 2


@pytest.mark.parametrize("data", [
    {"shortcut": "Met Spaties", "title": "T", "body": "B"},
    {"shortcut": "ok", "title": "", "body": "B"},
    {"shortcut": "ok", "title": "T", "body": ""},
    {"shortcut": "ok", "title": "T", "body": "x" * 5001},
])
def test_an_invalid_canned_response_is_refused(municipal_admin_client, data):
    response = municipal_admin_client.post(reverse("settings:response-add"), data)
    assert response.status_code == 200 and response.context["form"].errors
    assert not CannedResponse.objects.exists()


def test_the_list_shows_only_this_municipalitys_responses(municipal_admin_client, a_response, elsewhere):
    page = municipal_admin_client.get(reverse("settings:responses")).content.decode()
    assert f'data-response="{a_response.pk}"' in page and "Elders" not in page


# --- assignment -----------------------------------------------------------------------------------------------------
def test_assignment_settings_are_saved_and_audited(municipal_admin_client, municipal_admin, municipality):
    page = municipal_admin_client.get(reverse("settings:general"))
    assert page.context["form"].initial["auto_assign_cap"] == 10
    response = municipal_admin_client.post(reverse("settings:general"), {
        "auto_assign": "on", "auto_assign_cap": "4", "assignee_only_replies": "on", "reopen_window_days": "7"})
    assert response.status_code == 302 and response["Location"] == reverse("settings:general")
    municipality.refresh_from_db()
    assert (municipality.auto_assign, municipality.auto_assign_cap, municipality.assignee_only_replies,
            municipality.reopen_window_days) == (True, 4, True, 7)
    entry = AuditEntry.objects.get(action="municipality.assignment_changed")
    assert entry.actor == municipal_admin
    assert entry.changes == {"auto_assign": [False, True], "auto_assign_cap": [10, 4],
                             "assignee_only_replies": [False, True]}
    follow = municipal_admin_client.get(reverse("settings:general"))
    assert len(list(follow.context["messages"])) == 1  # the success message


@pytest.mark.parametrize("data", [
    {"auto_assign_cap": "0", "reopen_window_days": "7"},
    {"auto_assign_cap": "", "reopen_window_days": "7"},
    {"auto_assign_cap": "5", "reopen_window_days": "-1"},
    {"auto_assign_cap": "5", "reopen_window_days": "400"},
])
def test_invalid_assignment_settings_are_refused(municipal_admin_client, municipality, data):
    response = municipal_admin_client.post(reverse("settings:general"), data)
    assert response.status_code == 200 and response.context["form"].errors
    municipality.refresh_from_db()
    assert (municipality.auto_assign_cap, municipality.reopen_window_days) == (10, 7)
    assert not AuditEntry.objects.exists()


# --- retention ------------------------------------------------------------------------------------------------------
def test_retention_is_saved_audited_and_can_be_switched_off(municipal_admin_client, municipal_admin, municipality):
    assert municipal_admin_client.post(reverse("settings:retention"), {"retention_days": "365"}).status_code == 302
    municipality.refresh_from_db()
    assert municipality.retention_days == 365
    entry = AuditEntry.objects.get(action="municipality.retention_changed")
    assert entry.actor == municipal_admin and entry.changes == {"retention_days": [None, 365]}
    assert municipal_admin_client.post(reverse("settings:retention"), {"retention_days": ""}).status_code == 302
    municipality.refresh_from_db()
    assert municipality.retention_days is None
    assert AuditEntry.objects.filter(action="municipality.retention_changed").count() == 2


@pytest.mark.parametrize("value", ["29", "0", "-5", "abc", "36501"])
def test_a_retention_that_is_too_short_or_not_a_number_is_refused(municipal_admin_client, municipality, value):
    response = municipal_admin_client.post(reverse("settings:retention"), {"retention_days": value})
    assert response.status_code == 200 and response.context["form"].errors["retention_days"]
    municipality.refresh_from_db()
    assert municipality.retention_days is None


def test_the_retention_page_shows_how_many_tickets_would_go_now(municipal_admin_client, municipality, account, agent):
    from omnidesk.tickets.services import ticket_set_status

    for n, (status, age) in enumerate([(Status.RESOLVED, 100), (Status.CLOSED, 100), (Status.OPEN, 100),
                                       (Status.RESOLVED, 10)]):
        assert post_sandbox(Client(), account, {"id": str(n), "text": "Vraag"}).status_code == 200
        ticket = Ticket.objects.latest("id")
        if status != Status.OPEN:
            ticket_set_status(ticket=ticket, status=status, actor=agent)
        Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=timezone.now() - timedelta(days=age))
    page = municipal_admin_client.get(reverse("settings:retention"))
    assert page.context["expired_count"] is None  # kept for ever: nothing to count
    assert 'data-count=""' in page.content.decode()
    Municipality.objects.filter(pk=municipality.pk).update(retention_days=30)
    page = municipal_admin_client.get(reverse("settings:retention"))
    assert 'data-days="30" data-count="2"' in page.content.decode()
    assert page.context["form"].initial["retention_days"] == 30
    Municipality.objects.filter(pk=municipality.pk).update(retention_days=365)
    assert 'data-count="0"' in municipal_admin_client.get(reverse("settings:retention")).content.decode()
    assert Ticket.objects.count() == 4  # showing the count deletes nothing


# --- accessibility --------------------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.stack
def test_the_workflow_pages_meet_wcag_21_aa(live_stack, browser):
    from tests.accessibility import assert_accessible

    municipality = MunicipalityFactory(retention_days=90)
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN).user
    team = Team.objects.create(municipality=municipality, name="Burgerzaken")
    account = sandbox_account(municipality)
    for name in ("Paspoort", "Afval"):
        rule_create(municipality=municipality, actor=admin, name=name, keywords=f"{name.lower()}\nnog iets",
                    channel_account=account, team=team, priority=Priority.HIGH)
    canned_response_create(municipality=municipality, shortcut="groet", title="Groet", body="Goedendag {resident_name}")
    first_rule = RoutingRule.objects.filter(municipality=municipality).first()
    page = browser.new_context(locale="nl-NL").new_page()
    page.goto(f"{live_stack}/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "correct-horse-battery")
    page.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
    for path in [reverse("settings:rules"), reverse("settings:rule-add"),
                 reverse("settings:rule-edit", args=[first_rule.pk]), reverse("settings:responses"),
                 reverse("settings:response-add"), reverse("settings:general"), reverse("settings:retention")]:
        page.goto(f"{live_stack}{path}")
        page.wait_for_selector("h1")
        assert_accessible(page, path)
    # A form with its errors shown, too.
    page.goto(f"{live_stack}{reverse('settings:rule-add')}")
    page.locator("#rule-form button[type=submit]").click()
    page.wait_for_selector("#form-errors")
    assert_accessible(page, "rule form with errors")
