"""Canned responses: variables filled for a ticket, scoped by municipality, found by shortcut, picked in the composer."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import translation
from playwright.sync_api import Browser, Page, expect

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.responses.models import CannedResponse
from omnidesk.responses.rendering import render, ticket_values
from omnidesk.responses.selectors import responses_matching
from omnidesk.responses.services import EXAMPLES, canned_response_create, canned_response_update
from omnidesk.tenants.models import Municipality, Role
from omnidesk.tenants.services import agent_create
from omnidesk.tickets.models import Ticket
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import MunicipalityFactory, UserFactory, sandbox_account

GREETING = "Goedendag {resident_name}, u spreekt met {agent_name} van {municipality} (ticket {ticket_number})."


def make_ticket(account: ChannelAccount, name: str = "Fatima el Amrani") -> Ticket:
    """A ticket in the account's municipality, the way one really starts: a resident's message."""
    before = set(Ticket.objects.values_list("pk", flat=True))
    payload = {"id": new_resident_id(), "text": "Wanneer wordt mijn container geleegd?", "name": name}
    assert post_sandbox(Client(), account, payload).status_code == 200
    return Ticket.objects.exclude(pk__in=before).get()


def add(municipality: Municipality, shortcut: str, title: str = "", body: str = "Tekst") -> CannedResponse:
    return canned_response_create(municipality=municipality, shortcut=shortcut, title=title or shortcut.title(),
                                  body=body)


def search(client: Client, ticket: int | str, q: str = "", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.get("/responses/", {"ticket": ticket, "q": q}, headers=headers or {})


# --- rendering -------------------------------------------------------------------------------------
def test_every_variable_is_filled_for_the_ticket_and_agent(account, agent):
    agent.first_name, agent.last_name = "Anna", "de Vries"
    ticket = make_ticket(account, name="Fatima el Amrani")
    text = render(GREETING, ticket_values(ticket=ticket, agent=agent))
    assert text == (f"Goedendag Fatima el Amrani, u spreekt met Anna de Vries van {account.municipality.name} "
                    f"(ticket {ticket.number}).")


def test_an_agent_without_a_full_name_is_named_by_username(account):
    ticket = make_ticket(account)
    user = UserFactory(username="bram", first_name="", last_name="")
    assert render("{agent_name}", ticket_values(ticket=ticket, agent=user)) == "bram"


@pytest.mark.parametrize("name", ["", "   "])
def test_a_resident_without_a_name_is_called_resident_in_the_agents_language(account, agent, name):
    ticket = make_ticket(account, name="Piet")
    ticket.contact.display_name = name
    with translation.override("en"):
        assert render("Hello {resident_name},", ticket_values(ticket=ticket, agent=agent)) == "Hello resident,"
    with translation.override("nl"):
        expected = translation.gettext("resident")  # "inwoner" once translated
        assert render("{resident_name}", ticket_values(ticket=ticket, agent=agent)) == expected


def test_other_braces_are_left_exactly_as_written():
    values = {"resident_name": "Piet", "agent_name": "Anna", "municipality": "Lindeveld", "ticket_number": "7"}
    body = "{unknown} {} { resident_name } {RESIDENT_NAME} {0} {resident_name!r} {x.__class__} {{ } }} {"
    assert render(body, values) == body
    assert render("{{resident_name}}", values) == "{Piet}"  # no escaping: a variable in braces is still a variable


def test_a_value_that_looks_like_a_variable_is_not_expanded_again():
    values = {"resident_name": "{agent_name}", "agent_name": "Anna"}
    assert render("{resident_name} / {agent_name}", values) == "{agent_name} / Anna"


# --- the endpoint ------------------------------------------------------------------------------------
def test_the_endpoint_renders_the_responses_for_the_ticket(agent_client, agent, account):
    ticket = make_ticket(account, name="Fatima el Amrani")
    add(account.municipality, "groet", "Begroeting", GREETING)
    response = search(agent_client, ticket.number, "gro")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    assert response.json() == {"responses": [{
        "shortcut": "groet", "title": "Begroeting",
        "text": f"Goedendag Fatima el Amrani, u spreekt met {agent.get_full_name()} van {account.municipality.name} "
                f"(ticket {ticket.number}).",
    }]}


def test_the_endpoint_falls_back_to_resident_in_the_request_language(agent_client, account):
    ticket = make_ticket(account, name="")
    add(account.municipality, "hoi", body="Hoi {resident_name}!")
    english = search(agent_client, ticket.number, headers={"Accept-Language": "en"}).json()
    assert english["responses"][0]["text"] == "Hoi resident!"
    with translation.override("nl"):
        expected = f"Hoi {translation.gettext('resident')}!"
    assert search(agent_client, ticket.number).json()["responses"][0]["text"] == expected  # Dutch by default


def test_another_municipalitys_responses_are_never_listed(agent_client, account):
    ticket = make_ticket(account)
    other = MunicipalityFactory()
    add(other, "groet", "Van de buren", "Geheim")
    add(other, "geheim", "Geheim", "Geheim")
    add(account.municipality, "groet", "Begroeting", "Hallo")
    for q in ("", "gro", "geheim", "buren"):
        titles = [r["title"] for r in search(agent_client, ticket.number, q).json()["responses"]]
        assert "Van de buren" not in titles and "Geheim" not in titles
    assert [r["title"] for r in search(agent_client, ticket.number).json()["responses"]] == ["Begroeting"]


def test_another_municipalitys_ticket_is_not_found(agent_client, account):
    make_ticket(account)  # ours: number 1
    other_account = sandbox_account(MunicipalityFactory())
    make_ticket(other_account)
    theirs = make_ticket(other_account)  # theirs: numbers 1 and 2
    add(account.municipality, "groet")
    assert theirs.number == 2
    assert search(agent_client, theirs.number).status_code == 404
    assert search(agent_client, 1).status_code == 200


@pytest.mark.parametrize("ticket", ["", "abc", "-1", "1.0", "١", "9" * 12])
def test_a_missing_or_malformed_ticket_number_is_refused(agent_client, account, ticket):
    assert search(agent_client, ticket).status_code == 400


def test_anonymous_is_sent_to_log_in_and_a_non_member_is_refused(client, account):
    ticket = make_ticket(account)
    add(account.municipality, "groet", body="Hallo {resident_name}")
    response = search(client, ticket.number)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    client.force_login(UserFactory())  # logged in, but no member of any municipality
    assert search(client, ticket.number).status_code == 403


def test_only_get_is_allowed(agent_client, account):
    ticket = make_ticket(account)
    assert agent_client.post(f"/responses/?ticket={ticket.number}").status_code == 405


def test_at_most_twenty_responses_are_returned(agent_client, account):
    ticket = make_ticket(account)
    for i in range(25):
        add(account.municipality, f"antwoord-{i:02d}")
    shortcuts = [r["shortcut"] for r in search(agent_client, ticket.number).json()["responses"]]
    assert shortcuts == [f"antwoord-{i:02d}" for i in range(20)]


# --- matching ------------------------------------------------------------------------------------------
@pytest.fixture
def library(municipality) -> None:
    add(municipality, "groet", "Begroeting", "Goedendag {resident_name}.")
    add(municipality, "afsluiten", "Afsluiten", "Met vriendelijke groet, {agent_name}")
    add(municipality, "wachttijd", "Wachttijd", "Het is druk.")
    add(municipality, "paspoort", "Paspoort aanvragen", "Maak een afspraak via de website.")


def shortcuts(municipality: Municipality, q: str) -> list[str]:
    return [r.shortcut for r in responses_matching(municipality, q)]


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(("q", "expected"), [
    ("", ["afsluiten", "groet", "paspoort", "wachttijd"]),  # everything, by shortcut
    ("gro", ["groet", "afsluiten"]),  # shortcut prefix first, then a match in the text
    ("/gro", ["groet", "afsluiten"]),  # the "/" as typed is ignored
    ("GROET", ["groet", "afsluiten"]),
    ("wacht", ["wachttijd"]),
    ("aanvragen", ["paspoort"]),  # title
    ("AFSPRAAK", ["paspoort"]),  # text, any case
    ("tijd", ["wachttijd"]),  # the title contains it (a shortcut matches only from its start)
    ("oet", ["afsluiten", "groet"]),  # neither starts with it: both by text, in shortcut order
    ("xyz", []),
])
def test_a_query_matches_a_shortcut_prefix_or_the_title_or_text(municipality, q, expected):
    assert shortcuts(municipality, q) == expected


def test_the_middle_of_a_shortcut_alone_does_not_match(municipality):
    add(municipality, "tot-ziens", "Afscheid", "Dag!")
    assert shortcuts(municipality, "ziens") == []
    assert shortcuts(municipality, "tot-z") == ["tot-ziens"]


# --- the model's rules ------------------------------------------------------------------------------------
def test_a_shortcut_is_unique_within_a_municipality_only(municipality):
    add(municipality, "groet")
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        add(municipality, "groet")
    assert refused.value.messages == ["This municipality already has a canned response with this shortcut."]
    # The database holds the line too, also for writes that skip validation.
    with pytest.raises(IntegrityError), transaction.atomic():
        CannedResponse.objects.create(municipality=municipality, shortcut="groet", title="Dubbel", body="x")
    add(MunicipalityFactory(), "groet")  # the same shortcut elsewhere is fine
    assert CannedResponse.objects.filter(shortcut="groet").count() == 2


@pytest.mark.parametrize("shortcut", ["Groet", "met spatie", "met_underscore", "-groet", "groet-", "", "é", "a" * 41])
def test_a_shortcut_is_what_the_composer_can_type(municipality, shortcut):
    with pytest.raises(ValidationError) as refused:
        add(municipality, shortcut, title="Titel")
    assert "shortcut" in refused.value.message_dict


def test_the_text_is_at_most_5000_characters(municipality):
    add(municipality, "lang", body="x" * 5000)
    with pytest.raises(ValidationError) as refused:
        add(municipality, "te-lang", body="x" * 5001)
    assert "body" in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        CannedResponse.objects.create(municipality=municipality, shortcut="nog-langer", title="t", body="x" * 5001)


def test_an_update_is_validated_too(municipality):
    response = add(municipality, "groet")
    add(municipality, "hallo")
    with pytest.raises(ValidationError):
        canned_response_update(response=response, shortcut="hallo")
    assert response.shortcut == "groet"  # a refused change is not left behind on the instance
    with pytest.raises(TypeError):
        canned_response_update(response=response, municipality=MunicipalityFactory())  # type: ignore[arg-type]
    canned_response_update(response=response, title="Nieuwe titel")
    response.refresh_from_db()
    assert (response.shortcut, response.title) == ("groet", "Nieuwe titel")


# --- seeding ------------------------------------------------------------------------------------------------
def test_seeding_adds_the_examples_once_and_keeps_edits(municipality):
    call_command("seedresponses", municipality.slug)
    seeded = set(CannedResponse.objects.filter(municipality=municipality).values_list("shortcut", flat=True))
    assert seeded == {"groet", "afsluiten", "doorverwijzen", "wachttijd"} == {s for s, _t, _b in EXAMPLES}
    edited = CannedResponse.objects.get(municipality=municipality, shortcut="groet")
    canned_response_update(response=edited, body="Onze eigen begroeting, {resident_name}.")

    call_command("seedresponses", municipality.slug)
    assert CannedResponse.objects.filter(municipality=municipality).count() == 4
    edited.refresh_from_db()
    assert edited.body == "Onze eigen begroeting, {resident_name}."

    other = MunicipalityFactory()
    call_command("seedresponses", other.slug)
    assert CannedResponse.objects.filter(municipality=other).count() == 4


def test_seeding_an_unknown_municipality_fails_clearly(db):
    with pytest.raises(CommandError, match="no-such-place"):
        call_command("seedresponses", "no-such-place")


# --- admin and template ---------------------------------------------------------------------------------------
def test_staff_list_and_search_responses_in_the_admin(client, municipality):
    add(municipality, "groet", "Begroeting")
    add(municipality, "wachttijd", "Wachttijd")
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "pw-for-admin-only"))
    page = client.get("/admin/responses/cannedresponse/", {"q": "groet"}).content.decode()
    assert "Begroeting" in page and "Wachttijd" not in page
    assert client.get(f"/admin/responses/cannedresponse/?municipality__id__exact={municipality.pk}").status_code == 200


def test_the_composer_partial_has_the_listbox_the_hint_and_the_script():
    from django.template.loader import render_to_string

    html = render_to_string("dashboard/_canned.html")
    assert re.search(r'<div id="canned-list" class="canned-list" role="listbox" aria-label="[^"]+" '
                     r'data-url="/responses/" hidden></div>', html)
    assert 'id="canned-hint" class="visually-hidden"' in html
    assert re.search(r'<script src="/static/omnidesk/canned\.js[^"]*" defer></script>', html)
    assert re.search(r'<link rel="stylesheet" href="/static/omnidesk/canned\.css[^"]*">', html)


# --- in the browser --------------------------------------------------------------------------------------------
PASSWORD = "Paarse-Fiets-Regen-42"


def in_own_thread(function, *args):  # type: ignore[no-untyped-def]
    """Call a synchronous function that pushes realtime events: beside Playwright's event loop in this thread,
    async_to_sync refuses to run (the push would only be logged as failed)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def call():  # type: ignore[no-untyped-def]
        try:
            return function(*args)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=60)


