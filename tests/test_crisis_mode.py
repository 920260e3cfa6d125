"""Crisis mode: an admin switches it on in one POST; agents see the banner on every page (and open dashboards are
told at once); switching off hides it; only admins may switch it; every switch is in the audit log."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnidesk.audit.models import AuditEntry
from omnidesk.realtime.models import Event
from omnidesk.tenants.crisis import crisis_set
from omnidesk.tenants.models import Municipality, Role
from tests.conftest import run_async
from tests.factories import MembershipFactory, MunicipalityFactory

NL = "Door de storm is het gemeentehuis dicht. Kijk op www.gemeente.nl/storm."
EN = "The town hall is closed because of the storm. See www.gemeente.nl/storm."
SCRIPT = Path(__file__).resolve().parent.parent / "static" / "omnidesk" / "crisis.js"


def switch(client: Client, *, nl: str = NL, en: str = EN, action: str = "switch"):  # type: ignore[no-untyped-def]
    return client.post(reverse("settings:crisis"), {"action": action, "message_nl": nl, "message_en": en})


def banner(client: Client) -> str | None:
    """The text of the crisis banner on the agent's inbox page, or None without a banner."""
    page = client.get(reverse("dashboard:inbox"))
    assert page.status_code == 200
    found = re.search(r'<div([^>]*)id="crisis-banner"([^>]*)>(.*?)</div>', page.content.decode(), re.S)
    if not found or re.search(r"\shidden[\s>=]", f" {found.group(1)} {found.group(2)} "):
        return None  # no banner, or one kept hidden for the live script to show
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(3)).split())


def fresh(municipality: Municipality) -> Municipality:
    return Municipality.objects.get(pk=municipality.pk)


def client_for(municipality: Municipality, role: Role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(municipality=municipality, role=role).user)
    return client


@pytest.fixture
def agent_client(municipality, agent) -> Client:  # type: ignore[no-untyped-def]
    """The agent in a browser of their own (the shared `client` is the admin's here)."""
    client = Client()
    client.force_login(agent)
    return client


def test_an_admin_switches_crisis_mode_on_with_one_post_and_agents_see_the_banner(
        municipality, municipal_admin, municipal_admin_client, agent_client):
    assert banner(agent_client) is None
    response = switch(municipal_admin_client)
    assert response.status_code == 302 and response["Location"] == reverse("settings:crisis")
    municipality = fresh(municipality)
    assert municipality.crisis_active and municipality.crisis_since is not None
    assert (municipality.crisis_message_nl, municipality.crisis_message_en) == (NL, EN)
    entry = AuditEntry.objects.get(action="crisis.switched_on")
    assert entry.actor == municipal_admin and entry.municipality == municipality
    assert entry.changes["crisis_active"] == [False, True] and entry.changes["crisis_message_nl"] == ["", NL]
    assert NL in banner(agent_client)
    page = municipal_admin_client.get(reverse("settings:crisis")).content.decode()
    assert 'data-active="true"' in page and 'data-switch-to="off"' in page


def test_the_banner_follows_the_agents_language(municipality, municipal_admin, agent_client):
    crisis_set(municipality=municipality, active=True, message_nl=NL, message_en=EN, actor=municipal_admin)
    agent_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    text = banner(agent_client)
    assert EN in text and NL not in text


def test_switching_off_hides_the_banner(municipality, municipal_admin, municipal_admin_client, agent_client):
    crisis_set(municipality=municipality, active=True, message_nl=NL, message_en=EN, actor=municipal_admin)
    assert NL in banner(agent_client)
    assert switch(municipal_admin_client).status_code == 302  # the same button, now switching off
    municipality = fresh(municipality)
    assert not municipality.crisis_active and municipality.crisis_since is None
    assert municipality.crisis_message_nl == NL  # kept for the next time
    assert banner(agent_client) is None
    entry = AuditEntry.objects.get(action="crisis.switched_off")
    assert entry.actor.pk == municipal_admin.pk and entry.changes["crisis_active"] == [True, False]


def test_changing_the_message_while_on_keeps_it_on_and_is_audited(municipality, municipal_admin,
                                                                  municipal_admin_client, agent_client):
    crisis_set(municipality=municipality, active=True, message_nl=NL, message_en=EN, actor=municipal_admin)
    since = fresh(municipality).crisis_since
    assert switch(municipal_admin_client, nl="Het water zakt. Blijf uit de buurt van de dijk.",
                  action="save").status_code == 302
    municipality = fresh(municipality)
    assert municipality.crisis_active and municipality.crisis_since == since
    assert "Het water zakt." in banner(agent_client)
    entry = AuditEntry.objects.get(action="crisis.message_changed")
    assert entry.changes == {"crisis_message_nl": [NL, "Het water zakt. Blijf uit de buurt van de dijk."]}
    # Saving without a change records nothing.
    switch(municipal_admin_client, nl="Het water zakt. Blijf uit de buurt van de dijk.", action="save")
    assert AuditEntry.objects.filter(action__startswith="crisis.").count() == 2


