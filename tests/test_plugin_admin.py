"""Platform staff see which channel plugins loaded and which were refused (with the reason)."""
from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from omnidesk.plugin_api import registry as registry_module
from tests.factories import UserFactory


@pytest.fixture
def broken_plugin_installed(monkeypatch):
    real = registry_module.entry_points

    def with_broken(group: str):
        found = list(real(group=group))
        return [*found, EntryPoint(name="exploding", value="tests.no_such_plugin_module:Adapter", group=group)]

    monkeypatch.setattr(registry_module, "entry_points", with_broken)
    registry_module.get_registry.cache_clear()
    yield
    monkeypatch.undo()
    registry_module.get_registry.cache_clear()


def test_staff_page_lists_plugins_and_refusals(client, db, broken_plugin_installed):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    page = client.get("/admin/channel-plugins/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "sandbox" in html and "channels_plugins.sandbox.adapter" in html
    assert "exploding" in html and "failed to import" in html
    # The rest of the site keeps working with a broken plugin installed, and checks only warn.
    assert client.get("/healthz").status_code == 200
    from django.core import checks

    refused = [m for m in checks.run_checks() if m.id == "omnidesk.W004"]
    assert len(refused) == 1 and "exploding" in refused[0].msg
    assert refused[0].level == checks.WARNING
    assert 'href="/admin/channel-plugins/"' in client.get("/admin/").content.decode()


def test_agents_cannot_see_the_plugin_page(agent_client):
    response = agent_client.get("/admin/channel-plugins/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_admin_shows_a_livechat_account_its_script_tag_to_copy(client, municipality):
    from django.conf import settings

    from omnidesk.channel_accounts.services import channel_account_create

    chat = channel_account_create(municipality=municipality, plugin_key="livechat", name="Website",
                                  config={"allowed_origins": "https://www.example.nl"})
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get(f"/admin/channel_accounts/channelaccount/{chat.pk}/change/").content.decode()
    tag = f'&lt;script async src=&quot;{settings.PUBLIC_URL}/channels/livechat/{chat.public_id}/widget.js&quot;'
    assert tag in html and f'data-copy="embed-code-{chat.pk}"' in html
    # Secrets stay masked on the same page.
    assert "identity_secret" in html and chat.encrypted_secrets[:20] not in html
