"""Channel secrets never reach a page, an API answer, an export or a log line.

A WhatsApp account is created and reconfigured through the settings pages, tested against the Graph API peer, and
receives a signed webhook; then every page and answer a person or script can fetch is searched for the secrets,
and so is every log record written meanwhile (at DEBUG).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from django.test import Client

from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.channel_accounts.models import ChannelAccount
from tests.factories import MembershipFactory, UserFactory

ACCESS_TOKEN = "EAAG-token-that-must-never-show-7f3a9c"
APP_SECRET = "app-secret-that-must-never-show-51d0e2"
NEW_TOKEN = "EAAG-rotated-token-never-shown-88b1f4"
SECRETS = (ACCESS_TOKEN, APP_SECRET, NEW_TOKEN)


@pytest.fixture
def peer():  # type: ignore[no-untyped-def]
    with GraphPeer(access_token=ACCESS_TOKEN, app_secret=APP_SECRET) as running:
        yield running


def _config_fields(peer: GraphPeer, **overrides: str) -> dict[str, str]:
    return {f"config-{key}": value for key, value in {**peer.account_config(), **overrides}.items()}


def _assert_clean(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret appears in {where}"
    # Not even a recognisable piece of one.
    for secret in SECRETS:
        assert secret[-12:] not in text, f"part of a secret appears in {where}"


def test_secrets_appear_in_no_page_answer_export_or_log(municipality, caplog, peer, settings):
    caplog.set_level(logging.DEBUG)
    admin = MembershipFactory(municipality=municipality, role="admin").user
    client = Client()
    client.force_login(admin)

    created = client.post("/settings/channels/add/whatsapp/", {"name": "WhatsApp", **_config_fields(peer)})
    assert created.status_code == 302, created.content.decode()[:2000]
    account = ChannelAccount.objects.get(municipality=municipality, name="WhatsApp")
    assert ACCESS_TOKEN not in json.dumps(account.config) and ACCESS_TOKEN not in account.encrypted_secrets

    # An edit that leaves the secrets empty keeps them; one that sets a new token replaces it.
    kept = _config_fields(peer, access_token="", app_secret="")
    assert client.post(f"/settings/channels/{account.pk}/", {"name": "WhatsApp", "sunset_period_days": "30",
                                                            **kept}).status_code == 302
    assert client.post(f"/settings/channels/{account.pk}/", {"name": "WhatsApp", "sunset_period_days": "30",
                                                            **_config_fields(peer, access_token=NEW_TOKEN,
                                                                             app_secret="")}).status_code == 302
    peer.access_token = NEW_TOKEN
    tested = client.post(f"/settings/channels/{account.pk}/test/", follow=True)
    assert tested.status_code == 200

    # A resident writes in, signed with the app secret, so the API and the inbox have something to show.
    body = json.dumps(peer.inbound("31612345678", text="Hallo", name="Sanne")).encode()
    signature = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    webhook = Client().post(f"/webhooks/{account.public_id}/", body, content_type="application/json",
                            HTTP_X_HUB_SIGNATURE_256=f"sha256={signature}")
    assert webhook.status_code == 200
    # A wrong signature: the error names no secret either.
    refused = Client().post(f"/webhooks/{account.public_id}/", body, content_type="application/json",
                            HTTP_X_HUB_SIGNATURE_256="sha256=" + "0" * 64)
    assert refused.status_code == 403
    _assert_clean("the refused webhook's answer", refused.content.decode())

    pages = ["/", "/tickets/1/", "/settings/", "/settings/channels/", f"/settings/channels/{account.pk}/",
             f"/settings/channels/{account.pk}/remove/", "/settings/channels/add/", "/settings/channels/add/whatsapp/",
             "/audit/", "/audit/export.csv", "/reports/", "/reports/export.csv", "/settings/sunset/",
             "/api/v1/tickets/", "/api/v1/tickets/1/", "/api/v1/tickets/1/messages/"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        content = b"".join(response.streaming_content) if response.streaming else response.content
        _assert_clean(path, content.decode())

    # Platform staff's Django admin shows the account masked.
    staff = UserFactory(is_staff=True, is_superuser=True)
    staff_client = Client()
    staff_client.force_login(staff)
    admin_page = staff_client.get(f"/admin/channel_accounts/channelaccount/{account.pk}/change/")
    assert admin_page.status_code == 200
    _assert_clean("the Django admin", admin_page.content.decode())

    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert logged, "nothing was logged: the log check would prove nothing"
    _assert_clean("the log", logged)