def test_crisis_mode_cannot_be_switched_on_without_a_message(municipality, municipal_admin_client, agent_client):
    response = switch(municipal_admin_client, nl="  ", en="")
    assert response.status_code == 200
    assert 'id="form-errors"' in response.content.decode()
    assert not fresh(municipality).crisis_active
    assert not AuditEntry.objects.filter(action__startswith="crisis.").exists()
    assert banner(agent_client) is None


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_cannot_switch_it(municipality, municipal_admin, role):
    client = client_for(municipality, role)
    assert client.get(reverse("settings:crisis")).status_code == 403
    assert switch(client).status_code == 403
    assert not fresh(municipality).crisis_active
    crisis_set(municipality=municipality, active=True, message_nl=NL, message_en=EN, actor=municipal_admin)
    assert switch(client).status_code == 403  # nor switch it off
    assert fresh(municipality).crisis_active
    assert AuditEntry.objects.filter(action__startswith="crisis.").count() == 1


def test_anonymous_visitors_are_sent_to_log_in(client, municipality):
    for response in (client.get(reverse("settings:crisis")), switch(client)):
        assert response.status_code == 302 and "/login" in response["Location"]
    assert not fresh(municipality).crisis_active


def test_only_the_admins_own_municipality_goes_into_crisis_mode(municipality, municipal_admin_client):
    other = MunicipalityFactory()
    other_agent = client_for(other, Role.AGENT)
    switch(municipal_admin_client)
    assert fresh(municipality).crisis_active and not fresh(other).crisis_active
    assert banner(other_agent) is None
    assert not Event.objects.filter(municipality=other, type="municipality.crisis").exists()


def test_each_switch_is_stored_as_a_realtime_event(municipality, municipal_admin):
    crisis_set(municipality=municipality, active=True, message_nl=NL, message_en="", actor=municipal_admin)
    crisis_set(municipality=municipality, active=False, message_nl=NL, message_en="", actor=municipal_admin)
    crisis_set(municipality=municipality, active=False, message_nl="Concept", message_en="", actor=municipal_admin)
    events = list(Event.objects.filter(type="municipality.crisis").order_by("pk"))
    assert [(e.payload["active"], e.payload["message_nl"]) for e in events] == [(True, NL), (False, NL)]
    assert events[0].payload["since"] and events[1].payload["since"] is None
    assert AuditEntry.objects.get(action="crisis.message_changed").changes == {"crisis_message_nl": [NL, "Concept"]}


# --- live --------------------------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("transactional_db")
def test_open_dashboards_are_told_at_once(municipality, agent, municipal_admin):
    from tests.test_realtime import dashboard, session_cookie

    admin_client = Client()
    admin_client.force_login(municipal_admin)
    cookie = session_cookie(agent)

    async def crisis_frame(socket) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        # Skip anything else the dashboard is sent (a catch-up, presence); frames may come one by one or in a list.
        for _attempt in range(5):
            received = await socket.receive_json_from(timeout=10)
            for frame in received.get("events") or received.get("frames") or [received]:
                if frame.get("type") == "municipality.crisis":
                    return frame
        raise AssertionError("no municipality.crisis frame")

    async def scenario() -> list[dict[str, Any]]:
        socket = dashboard(municipality.pk, cookie)
        assert (await socket.connect(timeout=10))[0]
        frames = []
        for _switch in ("on", "off"):
            response = await database_sync_to_async(switch)(admin_client)
            assert response.status_code == 302
            frames.append(await crisis_frame(socket))
        await socket.disconnect()
        return frames

    on, off = run_async(scenario)
    assert on["data"]["active"] is True and on["data"]["message_nl"] == NL and on["data"]["message_en"] == EN
    assert off["data"]["active"] is False


@pytest.mark.browser
def test_the_banner_script_shows_updates_and_hides_the_banner(page):
    page.set_content('<html lang="nl"><body><header class="topbar">Omnidesk</header><main></main></body></html>')
    page.add_script_tag(path=str(SCRIPT))

    def fire(data: dict[str, Any]) -> None:
        page.evaluate("data => document.dispatchEvent(new CustomEvent('omnidesk:event', "
                      "{detail: {id: 7, type: 'municipality.crisis', data}}))", data)

    assert page.locator("#crisis-banner").count() == 0
    fire({"active": True, "message_nl": NL, "message_en": EN, "since": "2026-11-29T10:00:00+01:00"})
    assert page.locator("#crisis-banner").is_visible()
    assert page.locator("#crisis-banner").inner_text() == NL
    assert page.locator("#crisis-banner").get_attribute("role") == "alert"
    assert page.evaluate("document.querySelector('header.topbar').nextElementSibling.id") == "crisis-banner"
    fire({"active": True, "message_nl": "", "message_en": EN, "since": None})  # Dutch missing: the English
    assert page.locator("#crisis-banner").inner_text() == EN
    page.evaluate("document.dispatchEvent(new CustomEvent('omnidesk:event', {detail: {id: 8, type: 'ticket.updated',"
                  " data: {active: false}}}))")  # another event type changes nothing
    assert page.locator("#crisis-banner").is_visible()
    fire({"active": False, "message_nl": NL, "message_en": EN, "since": None})
    assert not page.locator("#crisis-banner").is_visible()


@pytest.mark.browser
def test_the_banner_script_keeps_the_servers_label(page):
    page.set_content('<html lang="en"><body><header class="topbar"></header><div class="crisis-banner" role="alert" '
                     'id="crisis-banner"><strong>Crisis mode:</strong> old message</div></body></html>')
    page.add_script_tag(path=str(SCRIPT))
    page.evaluate("document.dispatchEvent(new CustomEvent('omnidesk:event', {detail: {id: 1, type: "
                  "'municipality.crisis', data: {active: true, message_nl: 'nieuw', message_en: 'new message'}}}))")
    assert page.locator("#crisis-banner").inner_text() == "Crisis mode: new message"
    assert page.locator("#crisis-banner").count() == 1
