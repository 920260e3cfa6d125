"""Two agents on one ticket, in two browsers: presence, typing, the collision warning, live changes, catching up
after a dropped connection, and the keyboard shortcuts."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from omnidesk.tenants.models import Role
from omnidesk.tenants.services import agent_create
from omnidesk.tickets.models import Ticket
from tests.conftest import new_resident_id, sandbox_headers
from tests.factories import MunicipalityFactory, sandbox_account

pytestmark = [pytest.mark.browser, pytest.mark.stack]
PASSWORD = "Paarse-Fiets-Regen-42"
LIVE = 15_000


@pytest.fixture(autouse=True)
def _expect_timeout() -> None:
    expect.set_options(timeout=LIVE)


@pytest.fixture
def team(transactional_db):  # type: ignore[no-untyped-def]
    municipality = MunicipalityFactory(name="Gemeente Lindeveld", slug="lindeveld")
    for username, name in (("anna", "Anna de Vries"), ("bram", "Bram Jansen")):
        agent_create(municipality=municipality, username=username, role=Role.AGENT, password=PASSWORD, full_name=name)
    return sandbox_account(municipality, name="Chat Lindeveld")


def log_in(browser: Browser, base_url: str, username: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=base_url, locale="en-US", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(LIVE)
    page = context.new_page()
    page.goto("/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator("#live-status")).to_have_class(re.compile(r"\bonline\b"))
    return context, page


def resident_writes(base_url: str, account, text: str, resident: str) -> None:  # type: ignore[no-untyped-def]
    """Through the live server, as a provider would: the push to the dashboards happens in its process."""
    response = requests.post(f"{base_url}/webhooks/{account.public_id}/", timeout=10,
                             json={"id": new_resident_id()[:12], "text": text}, headers=sandbox_headers(resident))
    assert response.status_code == 200, response.text


def test_two_agents_see_each_other_and_do_not_answer_blindly(browser, live_stack, team):  # type: ignore[no-untyped-def]
    resident = new_resident_id()
    resident_writes(live_stack, team, "Mijn paspoort is gestolen, wat moet ik doen?", resident)
    number = Ticket.objects.get().number
    anna_ctx, anna = log_in(browser, live_stack, "anna")
    bram_ctx, bram = log_in(browser, live_stack, "bram")
    try:
        anna.goto(f"/tickets/{number}/")
        bram.goto(f"/tickets/{number}/")
        expect(anna.locator("#live-status")).to_have_class(re.compile(r"\bonline\b"))
        # Presence: each sees the other looking at the ticket.
        expect(anna.locator("#ticket-viewers")).to_contain_text("Bram Jansen")
        expect(bram.locator("#ticket-viewers")).to_contain_text("Anna de Vries")

        # Typing: Bram starts a reply; Anna sees it.
        bram.locator("#composer-text").press_sequentially("Goedemiddag, u kunt", delay=30)
        expect(anna.locator("#agent-typing")).to_contain_text("Bram Jansen")

        # Collision: Anna answers first; Bram is warned and must confirm before his reply goes out.
        anna.locator("#composer-text").fill("Doe aangifte bij de politie en maak een afspraak bij de balie.")
        anna.get_by_role("button", name="Send reply").click()
        expect(bram.locator("#collision-warning")).to_be_visible()
        expect(bram.locator("#thread .msg-outbound.msg-message .body")).to_have_text(
            ["Doe aangifte bij de politie en maak een afspraak bij de balie."])
        bram.get_by_role("button", name="Send reply").click()
        expect(bram.get_by_role("button", name="Send anyway")).to_be_focused()
        assert Ticket.objects.get().messages.filter(direction="outbound", kind="message").count() == 1
        bram.get_by_role("button", name="Send anyway").click()
        expect(bram.locator("#collision-warning")).to_be_hidden()
        expect(anna.locator("#thread .msg-outbound.msg-message")).to_have_count(2)

        # An @mention in a note notifies the colleague at once (the bell), with a link to the ticket.
        anna.locator("#composer-text").fill("@bram kun jij de afspraak inplannen?")
        anna.get_by_role("button", name="Add internal note").click()
        expect(bram.locator("#notifications-count")).to_have_text("1")
        bram.locator("#notifications-bell").click()
        expect(bram.locator("#notifications-list")).to_contain_text("Anna de Vries")
        bram.keyboard.press("Escape")

        # Assignment and status appear live for the other.
        anna.locator("#assign-me").click()
        expect(bram.locator("#ticket-assignee")).to_have_text("Anna de Vries")

        # A dropped connection catches up: Bram goes offline, the resident writes twice, Bram comes back.
        bram_ctx.set_offline(True)
        bram.evaluate("() => window.dispatchEvent(new Event('offline'))")
        resident_writes(live_stack, team, "Ik heb al aangifte gedaan.", resident)
        resident_writes(live_stack, team, "Wanneer kan ik langskomen?", resident)
        expect(anna.locator("#thread .msg-inbound .body")).to_have_count(3)
        bram_ctx.set_offline(False)
        expect(bram.locator("#thread .msg-inbound .body")).to_have_text(
            ["Mijn paspoort is gestolen, wat moet ik doen?", "Ik heb al aangifte gedaan.", "Wanneer kan ik langskomen?"],
            timeout=45_000)

        # When Anna leaves, Bram no longer sees her.
        anna.goto("/")
        expect(bram.locator("#ticket-viewers")).to_be_hidden()
    finally:
        anna_ctx.close()
        bram_ctx.close()


def test_keyboard_shortcuts(browser, live_stack, team):  # type: ignore[no-untyped-def]
    for text in ("Eerste vraag", "Tweede vraag"):
        resident_writes(live_stack, team, text, new_resident_id())
    context, page = log_in(browser, live_stack, "anna")
    try:
        page.wait_for_load_state("load")
        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_be_hidden()
        page.keyboard.press("j")
        expect(page).to_have_url(re.compile(r"/tickets/\d+/"))
        page.wait_for_load_state("load")  # the shortcuts' script runs (deferred) before "load"
        first = page.url
        page.keyboard.press("j")
        expect(page).not_to_have_url(first)
        page.wait_for_load_state("load")
        page.keyboard.press("k")
        expect(page).to_have_url(first)
        page.wait_for_load_state("load")
        page.keyboard.press("a")
        expect(page.locator("#ticket-assignee")).to_have_text("Anna de Vries")
        page.keyboard.press("c")
        expect(page.locator(".ticket-row.current [data-field=status]")).to_have_text("Resolved")
        page.keyboard.press("r")
        expect(page.locator("#composer-text")).to_be_focused()
        page.keyboard.type("j k a c")  # typing in the composer triggers nothing
        expect(page.locator("#composer-text")).to_have_value("j k a c")
        page.locator("#composer-text").blur()
        page.keyboard.press("/")
        expect(page.locator("#id_q")).to_be_focused()
    finally:
        context.close()