def pick_greeting_with_the_keyboard(page: Page, base_url: str, ticket_number: int) -> None:
    """Open the ticket, type "/gro", choose with the arrow keys and Enter; Escape and plain Enter keep working."""
    page.goto(f"{base_url}/tickets/{ticket_number}/")
    expect(page.locator("#canned-list"), "the composer includes dashboard/_canned.html").to_have_count(1)
    composer = page.locator("#composer-text")
    listbox = page.get_by_role("listbox", name="Canned responses")
    expect(composer).to_have_attribute("aria-expanded", "false")
    expect(composer).to_have_attribute("aria-controls", "canned-list")
    expect(composer).to_have_attribute("aria-describedby", re.compile(r"\bcanned-hint\b"))

    composer.click()
    composer.press_sequentially("/gro")
    expect(listbox).to_be_visible()
    expect(composer).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    # /groet by its shortcut first, then /afsluiten, whose text says "groet".
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("Begroeting")
    expect(options.nth(0)).to_contain_text("/groet")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(composer).to_have_attribute("aria-activedescendant", options.nth(0).get_attribute("id") or "?")

    composer.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    composer.press("ArrowDown")  # wraps around
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    composer.press("ArrowUp")
    composer.press("ArrowUp")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    composer.press("Enter")

    greeting = "Goedendag Fatima el Amrani, u spreekt met Anna de Vries van Gemeente Lindeveld (ticket 1)."
    expect(composer).to_have_value(greeting)
    expect(listbox).to_be_hidden()
    expect(composer).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#composer-count")).to_contain_text(str(len(greeting)))  # the input event reached it
    composer.press("Control+z")  # the insertion is one step in the browser's undo history
    expect(composer).to_have_value("/gro")
    expect(listbox).to_be_hidden()
    composer.press("Control+Shift+z")
    expect(composer).to_have_value(greeting)

    # With the list closed, Enter is a new line again; Escape closes a list and Tab then leaves the field alone.
    composer.press("Enter")
    composer.press_sequentially("/wacht")
    expect(listbox.get_by_role("option")).to_have_count(1)
    composer.press("Escape")
    expect(listbox).to_be_hidden()
    composer.press("Enter")
    expect(composer).to_have_value(greeting + "\n/wacht\n")


