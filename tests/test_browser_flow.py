"""The whole conversation in real browsers: a resident on the simulator page, two agents on the dashboard.

Daphne and a Celery worker run as separate processes on the test database and Redis (`live_stack`), so
everything crosses processes the way it does in production: webhook -> worker -> dashboard websocket,
reply -> worker -> resident websocket.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from omnidesk.tenants.models import Role
from omnidesk.tenants.services import agent_create
from tests.factories import MunicipalityFactory, sandbox_account


PASSWORD = "Paarse-Fiets-Regen-42"
LIVE = 15_000  # ms: anything that travels webhook -> worker -> websocket must show within this
EN = {"lang": "en", "conversation": "Conversation", "unassigned": "Unassigned", "send_reply": "Send reply",
      "add_note": "Add internal note", "note": "Internal note", "delivered": "Delivered"}
NL = {"lang": "nl", "conversation": "Gesprek", "unassigned": "Niet toegewezen", "send_reply": "Antwoord versturen",
      "add_note": "Interne notitie toevoegen", "note": "Interne notitie", "delivered": "Afgeleverd"}


@pytest.fixture(autouse=True)
def _expect_timeout() -> None:
    expect.set_options(timeout=LIVE)


@pytest.fixture
def demo(transactional_db):  # type: ignore[no-untyped-def]
    municipality = MunicipalityFactory(name="Gemeente Lindeveld", slug="lindeveld")
    anna, _ = agent_create(municipality=municipality, username="anna", role=Role.AGENT, password=PASSWORD,
                           full_name="Anna de Vries")
    bram, _ = agent_create(municipality=municipality, username="bram", role=Role.AGENT, password=PASSWORD,
                           full_name="Bram Jansen")
    account = sandbox_account(municipality, name="Chat Lindeveld",
                              welcome_text="Welkom bij Gemeente Lindeveld. Stel hier uw vraag.")
    return {"municipality": municipality, "anna": anna, "bram": bram, "account": account}


def _context(browser: Browser, base_url: str, locale: str = "en-US") -> BrowserContext:
    context = browser.new_context(base_url=base_url, locale=locale, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(LIVE)
    return context


def _log_in(context: BrowserContext, username: str) -> Page:
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/$"))
    # The websocket is up: from here on nothing may be missed.
    expect(page.locator("#live-status")).to_have_class(re.compile(r"\bonline\b"))
    return page


def _mark_page(page: Page) -> None:
    """A marker that a navigation would wipe: proves an update arrived without a reload."""
    page.evaluate("window.__noReload = true")


def _not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"


@pytest.mark.browser
@pytest.mark.stack
def test_resident_and_two_agents_converse_live(browser: Browser, live_stack: str, demo) -> None:  # type: ignore[no-untyped-def]
    resident_ctx = _context(browser, live_stack, locale="nl-NL")
    anna_ctx = _context(browser, live_stack, locale="en-US")  # Anna works in English,
    bram_ctx = _context(browser, live_stack, locale="nl-NL")  # Bram in Dutch, the default.
    try:
        anna = _log_in(anna_ctx, "anna")
        bram = _log_in(bram_ctx, "bram")
        expect(anna.locator("#empty-inbox")).to_be_visible()
        _mark_page(anna)
        _mark_page(bram)

        # --- the resident writes ----------------------------------------------------------------
        resident = resident_ctx.new_page()
        resident.goto(f"/channels/sandbox/{demo['account'].public_id}/")
        expect(resident.locator(".welcome")).to_have_text("Welkom bij Gemeente Lindeveld. Stel hier uw vraag.")
        expect(resident.locator("#messages")).to_have_attribute("role", "log")
        expect(resident.locator("#connection")).to_have_class(re.compile(r"\bonline\b"))
        expect(resident.locator("#connection")).to_have_text("Verbonden")
        expect(resident.locator("html")).to_have_attribute("lang", "nl")
        resident.get_by_label(re.compile("naam|name", re.I)).fill("Fatima el Amrani")
        question = "Mijn groene container is vanochtend niet geleegd. Wanneer komen jullie alsnog?"
        resident.locator("#resident-text").fill(question)
        resident.locator("#send-form button[type=submit]").click()
        expect(resident.locator("#messages .bubble.inbound")).to_have_text([re.compile(re.escape(question))])
        expect(resident.locator("#messages .bubble.inbound .who")).to_have_text(["U"])  # nl: the resident's own words
        expect(resident.locator("#send-error")).to_be_hidden()

        # --- both agents see the ticket arrive, without a reload ----------------------------------
        for agent in (anna, bram):
            row = agent.locator("#ticket-list .ticket-row").filter(has_text="Fatima el Amrani")
            expect(row).to_have_count(1)
            expect(row.locator("[data-field=preview]")).to_contain_text("groene container")
            expect(agent.locator("#ticket-count")).to_have_text("1")
            expect(agent.locator("#empty-inbox")).to_be_hidden()
            _not_reloaded(agent)

        # --- both open it -------------------------------------------------------------------------
        for agent, words in ((anna, EN), (bram, NL)):
            agent.locator("#ticket-list .ticket-row a").filter(has_text="Fatima el Amrani").click()
            expect(agent.locator("#ticket-heading")).to_contain_text("Fatima el Amrani")
            expect(agent.locator("html")).to_have_attribute("lang", words["lang"])
            thread = agent.get_by_role("log", name=words["conversation"])
            expect(thread.locator(".msg-inbound .body")).to_have_text([question])
            expect(agent.locator("#ticket-assignee")).to_have_text(words["unassigned"])
            expect(agent.locator("#live-status")).to_have_class(re.compile(r"\bonline\b"))
            expect(agent.locator(".ticket-row.current a")).to_have_attribute("aria-current", "page")
            _mark_page(agent)

        # --- Anna takes it; Bram sees that live ---------------------------------------------------
        anna.locator("#assign-me").click()
        expect(anna.locator("#ticket-assignee")).to_have_text("Anna de Vries")
        expect(anna.locator("#assign-me")).to_be_disabled()
        expect(bram.locator("#ticket-assignee")).to_have_text("Anna de Vries")
        expect(bram.locator("#assign-me")).to_be_enabled()
        expect(bram.locator("#assignee-select")).to_have_value(str(demo["anna"].pk))
        expect(bram.locator(".ticket-row.current [data-field=assignee_name]")).to_have_text("Anna de Vries")
        expect(bram.locator("#thread .msg-event")).to_contain_text(["Anna de Vries heeft dit ticket opgepakt"])

        # --- Anna replies; the resident and Bram see it live -------------------------------------
        answer = "Goedemorgen Fatima, excuses! De wagen komt morgen vóór 12:00 uur alsnog langs."
        anna.locator("#composer-text").fill(answer)
        anna.get_by_role("button", name=EN["send_reply"]).click()
        expect(anna.locator("#composer-text")).to_have_value("")
        expect(anna.locator("#thread .msg-outbound.msg-message .body")).to_have_text([answer])
        expect(anna.locator("#thread .msg-outbound.msg-message [data-field=delivery_status]")).to_have_text(EN["delivered"])

        reply_bubble = resident.locator("#messages .bubble.outbound")
        expect(reply_bubble).to_have_count(1)
        expect(reply_bubble.locator(".text")).to_have_text(answer)
        expect(reply_bubble.locator(".who")).to_have_text("Anna de Vries")

        expect(bram.locator("#thread .msg-outbound.msg-message .body")).to_have_text([answer])
        expect(bram.locator(".ticket-row.current [data-field=preview]")).to_contain_text("De wagen komt morgen")

        # --- an internal note: the colleague sees it, the resident never does --------------------
        note = "Intern: route 7 had pech met de wagen, planning is ingelicht."
        anna.locator("#composer-text").fill(note)
        anna.get_by_role("button", name=EN["add_note"]).click()
        expect(anna.locator("#thread .msg-note .body")).to_have_text([note])
        expect(bram.locator("#thread .msg-note .body")).to_have_text([note])
        expect(bram.locator("#thread .msg-note .badge.note")).to_have_text(NL["note"])
        expect(bram.locator("#thread .msg-outbound.msg-message [data-field=delivery_status]")).to_have_text(NL["delivered"])

        # A later reply reaches the resident; the note, sent before it, has had every chance to leak.
        follow_up = "Laat u het weten als de container morgen nog vol staat?"
        anna.locator("#composer-text").fill(follow_up)
        anna.locator("#composer-text").press("Control+Enter")
        expect(resident.locator("#messages .bubble.outbound .text")).to_have_text([answer, follow_up])
        expect(resident.locator("#messages")).not_to_contain_text("route 7")
        expect(bram.locator("#thread .msg-outbound.msg-message .body")).to_have_text([answer, follow_up])
        for agent in (anna, bram):
            _not_reloaded(agent)

        # --- reloading the resident page keeps the history (and still no note) ------------------
        resident.reload()
        expect(resident.locator("#connection")).to_have_class(re.compile(r"\bonline\b"))
        expect(resident.locator("#messages .bubble .text")).to_have_text([question, answer, follow_up])
        expect(resident.locator("#messages .bubble.inbound")).to_have_count(1)
        expect(resident.locator("#messages")).not_to_contain_text("route 7")
        expect(resident.get_by_label(re.compile("naam|name", re.I))).to_have_value("Fatima el Amrani")

        # The same resident writes again after the reload: same ticket, shown live to the agents.
        again = "Top, dank u wel!"
        resident.locator("#resident-text").fill(again)
        resident.locator("#resident-text").press("Enter")
        expect(resident.locator("#messages .bubble .text")).to_have_text([question, answer, follow_up, again])
        expect(anna.locator("#thread .msg-inbound .body")).to_have_text([question, again])
        expect(bram.locator("#thread .msg-inbound .body")).to_have_text([question, again])
        expect(bram.locator("#ticket-count")).to_have_text("1")
        _not_reloaded(bram)
    finally:
        for context in (resident_ctx, anna_ctx, bram_ctx):
            context.close()


@pytest.mark.browser
@pytest.mark.stack
def test_a_long_thread_opens_at_the_latest_and_shows_earlier_messages_on_request(
        browser: Browser, live_stack: str, demo) -> None:  # type: ignore[no-untyped-def]
    from django.db import transaction

    from omnidesk.tickets.selectors import THREAD_PAGE
    from omnidesk.tickets.services import reaction_record
    from tests.accessibility import assert_accessible
    from tests.test_query_counts import inbound, resident

    identity = resident(demo["municipality"], "Priya Ramdin")
    messages = [inbound(demo["account"], identity, f"Bericht {n}") for n in range(THREAD_PAGE + 5)]
    context = _context(browser, live_stack)
    try:
        anna = _log_in(context, "anna")
        anna.goto(f"/tickets/{messages[0].ticket.number}/")
        thread = anna.locator("#thread")
        expect(thread.locator(".msg")).to_have_count(THREAD_PAGE)
        expect(thread.locator(f"#message-{messages[-1].pk}")).to_be_in_viewport()  # opens at the latest
        assert_accessible(anna, "a long thread with its link to earlier messages")
        expect(anna.locator("#live-status")).to_have_class(re.compile(r"\bonline\b"))
        _mark_page(anna)

        # A change to an earlier message that is not shown stays off the page; a new message joins at the end.
        with transaction.atomic():
            reaction_record(account=demo["account"], target_provider_id=messages[0].provider_message_id,
                            sender=identity.value, emoji="👍")
        latest = inbound(demo["account"], identity, "Nog iets")
        expect(thread.locator(".msg").last).to_have_id(f"message-{latest.pk}")
        expect(thread.locator(".msg")).to_have_count(THREAD_PAGE + 1)
        expect(thread.locator(f"#message-{messages[0].pk}")).to_have_count(0)
        _not_reloaded(anna)

        oldest_shown = messages[-THREAD_PAGE].pk
        anna.get_by_role("link", name="Show earlier messages").click()
        expect(anna).to_have_url(re.compile(rf"show={2 * THREAD_PAGE}#message-{oldest_shown}$"))
        expect(thread.locator(".msg")).to_have_count(THREAD_PAGE + 6)
        expect(thread.locator(f"#message-{oldest_shown}")).to_be_in_viewport()  # where the agent was reading
        expect(thread.locator(f"#message-{messages[0].pk} .reactions")).to_have_text("👍")
        expect(anna.get_by_role("link", name="Show earlier messages")).to_have_count(0)
    finally:
        context.close()


def test_pages_render_in_dutch_by_default_and_in_english_on_request(client, demo) -> None:  # type: ignore[no-untyped-def]
    resident_url = f"/channels/sandbox/{demo['account'].public_id}/"
    dutch = client.get(resident_url).content.decode()
    assert '<html lang="nl">' in dutch and "Uw naam" in dutch and "Gesprek" in dutch
    english = client.get(resident_url, headers={"Accept-Language": "en"}).content.decode()
    assert '<html lang="en">' in english and "Your name" in english and 'aria-label="Conversation"' in english

    login = client.get("/login/").content.decode()
    assert '<html lang="nl">' in login and "Inloggen bij Omnidesk" in login and "Wachtwoord" in login
    client.force_login(demo["anna"])
    inbox = client.get("/").content.decode()
    assert '<html lang="nl">' in inbox and "Geen tickets." in inbox and "Uitloggen" in inbox
    assert '"offline": "Opnieuw verbinden\\u2026"' in inbox  # the script's labels follow the page
    assert '<option value="en" lang="en">English</option>' in inbox

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    inbox = client.get("/").content.decode()
    assert '<html lang="en">' in inbox and "No tickets here." in inbox and "Log out" in inbox
    assert '"offline": "Reconnecting\\u2026"' in inbox
    assert '<option value="en" lang="en" selected>English</option>' in inbox
    assert '<option value="nl" lang="nl">Nederlands</option>' in inbox
