"""SMS in the browser: a signed Twilio webhook appears live in an open dashboard, and the composer counts
characters, encoding and segments as the agent types, warning when one character makes the message UCS-2."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from channels_plugins.sms.peers import BirdPeer, TwilioPeer
from omnidesk.channel_accounts.services import channel_account_create
from tests.factories import MembershipFactory, MunicipalityFactory

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def _config(peer) -> dict:  # type: ignore[no-untyped-def]
    if isinstance(peer, TwilioPeer):
        return {"provider": "twilio", "account_sid": peer.account_sid, "auth_token": peer.auth_token,
                "from_number": peer.number, "api_base_url": peer.url}
    return {"provider": "bird", "workspace_id": peer.workspace_id, "channel_id": peer.channel_id,
            "access_key": peer.access_key, "signing_key": peer.signing_key, "api_base_url": peer.url}


@pytest.mark.parametrize("peer_class", [TwilioPeer, BirdPeer], ids=["twilio", "bird"])
def test_sms_arrives_live_and_the_composer_counts_segments(live_stack, browser, peer_class):
    municipality = MunicipalityFactory()
    agent = MembershipFactory(municipality=municipality).user
    with peer_class() as peer:
        account = channel_account_create(municipality=municipality, plugin_key="sms", name="SMS 14 030",
                                         config=_config(peer))
        page = browser.new_context(locale="en-GB").new_page()
        page.goto(f"{live_stack}/login/")
        page.get_by_label("Username").fill(agent.username)
        page.get_by_label("Password").fill("correct-horse-battery")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#live-status")).to_have_class(re.compile("online"), timeout=15000)

        answer = peer.inbound(f"{live_stack}/webhooks/{account.public_id}/", "Wanneer is het milieupark open?",
                              sender="+31612345678").post()
        assert answer.status_code == 200, answer.text
        row = page.locator(".ticket-row", has_text="milieupark")
        expect(row).to_be_visible(timeout=15000)  # live, without a reload
        row.locator("a").click()
        expect(page.locator("#ticket-heading")).to_be_visible()
        expect(page.locator("#live-status")).to_have_class(re.compile("online"), timeout=15000)  # scripts are running

        composer = page.locator("#composer-text")
        composer.fill("a" * 161)
        expect(page.locator("#composer-count")).to_contain_text("161 characters · GSM-7 · 2 SMS")
        expect(page.locator("#composer-sms-warning")).to_be_hidden()
        composer.fill("Geachte heer, uw aanvraag is ontvangen. Met vriendelijke groet, Zoë")
        expect(page.locator("#composer-count")).to_contain_text("UCS-2 · 1 SMS")
        expect(page.locator("#composer-sms-warning")).to_be_visible()
        expect(page.locator("#composer-sms-warning")).to_contain_text("“ë”")