@pytest.mark.browser
@pytest.mark.stack
def test_an_agent_picks_a_canned_response_with_the_keyboard(  # type: ignore[no-untyped-def]
    browser: Browser, live_stack: str, transactional_db
):
    municipality = MunicipalityFactory(name="Gemeente Lindeveld", slug="lindeveld")
    agent_create(municipality=municipality, username="anna", role=Role.AGENT, password=PASSWORD,
                 full_name="Anna de Vries")
    add(municipality, "groet", "Begroeting", GREETING)
    add(municipality, "afsluiten", "Afsluiten", "Met vriendelijke groet, {agent_name}")
    add(municipality, "wachttijd", "Wachttijd", "Het is even druk, {resident_name}.")
    # Committed (transactional_db), so the server process sees it.
    ticket = in_own_thread(make_ticket, sandbox_account(municipality), "Fatima el Amrani")

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{live_stack}/login/")
        page.locator("#id_username").fill("anna")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/$"))
        pick_greeting_with_the_keyboard(page, live_stack, ticket.number)

        # Ctrl+Enter still sends: the composed reply lands in the thread and the composer empties.
        composer = page.locator("#composer-text")
        composer.fill("")
        composer.press_sequentially("/gro")
        expect(page.get_by_role("listbox", name="Canned responses").get_by_role("option")).to_have_count(2)
        composer.press("Tab")  # Tab inserts too
        composer.press("Control+Enter")
        expect(page.locator("#thread .msg-outbound.msg-message .body")).to_have_text(
            ["Goedendag Fatima el Amrani, u spreekt met Anna de Vries van Gemeente Lindeveld (ticket 1)."])
        expect(composer).to_have_value("")
    finally:
        context.close()
