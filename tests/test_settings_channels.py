"""/settings/channels/: the municipality admin adds, configures, tests, switches and removes channel accounts.

Only the admin of the account's own municipality may; secrets are never shown again, not even in part.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.urls import reverse

from channels_plugins.sms.peers import TwilioPeer
from omnidesk.audit.models import AuditEntry
from omnidesk.channel_accounts.models import ChannelAccount, ChannelSchedule
from omnidesk.channel_accounts.secrets import decrypt_secrets
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.plugin_api import AccountContext, Capabilities, ChannelAdapter, ChannelConfigForm, IdentityKind, SecretField
from omnidesk.plugin_api.events import ConnectionCheck
from omnidesk.plugin_api.testing import registered
from omnidesk.realtime.models import Event
from omnidesk.tenants.models import Role, Team
from omnidesk.tickets.models import Ticket
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account

SECRET = "zeer-geheim-signing-7f3a9c2e"
TWILIO_SID = "AC" + "1b2c" * 8
TWILIO_TOKEN = "twilio-token-that-stays-secret-4d5e"


def _urls(account: ChannelAccount, schedule: ChannelSchedule) -> list[tuple[str, str, dict]]:
    """Every channel settings URL as (method, url, data); POSTs carry data that would change something."""
    pk = account.pk
    return [
        ("get", reverse("settings:channels"), {}),
        ("get", reverse("settings:channel-add"), {}),
        ("get", reverse("settings:channel-add-config", args=["sandbox"]), {}),
        ("post", reverse("settings:channel-add-config", args=["sandbox"]), {"name": "Nieuw"}),
        ("get", reverse("settings:channel-edit", args=[pk]), {}),
        ("post", reverse("settings:channel-edit", args=[pk]),
         {"name": "Hernoemd", "sunset_period_days": "30", "config-signing_secret": ""}),
        ("post", reverse("settings:channel-test", args=[pk]), {}),
        ("post", reverse("settings:channel-toggle", args=[pk]), {"enabled": "0"}),
        ("post", reverse("settings:channel-schedule", args=[pk]), {"at": "2099-01-01T09:00", "enable": "0"}),
        ("post", reverse("settings:channel-schedule-cancel", args=[pk, schedule.pk]), {}),
        ("get", reverse("settings:channel-remove", args=[pk]), {}),
        ("post", reverse("settings:channel-remove", args=[pk]), {}),
    ]


def _planned(account: ChannelAccount) -> ChannelSchedule:
    from datetime import timedelta

    from django.utils import timezone

    return ChannelSchedule.objects.create(account=account, at=timezone.now() + timedelta(days=3), enable=False)


def _unchanged(account: ChannelAccount, schedule: ChannelSchedule) -> None:
    fresh = ChannelAccount.objects.get(pk=account.pk)
    assert (fresh.name, fresh.enabled) == (account.name, account.enabled)
    schedule.refresh_from_db()
    assert schedule.cancelled_at is None
    assert ChannelSchedule.objects.filter(account=account).count() == 1
    assert not ChannelAccount.objects.filter(name="Nieuw").exists()
    assert not AuditEntry.objects.exclude(action="channel.created").exists()


def _level(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [m.level for m in get_messages(response.wsgi_request)]


# --- who may ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_get_403_everywhere_and_change_nothing(client, municipality, account, role):
    client.force_login(MembershipFactory(municipality=municipality, role=role).user)
    schedule = _planned(account)
    for method, url, data in _urls(account, schedule):
        assert getattr(client, method)(url, data).status_code == 403, (method, url)
    _unchanged(account, schedule)


def test_anonymous_visitors_are_sent_to_the_login(client, account):
    schedule = _planned(account)
    for method, url, data in _urls(account, schedule):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), (method, url)
    _unchanged(account, schedule)


def test_the_admin_reaches_every_page(municipal_admin_client, account):
    schedule = _planned(account)
    for method, url, data in _urls(account, schedule):
        if method == "get":
            response = municipal_admin_client.get(url)
            assert response.status_code == 200, url
        else:
            response = municipal_admin_client.post(url, data)
            assert response.status_code == 302, url
            assert municipal_admin_client.get(response["Location"]).status_code == 200, url


def test_another_municipalitys_account_is_not_found(client, municipality, municipal_admin):
    theirs = sandbox_account(MunicipalityFactory(), name="Van de buren")
    schedule = _planned(theirs)
    client.force_login(municipal_admin)
    for method, url, data in _urls(theirs, schedule)[4:]:
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    _unchanged(theirs, schedule)
    assert "Van de buren" not in client.get(reverse("settings:channels")).content.decode()


def test_a_schedule_of_another_account_cannot_be_cancelled_through_ours(municipal_admin_client, municipality, account):
    theirs = _planned(sandbox_account(MunicipalityFactory(), name="Van de buren"))
    url = reverse("settings:channel-schedule-cancel", args=[account.pk, theirs.pk])
    assert municipal_admin_client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.cancelled_at is None


def test_an_unknown_plugin_is_not_found(municipal_admin_client):
    assert municipal_admin_client.get(reverse("settings:channel-add-config", args=["telegraaf"])).status_code == 404
    assert municipal_admin_client.post(reverse("settings:channel-add-config", args=["telegraaf"]),
                                       {"name": "X"}).status_code == 404


# --- the list and the add pages ------------------------------------------------------------------------------
def test_the_list_shows_state_team_webhook_and_planned_switches(municipal_admin_client, municipality, account):
    from omnidesk.channel_accounts.selectors import webhook_url
    from omnidesk.channel_accounts.services import channel_account_flag, channel_account_set_enabled

    team = Team.objects.create(municipality=municipality, name="Burgerzaken")
    ChannelAccount.objects.filter(pk=account.pk).update(team=team)
    off = sandbox_account(municipality, name="Oud nummer")
    channel_account_set_enabled(account=off, enabled=False)
    channel_account_flag(account=off, reason="Token verlopen")
    schedule = _planned(account)
    chat = channel_account_create(municipality=municipality, plugin_key="livechat", name="Website",
                                  config={"allowed_origins": "https://www.example.nl"})

    html = municipal_admin_client.get(reverse("settings:channels")).content.decode()
    assert f'value="{webhook_url(account)}"' in html and f'data-copy="webhook-url-{account.pk}"' in html
    assert "omnidesk/copy.js" in html
    assert f'id="webhook-url-{chat.pk}"' not in html  # the livechat takes no webhooks
    assert "Burgerzaken" in html and "Token verlopen" in html and "data-problem" in html
    assert html.count('data-state="off"') == 1 and html.count('data-state="on"') == 2
    assert f'data-schedule="{schedule.pk}"' in html
    assert reverse("settings:channel-schedule-cancel", args=[account.pk, schedule.pk]) in html


def test_the_add_page_offers_the_installed_plugins(municipal_admin_client):
    html = municipal_admin_client.get(reverse("settings:channel-add")).content.decode()
    for key in ("sandbox", "sms", "whatsapp", "livechat", "email"):
        assert f'data-plugin="{key}"' in html and reverse("settings:channel-add-config", args=[key]) in html


def test_the_config_form_comes_from_the_plugin_and_secrets_are_password_inputs(municipal_admin_client):
    html = municipal_admin_client.get(reverse("settings:channel-add-config", args=["sms"])).content.decode()
    assert 'name="config-account_sid"' in html
    assert 'type="password" name="config-auth_token"' in html and 'type="password" name="config-access_key"' in html


def test_adding_a_sandbox_account_through_the_pages(client, municipality, municipal_admin):
    team = Team.objects.create(municipality=municipality, name="Publiekszaken")
    client.force_login(municipal_admin)
    response = client.post(reverse("settings:channel-add-config", args=["sandbox"]), {
        "name": "Proefkanaal", "team": team.pk, "config-signing_secret": SECRET, "config-welcome_text": "Welkom!",
    })
    account = ChannelAccount.objects.get(municipality=municipality, name="Proefkanaal")
    assert response.status_code == 302 and response["Location"] == reverse("settings:channel-edit", args=[account.pk])
    assert _level(response) == [message_levels.SUCCESS]
    assert (account.plugin_key, account.team, account.enabled) == ("sandbox", team, True)
    assert account.config["welcome_text"] == "Welkom!" and "signing_secret" not in account.config
    assert decrypt_secrets(account.encrypted_secrets) == {"signing_secret": SECRET}
    entry = AuditEntry.objects.get(action="channel.created")
    assert (entry.actor, entry.municipality, entry.target_id) == (municipal_admin, municipality, str(account.pk))
    assert entry.changes["team"] == [None, "Publiekszaken"] and entry.changes["signing_secret"] == ["", "••••"]


def test_adding_refuses_a_taken_name_and_another_municipalitys_team(client, municipality, municipal_admin):
    sandbox_account(municipality, name="Bezet")
    foreign_team = Team.objects.create(municipality=MunicipalityFactory(), name="Elders")
    client.force_login(municipal_admin)
    url = reverse("settings:channel-add-config", args=["sandbox"])
    taken = client.post(url, {"name": "Bezet", "config-signing_secret": SECRET})
    assert taken.status_code == 200 and 'id="id_name_error"' in taken.content.decode()
    assert SECRET.encode() not in taken.content  # what was typed into the secret field does not come back
    foreign = client.post(url, {"name": "Nieuw", "team": foreign_team.pk})
    assert foreign.status_code == 200 and 'id="id_team_error"' in foreign.content.decode()
    assert ChannelAccount.objects.filter(municipality=municipality).count() == 1
    assert not AuditEntry.objects.exclude(action="channel.created").exists()
    assert AuditEntry.objects.filter(actor=municipal_admin).count() == 0


def test_the_plugins_own_validation_is_shown_on_its_field(municipal_admin_client, municipality):
    response = municipal_admin_client.post(reverse("settings:channel-add-config", args=["sandbox"]), {
        "name": "Proef", "config-delivery_url": "geen url",
    })
    assert response.status_code == 200 and 'id="id_config-delivery_url_error"' in response.content.decode()
    assert not ChannelAccount.objects.filter(municipality=municipality).exists()


# --- editing -------------------------------------------------------------------------------------------------
def _edit_data(account: ChannelAccount, **changes: str) -> dict[str, str]:
    return {"name": account.name, "team": "", "sunset_reply_nl": "", "sunset_reply_en": "",
            "sunset_period_days": "30", "config-signing_secret": "", "config-delivery_url": "",
            "config-welcome_text": "", **changes}


def test_editing_with_an_empty_secret_keeps_the_stored_one(client, municipality, municipal_admin):
    account = sandbox_account(municipality, signing_secret=SECRET)
    team = Team.objects.create(municipality=municipality, name="Burgerzaken")
    client.force_login(municipal_admin)
    response = client.post(reverse("settings:channel-edit", args=[account.pk]), _edit_data(
        account, name="Proef WhatsApp", team=str(team.pk), sunset_reply_nl="Wij antwoorden hier niet meer.",
        sunset_reply_en="We no longer answer here.", sunset_period_days="14", **{"config-welcome_text": "Hallo"}))
    assert response.status_code == 302
    account.refresh_from_db()
    assert decrypt_secrets(account.encrypted_secrets) == {"signing_secret": SECRET}
    assert (account.name, account.team, account.sunset_period_days) == ("Proef WhatsApp", team, 14)
    assert (account.sunset_reply_nl, account.sunset_reply_en) == ("Wij antwoorden hier niet meer.",
                                                                  "We no longer answer here.")
    assert account.config["welcome_text"] == "Hallo"
    updated = AuditEntry.objects.get(action="channel.updated")
    assert updated.actor == municipal_admin
    assert updated.changes["name"] == ["Sandbox", "Proef WhatsApp"] and updated.changes["team"] == [None, "Burgerzaken"]
    config = AuditEntry.objects.get(action="channel.config_changed")
    assert config.actor == municipal_admin and "signing_secret" not in config.changes


def test_editing_with_a_new_secret_replaces_it_and_the_log_redacts_it(client, municipality, municipal_admin):
    account = sandbox_account(municipality, signing_secret=SECRET)
    client.force_login(municipal_admin)
    client.post(reverse("settings:channel-edit", args=[account.pk]),
                _edit_data(account, **{"config-signing_secret": "een-nieuw-geheim-0a1b2c"}))
    account.refresh_from_db()
    assert decrypt_secrets(account.encrypted_secrets) == {"signing_secret": "een-nieuw-geheim-0a1b2c"}
    assert AuditEntry.objects.get(action="channel.config_changed").changes == {"signing_secret": ["••••", "••••"]}


def test_a_refused_config_leaves_the_rest_unchanged_too(client, municipality, municipal_admin):
    account = sandbox_account(municipality, signing_secret=SECRET)
    client.force_login(municipal_admin)
    response = client.post(reverse("settings:channel-edit", args=[account.pk]),
                           _edit_data(account, name="Nieuwe naam", **{"config-delivery_url": "geen url"}))
    assert response.status_code == 200 and 'id="id_config-delivery_url_error"' in response.content.decode()
    account.refresh_from_db()
    assert account.name == "Sandbox"
    assert not AuditEntry.objects.filter(actor=municipal_admin).exists()


def test_the_edit_page_shows_the_webhook_url_or_the_embed_code(municipal_admin_client, municipality, account):
    from django.conf import settings

    from omnidesk.channel_accounts.selectors import webhook_url

    html = municipal_admin_client.get(reverse("settings:channel-edit", args=[account.pk])).content.decode()
    assert f'id="webhook-url" value="{webhook_url(account)}"' in html and 'data-copy="webhook-url"' in html
    assert 'id="embed-code"' not in html
    chat = channel_account_create(municipality=municipality, plugin_key="livechat", name="Website",
                                  config={"allowed_origins": "https://www.example.nl"})
    html = municipal_admin_client.get(reverse("settings:channel-edit", args=[chat.pk])).content.decode()
    assert f"{settings.PUBLIC_URL}/channels/livechat/{chat.public_id}/widget.js" in html
    assert 'data-copy="embed-code"' in html and 'id="webhook-url"' not in html


# --- secrets are never shown ---------------------------------------------------------------------------------
def test_the_stored_secret_appears_in_no_page_and_no_audit_view(client, municipality, municipal_admin):
    client.force_login(municipal_admin)
    client.post(reverse("settings:channel-add-config", args=["sandbox"]),
                {"name": "Geheim", "config-signing_secret": SECRET})
    account = ChannelAccount.objects.get(name="Geheim")
    edit = reverse("settings:channel-edit", args=[account.pk])
    client.post(edit, _edit_data(account, name="Geheim 2"))
    client.post(edit, _edit_data(account, name="Geheim 2", **{"config-signing_secret": SECRET + "-x"}))
    client.post(reverse("settings:channel-toggle", args=[account.pk]), {"enabled": "0"})
    assert decrypt_secrets(ChannelAccount.objects.get(pk=account.pk).encrypted_secrets)["signing_secret"] == SECRET + "-x"

    pages = [
        client.get(reverse("settings:channels")),
        client.get(reverse("settings:channel-add")),
        client.get(reverse("settings:channel-add-config", args=["sandbox"])),
        client.get(edit),
        client.post(edit, _edit_data(account, name="", **{"config-signing_secret": ""})),  # refused: re-rendered
        client.post(edit, _edit_data(account, name="", **{"config-signing_secret": SECRET})),  # typed, refused
        client.post(edit, _edit_data(account, **{"config-delivery_url": "geen url"})),  # refused by the plugin
        client.post(reverse("settings:channel-test", args=[account.pk]), follow=True),
        client.post(reverse("settings:channel-schedule", args=[account.pk]), {"at": "2000-01-01T00:00", "enable": "1"}),
        client.get(reverse("settings:channel-remove", args=[account.pk])),
        client.get("/audit/"),
    ]
    export = client.get("/audit/export.csv")
    rendered = [page.content for page in pages] + [b"".join(export.streaming_content)]
    assert all(page.status_code == 200 for page in pages)
    for body in rendered:
        assert SECRET.encode() not in body
        assert SECRET[:12].encode() not in body  # not even partially
    assert "channel.config_changed" in rendered[-1].decode()


# --- switching on and off ------------------------------------------------------------------------------------
def test_switching_off_and_on_is_audited_sets_disabled_at_and_tells_the_dashboards(client, municipality,
                                                                                  municipal_admin, account):
    client.force_login(municipal_admin)
    url = reverse("settings:channel-toggle", args=[account.pk])
    response = client.post(url, {"enabled": "0"})
    assert response.status_code == 302 and response["Location"] == reverse("settings:channel-edit", args=[account.pk])
    account.refresh_from_db()
    assert account.enabled is False and account.disabled_at is not None
    assert client.post(url, {"enabled": "0", "back": "list"})["Location"] == reverse("settings:channels")
    response = client.post(url, {"enabled": "1"})
    account.refresh_from_db()
    assert account.enabled is True and account.disabled_at is None

    entries = list(AuditEntry.objects.filter(action__in=["channel.disabled", "channel.enabled"]).order_by("id"))
    assert [e.action for e in entries] == ["channel.disabled", "channel.enabled"]  # the repeated "off" changed nothing
    assert all(e.actor == municipal_admin and e.created_at and e.target_id == str(account.pk) for e in entries)
    events = list(Event.objects.filter(municipality=municipality, type="channel.state").order_by("id"))
    assert [e.payload for e in events] == [{"channel_account_id": account.pk, "enabled": False},
                                           {"channel_account_id": account.pk, "enabled": True}]


def test_a_malformed_toggle_changes_nothing(municipal_admin_client, account):
    response = municipal_admin_client.post(reverse("settings:channel-toggle", args=[account.pk]), {"enabled": "maybe"})
    assert response.status_code == 302 and _level(response) == [message_levels.ERROR]
    account.refresh_from_db()
    assert account.enabled is True and not AuditEntry.objects.exclude(action="channel.created").exists()


# --- test the connection -------------------------------------------------------------------------------------
@pytest.fixture
def twilio() -> Iterator[TwilioPeer]:
    with TwilioPeer(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, number="+3197010203040") as peer:
        yield peer  # type: ignore[misc]


def _sms_account(municipality, twilio: TwilioPeer, token: str) -> ChannelAccount:  # type: ignore[no-untyped-def]
    return channel_account_create(municipality=municipality, plugin_key="sms", name=f"SMS {token[:6]}", config={
        "provider": "twilio", "account_sid": TWILIO_SID, "auth_token": token, "from_number": "+3197010203040",
        "api_base_url": twilio.url})


def test_the_connection_test_reports_success_and_failure_against_the_peer(client, municipality, municipal_admin,
                                                                         twilio):
    good = _sms_account(municipality, twilio, TWILIO_TOKEN)
    wrong = _sms_account(municipality, twilio, "a-wrong-token-9z8y7x")
    before = AuditEntry.objects.count()
    client.force_login(municipal_admin)

    response = client.post(reverse("settings:channel-test", args=[good.pk]), follow=True)
    assert response.redirect_chain == [(reverse("settings:channel-edit", args=[good.pk]), 302)]
    assert [m.level for m in response.context["messages"]] == [message_levels.SUCCESS]
    response = client.post(reverse("settings:channel-test", args=[wrong.pk]), follow=True)
    assert [m.level for m in response.context["messages"]] == [message_levels.ERROR]
    assert b'class="error"' in response.content
    assert b"a-wrong-token-9z8y7x" not in response.content
    assert [r.method for r in twilio.requests] == ["GET", "GET"]  # the peer was asked, twice
    assert AuditEntry.objects.count() == before  # a test is not a change


class EchoingConfig(ChannelConfigForm):
    api_key = SecretField(required=True)


class EchoingAdapter(ChannelAdapter):
    """A careless plugin that quotes the credential in its connection test detail."""

    key = "testechoing"
    verbose_name = "Echoing"
    capabilities = Capabilities(identity_kind=IdentityKind.PHONE)
    config_form = EchoingConfig

    def check_connection(self, account: AccountContext) -> ConnectionCheck:
        return ConnectionCheck(ok=False, detail=f"Provider refused key {account.config['api_key']} (401)")


def test_a_secret_the_plugin_quotes_in_its_detail_is_removed(client, municipality, municipal_admin):
    with registered(EchoingAdapter):
        account = channel_account_create(municipality=municipality, plugin_key="testechoing", name="Echo",
                                         config={"api_key": SECRET})
        client.force_login(municipal_admin)
        response = client.post(reverse("settings:channel-test", args=[account.pk]), follow=True)
    [message] = list(response.context["messages"])
    assert message.level == message_levels.ERROR and "(401)" in message.message
    assert SECRET not in message.message and SECRET.encode() not in response.content


def test_editing_keeps_a_required_secret_when_left_empty(client, municipality, municipal_admin):
    with registered(EchoingAdapter):
        account = channel_account_create(municipality=municipality, plugin_key="testechoing", name="Echo",
                                         config={"api_key": SECRET})
        client.force_login(municipal_admin)
        page = client.get(reverse("settings:channel-edit", args=[account.pk])).content.decode()
        assert 'type="password" name="config-api_key"' in page and SECRET not in page
        response = client.post(reverse("settings:channel-edit", args=[account.pk]),
                               {"name": "Echo 2", "sunset_period_days": "30", "config-api_key": ""})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "Echo 2" and decrypt_secrets(account.encrypted_secrets) == {"api_key": SECRET}


# --- removing ------------------------------------------------------------------------------------------------
def test_an_account_with_tickets_cannot_be_removed(client, municipality, municipal_admin, account):
    post_sandbox(client, account, {"id": "m1", "text": "Hallo"}, new_resident_id())
    assert Ticket.objects.filter(channel_account=account).exists()
    client.force_login(municipal_admin)
    page = client.get(reverse("settings:channel-remove", args=[account.pk]))
    assert b'id="remove-refused"' in page.content and b'id="channel-remove-form"' not in page.content
    response = client.post(reverse("settings:channel-remove", args=[account.pk]))
    assert response.status_code == 302 and _level(response) == [message_levels.ERROR]
    assert ChannelAccount.objects.filter(pk=account.pk).exists()
    assert not AuditEntry.objects.filter(action="channel.removed").exists()


def test_an_account_without_tickets_is_removed_and_audited(client, municipality, municipal_admin, account):
    _planned(account)
    client.force_login(municipal_admin)
    assert b'id="channel-remove-form"' in client.get(reverse("settings:channel-remove", args=[account.pk])).content
    response = client.post(reverse("settings:channel-remove", args=[account.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("settings:channels")
    assert not ChannelAccount.objects.filter(pk=account.pk).exists()
    entry = AuditEntry.objects.get(action="channel.removed")
    assert (entry.actor, entry.municipality, entry.target_id) == (municipal_admin, municipality, str(account.pk))
    rows = list(csv.reader(io.StringIO(b"".join(client.get("/audit/export.csv").streaming_content).decode())))
    assert rows[1][2] == "channel.removed"


# --- accessibility -------------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.stack
@pytest.mark.parametrize("language", ["nl-NL", "en-GB"])
def test_the_channel_pages_meet_wcag_21_aa_and_copy_works(live_stack, browser, language):
    from tests.test_accessibility import assert_accessible

    municipality = MunicipalityFactory()
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN).user
    Team.objects.create(municipality=municipality, name="Burgerzaken")
    account = sandbox_account(municipality)
    chat = channel_account_create(municipality=municipality, plugin_key="livechat", name="Website",
                                  config={"allowed_origins": "https://www.example.nl"})
    from omnidesk.channel_accounts.services import channel_account_flag, channel_account_set_enabled

    channel_account_set_enabled(account=chat, enabled=False, actor=admin)
    channel_account_flag(account=chat, reason="Token verlopen")
    _planned(account)

    context = browser.new_context(locale=language)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_stack)
    page = context.new_page()
    page.goto(f"{live_stack}/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "correct-horse-battery")
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_stack}/")
    for name, path in [
        ("list", reverse("settings:channels")),
        ("add", reverse("settings:channel-add")),
        ("add sms", reverse("settings:channel-add-config", args=["sms"])),
        ("edit", reverse("settings:channel-edit", args=[account.pk])),
        ("edit livechat", reverse("settings:channel-edit", args=[chat.pk])),
        ("remove", reverse("settings:channel-remove", args=[account.pk])),
    ]:
        page.goto(live_stack + path)
        page.wait_for_selector("h1")
        assert_accessible(page, name)

    page.goto(live_stack + reverse("settings:channel-edit", args=[account.pk]))
    page.fill("#id_at", "2001-01-01T10:00")
    page.locator("#schedule-form button[type=submit]").click()
    page.wait_for_selector("#id_at_error")
    assert page.get_attribute("#id_at", "aria-describedby") == "id_at_error"
    assert_accessible(page, "refused schedule")

    page.locator('[data-copy="webhook-url"]').click()
    page.wait_for_function("document.querySelector('[data-copy=\"webhook-url\"]').textContent.startsWith('✓')")
    assert page.evaluate("navigator.clipboard.readText()") == page.input_value("#webhook-url")
