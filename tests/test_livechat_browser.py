"""The livechat in real browsers: a municipality's website on another origin embeds the widget; a resident chats
with an agent on the dashboard, live, through reloads and a dropped connection; offline questions, refused origins,
rate limits, keyboard use, an automated accessibility check and the loader's size budget."""
from __future__ import annotations

import gzip
import re

import pytest
from playwright.sync_api import Browser, BrowserContext, FrameLocator, Page, expect

from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.tenants.models import Role
from omnidesk.tenants.services import agent_create
from omnidesk.tickets.models import Message, Ticket
from tests.accessibility import assert_accessible
from tests.factories import MunicipalityFactory

pytestmark = [pytest.mark.browser, pytest.mark.stack]
PASSWORD = "Paarse-Fiets-Regen-42"
LIVE = 15_000


@pytest.fixture(autouse=True)
def _expect_timeout() -> None:
    expect.set_options(timeout=LIVE)


def website(live_stack: str) -> str:
    """The municipality's website: the same server under its other name, so another origin than Omnidesk's."""
    return live_stack.replace("127.0.0.1", "localhost")


def chat_account(live_stack: str, **config):  # type: ignore[no-untyped-def]
    municipality = MunicipalityFactory(name="Gemeente Lindeveld", slug="lindeveld")
    agent_create(municipality=municipality, username="anna", role=Role.AGENT, password=PASSWORD, full_name="Anna de Vries")
    account = channel_account_create(municipality=municipality, plugin_key="livechat", name="Website", config={
        "allowed_origins": website(live_stack), "title": "Chat met Lindeveld", "welcome_text": "Welkom!", **config})
    return account


def context(browser: Browser, base_url: str, locale: str = "nl-NL") -> BrowserContext:
    ctx = browser.new_context(base_url=base_url, locale=locale, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(LIVE)
    return ctx


def log_in(ctx: BrowserContext) -> Page:
    page = ctx.new_page()
    page.goto("/login/")
    page.locator("#id_username").fill("anna")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator("#live-status")).to_have_class(re.compile(r"\bonline\b"))
    return page


def open_chat(page: Page, account, live_stack: str) -> FrameLocator:  # type: ignore[no-untyped-def]
    page.goto(f"{website(live_stack)}/channels/livechat/{account.public_id}/demo-site/")
    launcher = page.get_by_role("button", name="Open de chat")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(page.get_by_role("button", name="Sluit de chat")).to_have_attribute("aria-expanded", "true")
    panel = page.frame_locator("iframe")
    expect(panel.locator("#lc-status")).to_have_attribute("data-state", re.compile("online|away|connected"))
    return panel


def say(panel: FrameLocator, text: str) -> None:
    panel.get_by_label("Uw bericht").fill(text)
    panel.get_by_label("Uw bericht").press("Enter")


