"""WCAG 2.1 AA, checked by axe-core in Chromium, on every page a person uses: login, inbox, ticket, resident page."""
from __future__ import annotations

import pytest

from tests.accessibility import assert_accessible
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account

pytestmark = [pytest.mark.browser, pytest.mark.stack]
@pytest.mark.parametrize("language", ["nl-NL", "en-GB"])
def test_pages_meet_wcag_21_aa(live_stack, browser, client, language):
    municipality = MunicipalityFactory()
    agent = MembershipFactory(municipality=municipality, role="admin").user  # an admin also sees the audit log
    account = sandbox_account(municipality)
    from omnidesk.channel_accounts.services import channel_account_set_enabled

    channel_account_set_enabled(account=account, enabled=False, actor=agent)
    channel_account_set_enabled(account=account, enabled=True, actor=agent)
    post_sandbox(client, account, {"id": "a11y-1", "text": "Is het gemeentehuis zaterdag open?", "name": "Piet"},
                 new_resident_id())

    page = browser.new_context(locale=language).new_page()
    page.goto(f"{live_stack}/login/")
    assert_accessible(page, "login")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "correct-horse-battery")
    page.locator("button[type=submit]").click()
    page.wait_for_selector(".ticket-row")
    assert_accessible(page, "inbox")
    page.goto(f"{live_stack}/tickets/1/")
    page.wait_for_selector("#thread .msg")
    assert_accessible(page, "ticket")
    page.goto(f"{live_stack}/audit/")
    page.wait_for_selector("table.audit")
    assert_accessible(page, "audit log")
    page.goto(f"{live_stack}/reports/")
    page.wait_for_selector("table")
    assert_accessible(page, "reports")
    page.goto(f"{live_stack}/settings/")
    page.wait_for_selector("nav.settings-nav")
    assert_accessible(page, "settings overview")

    resident = browser.new_context(locale=language).new_page()
    resident.goto(f"{live_stack}/channels/sandbox/{account.public_id}/")
    resident.wait_for_selector("#send-form")
    assert_accessible(resident, "resident page")
