"""The widget of a switched-off chat, and in crisis mode, in a real browser: a municipality's website on another
origin embeds it; the panel says where to go instead of offering a conversation, and shows the crisis message.

Fixtures and helpers are the livechat browser tests' own (tests/test_livechat_browser.py)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import channel_account_set_enabled
from omnidesk.tickets.models import Message
from tests.conftest import browser_type_launch_args, live_stack  # noqa: F401  (fixtures)
from tests.accessibility import assert_accessible
from tests.test_livechat_browser import LIVE, chat_account, context, log_in, website

pytestmark = [pytest.mark.browser, pytest.mark.stack]
NL = "Deze chat is gestopt. Mail ons via info@lindeveld.nl of bel 14 0123."
EN = "This chat has closed. Email info@lindeveld.nl or call 14 0123."


@pytest.fixture(autouse=True)
def _expect_timeout() -> None:
    expect.set_options(timeout=LIVE)


def switch_off(account: ChannelAccount) -> None:
    ChannelAccount.objects.filter(pk=account.pk).update(sunset_reply_nl=NL, sunset_reply_en=EN)
    account.refresh_from_db()
    channel_account_set_enabled(account=account, enabled=False)


def open_widget(page: Page, account: ChannelAccount, live_stack: str) -> FrameLocator:  # noqa: F811
    page.goto(f"{website(live_stack)}/channels/livechat/{account.public_id}/demo-site/")
    launcher = page.locator("button[aria-expanded]")  # the loader's one button (in its Shadow DOM)
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    return page.frame_locator("iframe")


def test_a_switched_off_chat_shows_the_alternatives_and_no_input(browser, live_stack):  # type: ignore[no-untyped-def]  # noqa: F811
    account = chat_account(live_stack)
    switch_off(account)
    ctx = context(browser, live_stack)
    try:
        page = ctx.new_page()
        panel = open_widget(page, account, live_stack)
        expect(panel.locator("#lc-closed")).to_be_visible()
        expect(panel.locator("#lc-closed-text")).to_have_text(NL)
        expect(panel.locator("#lc-closed")).to_be_focused()  # read out at once when the panel opens
        expect(panel.locator("#lc-status")).to_have_attribute("data-state", "closed")
        expect(panel.locator("#lc-text")).to_be_hidden()
        expect(panel.locator("textarea:visible, input:visible")).to_have_count(0)
        expect(panel.locator("#lc-crisis")).to_be_hidden()
        page.wait_for_timeout(2000)  # nothing starts later either: no conversation, no socket
        expect(panel.locator("#lc-status")).to_have_attribute("data-state", "closed")

        english = ctx.new_page()
        english.goto(f"/channels/livechat/{account.public_id}/panel/?lang=en")
        expect(english.locator("#lc-closed-text")).to_have_text(EN)
        assert_accessible(english, "panel of a closed channel")
    finally:
        ctx.close()


def test_crisis_mode_shows_a_banner_above_a_working_chat(browser, live_stack):  # type: ignore[no-untyped-def]  # noqa: F811
    account = chat_account(live_stack)
    municipality = account.municipality
    municipality.crisis_active = True
    municipality.crisis_message_nl = "Door de storm is het gemeentehuis dicht. Bel bij nood 112."
    municipality.crisis_message_en = "The town hall is closed because of the storm. In an emergency call 112."
    municipality.save()
    ctx = context(browser, live_stack)
    try:
        page = ctx.new_page()
        panel = open_widget(page, account, live_stack)
        banner = panel.get_by_role("alert")
        expect(banner).to_have_id("lc-crisis")
        expect(banner).to_contain_text(municipality.crisis_message_nl)
        expect(panel.locator("#lc-status")).to_have_attribute("data-state", re.compile("online|away|connected"))
        expect(panel.locator("#lc-closed")).to_be_hidden()

        english = ctx.new_page()
        english.goto(f"/channels/livechat/{account.public_id}/panel/?lang=en")
        expect(english.get_by_role("alert")).to_contain_text(municipality.crisis_message_en)
        assert_accessible(english, "panel in a crisis")
    finally:
        ctx.close()


def test_a_chat_switched_off_while_open_turns_into_the_alternatives(browser, live_stack):  # type: ignore[no-untyped-def]  # noqa: F811
    account = chat_account(live_stack)
    ctx, agent_ctx = context(browser, live_stack), context(browser, live_stack, "en-US")
    try:
        log_in(agent_ctx)  # a colleague is online: the chat is open
        page = ctx.new_page()
        panel = open_widget(page, account, live_stack)
        expect(panel.locator("#lc-status")).to_have_attribute("data-state", "connected")
        expect(panel.locator("#lc-text")).to_be_visible()

        # Switched off while the resident has the panel open: told when they next write, and nothing is stored.
        switch_off(account)
        panel.locator("#lc-text").fill("Is er nog iemand?")
        panel.locator("#lc-text").press("Enter")
        expect(panel.locator("#lc-closed-text")).to_have_text(NL)
        expect(panel.locator("#lc-text")).to_be_hidden()
        expect(panel.locator("#lc-messages .msg.inbound.is-failed")).to_have_count(1)
        assert Message.objects.count() == 0

        # Coming back later, the panel says it at once.
        page.reload()
        page.locator("button[aria-expanded]").click()
        expect(page.frame_locator("iframe").locator("#lc-closed-text")).to_have_text(NL)
    finally:
        ctx.close()
        agent_ctx.close()