def test_a_resident_and_an_agent_chat_live_across_reloads_and_a_dropped_connection(browser, live_stack):  # type: ignore[no-untyped-def]
    account = chat_account(live_stack)
    agent_ctx, resident_ctx = context(browser, live_stack, "en-US"), context(browser, live_stack)
    try:
        agent = log_in(agent_ctx)
        resident = resident_ctx.new_page()
        panel = open_chat(resident, account, live_stack)
        expect(panel.locator("#lc-away")).to_be_hidden()  # a colleague has the dashboard open: online
        say(panel, "Hoe vraag ik een parkeervergunning aan?")
        expect(panel.locator("#lc-messages .msg.inbound .text")).to_have_text(["Hoe vraag ik een parkeervergunning aan?"])

        row = agent.locator("#ticket-list .ticket-row a").first
        expect(row).to_be_visible()
        row.click()
        expect(agent.locator("#thread .msg-inbound .body")).to_have_text(["Hoe vraag ik een parkeervergunning aan?"])
        # The resident keeps typing; the agent sees it (the indicator also hides itself after a pause, so the
        # check runs while the typing goes on, however slow the machine).
        box = panel.get_by_label("Uw bericht")
        for _ in range(60):
            box.press("e")
            if agent.locator("#resident-typing").is_visible():
                break
            agent.wait_for_timeout(250)
        else:
            raise AssertionError("the agent never saw the resident typing")
        box.fill("")
        agent.locator("#composer-text").fill("Dat kan via de website, onder Parkeren.")
        expect(panel.locator("#lc-typing")).to_be_visible()  # the agent is typing
        agent.get_by_role("button", name="Send reply").click()
        reply = panel.locator("#lc-messages .msg.outbound")
        expect(reply.locator(".text")).to_have_text(["Dat kan via de website, onder Parkeren."])
        expect(reply.locator(".who")).to_contain_text(["Anna de Vries"])
        expect(agent.locator("#thread .msg-outbound.msg-message [data-field=delivery_status]")).to_have_text(
            re.compile("Delivered|Read"))

        # A reload keeps the conversation (the visitor token survives page loads).
        resident.reload()
        resident.get_by_role("button", name="Open de chat").click()
        panel = resident.frame_locator("iframe")
        expect(panel.locator("#lc-messages .msg .text")).to_have_text(
            ["Hoe vraag ik een parkeervergunning aan?", "Dat kan via de website, onder Parkeren."])

        # The network drops; what the resident types meanwhile arrives once when it is back.
        expect(panel.locator("#lc-status")).to_have_attribute("data-state", re.compile("online|connected"))
        resident_ctx.set_offline(True)
        resident.frame_locator("iframe").locator("body").evaluate("() => window.dispatchEvent(new Event('offline'))")
        say(panel, "Moet ik ook een kenteken opgeven?")
        expect(panel.locator("#lc-messages .msg.inbound.is-pending")).to_have_count(1)
        resident_ctx.set_offline(False)
        expect(panel.locator("#lc-messages .msg.inbound.is-pending")).to_have_count(0, timeout=45_000)
        expect(agent.locator("#thread .msg-inbound .body")).to_have_text(
            ["Hoe vraag ik een parkeervergunning aan?", "Moet ik ook een kenteken opgeven?"])
        assert Message.objects.filter(text="Moet ik ook een kenteken opgeven?").count() == 1
    finally:
        agent_ctx.close()
        resident_ctx.close()


def test_outside_opening_hours_the_offline_form_creates_a_ticket(browser, live_stack):  # type: ignore[no-untyped-def]
    from datetime import time

    from django.utils import timezone

    from omnidesk.hours.models import OpeningHours

    account = chat_account(live_stack, away_text="We antwoorden morgen.")
    # Open only on another weekday: closed now, whatever the clock says.
    OpeningHours.objects.create(municipality=account.municipality, channel_account=account,
                                weekday=(timezone.localtime().weekday() + 3) % 7, opens=time(9), closes=time(10))
    mail = channel_account_create(municipality=account.municipality, plugin_key="sandbox", name="E-mail (proef)",
                                  config={})
    from omnidesk.channel_accounts.selectors import account_context
    from omnidesk.channel_accounts.services import channel_account_update_config

    config = dict(account_context(account).config)
    config.update(offline_email_account=mail.public_id, allowed_origins="\n".join(config["allowed_origins"]))
    channel_account_update_config(account=account, config=config)
    ctx = context(browser, live_stack)
    try:
        panel = open_chat(ctx.new_page(), account, live_stack)
        expect(panel.locator("#lc-away")).to_be_visible()
        expect(panel.locator("#lc-away-text")).to_have_text("We antwoorden morgen.")
        panel.locator("#lc-question").fill("Wanneer is het milieupark open?")
        panel.locator("#lc-offline-submit").click()
        expect(panel.locator("#lc-email-error, #lc-contact-hint.is-error").first).to_be_visible()
        panel.locator("#lc-email").fill("fatima@example.nl")
        panel.locator("#lc-offline-submit").click()
        expect(panel.locator("#lc-thanks")).to_be_visible()
        ticket = Ticket.objects.get()
        assert (ticket.channel_account, ticket.identity.value) == (mail, "fatima@example.nl")
        assert ticket.messages.get().text == "Wanneer is het milieupark open?"
    finally:
        ctx.close()


def test_a_site_not_on_the_allow_list_gets_no_chat(browser, live_stack):  # type: ignore[no-untyped-def]
    account = chat_account(live_stack)
    from omnidesk.channel_accounts.selectors import account_context
    from omnidesk.channel_accounts.services import channel_account_update_config

    config = dict(account_context(account).config)
    config["allowed_origins"] = "https://www.andere-gemeente.nl"
    channel_account_update_config(account=account, config=config)
    ctx = context(browser, live_stack)
    try:
        page = ctx.new_page()
        refused = []
        page.on("console", lambda m: refused.append(m.text))
        page.goto(f"{website(live_stack)}/channels/livechat/{account.public_id}/demo-site/")
        page.wait_for_load_state("networkidle")
        expect(page.get_by_role("button", name="Open de chat")).to_have_count(0)
        # Framing the panel directly is refused by its Content-Security-Policy too.
        page.set_content(f'<iframe src="{live_stack}/channels/livechat/{account.public_id}/panel/"></iframe>')
        page.wait_for_timeout(1000)
        assert page.frames[1].url in ("", "about:blank", "chrome-error://chromewebdata/") or \
            page.frames[1].locator("#lc-text").count() == 0
    finally:
        ctx.close()


def test_a_resident_sending_too_fast_is_told_clearly(browser, live_stack):  # type: ignore[no-untyped-def]
    account = chat_account(live_stack, messages_per_minute=2)
    ctx, agent_ctx = context(browser, live_stack), context(browser, live_stack, "en-US")
    try:
        log_in(agent_ctx)  # a colleague is online: the chat is open
        panel = open_chat(ctx.new_page(), account, live_stack)
        for n in range(3):
            say(panel, f"Bericht {n}")
        expect(panel.locator("#lc-status-text")).to_contain_text("seconden")
        assert Message.objects.count() == 2
    finally:
        ctx.close()
        agent_ctx.close()


def test_keyboard_only_axe_and_the_loader_budget(browser, live_stack):  # type: ignore[no-untyped-def]
    account = chat_account(live_stack)
    ctx, agent_ctx = context(browser, live_stack), context(browser, live_stack, "en-US")
    try:
        log_in(agent_ctx)
        page = ctx.new_page()
        loaded_before_opening: list[bytes] = []
        page.on("response", lambda r: loaded_before_opening.append(r.body()) if "/channels/livechat/" in r.url
                and "demo-site" not in r.url else None)
        page.goto(f"{website(live_stack)}/channels/livechat/{account.public_id}/demo-site/")
        launcher = page.get_by_role("button", name="Open de chat")
        expect(launcher).to_be_visible()
        page.wait_for_load_state("networkidle")
        budget = sum(len(gzip.compress(body)) for body in loaded_before_opening)
        print(f"livechat loader: {budget} bytes gzipped before the chat is opened (budget 30720)")
        assert 0 < budget <= 30 * 1024
        assert page.get_by_role("button", name="Sluit de chat").count() == 0  # it never opens by itself

        # Keyboard only: Tab to the launcher, Enter opens, type and send, Escape closes and focus returns.
        for _ in range(30):
            page.keyboard.press("Tab")
            if launcher.evaluate("el => el.getRootNode().activeElement === el"):
                break
        assert launcher.evaluate("el => el.getRootNode().activeElement === el"), "Tab never reached the launcher"
        page.keyboard.press("Enter")
        panel = page.frame_locator("iframe")
        expect(panel.locator("#lc-text")).to_be_visible()
        panel.locator("#lc-text").focus()
        page.keyboard.type("Alleen met het toetsenbord")
        page.keyboard.press("Enter")
        expect(panel.locator("#lc-messages .msg.inbound .text")).to_have_text(["Alleen met het toetsenbord"])
        page.keyboard.press("Escape")
        expect(page.get_by_role("button", name="Open de chat")).to_have_attribute("aria-expanded", "false")
        assert launcher.evaluate("el => el.getRootNode().activeElement === el")

        # axe-core on the panel (the page a resident uses) and on the website with the launcher.
        panel_page = ctx.new_page()
        panel_page.goto(f"/channels/livechat/{account.public_id}/panel/?lang=nl")
        expect(panel_page.locator("#lc-status")).to_be_visible()
        assert_accessible(panel_page, "livechat panel")
        assert_accessible(page, "website with the launcher")
    finally:
        ctx.close()
        agent_ctx.close()
