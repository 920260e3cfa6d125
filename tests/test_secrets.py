"""Channel secrets: encrypted at rest, masked everywhere they could be shown, never in a page, API answer or log."""
from __future__ import annotations

import json
import logging
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.secrets import MASK, SecretsUnreadable, decrypt_secrets, encrypt_secrets
from omnidesk.channel_accounts.selectors import account_context, masked_config
from omnidesk.channel_accounts.services import channel_account_create, channel_account_update_config
from omnidesk.outbound.services import Outcome, deliver
from omnidesk.realtime.models import Event
from omnidesk.tickets.models import Message
from omnidesk.tickets.services import reply_create
from tests.conftest import new_resident_id, post_sandbox, sandbox_headers
from tests.factories import UserFactory, sandbox_account

SECRET = "Zeer-Geheim-Ondertekeningssleutel-4711"


@pytest.fixture
def secret_account(municipality):
    return sandbox_account(municipality, name="Geheime sandbox", signing_secret=SECRET, welcome_text="Welkom!")


def raw_row(account: ChannelAccount) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT config::text, encrypted_secrets FROM {ChannelAccount._meta.db_table} WHERE id = %s", [account.pk]
        )
        return cursor.fetchone()


# --- at rest -------------------------------------------------------------------------------------
def test_secrets_are_encrypted_at_rest_and_kept_out_of_config(secret_account):
    config_text, encrypted = raw_row(secret_account)
    assert SECRET not in config_text and "signing_secret" not in config_text
    assert json.loads(config_text) == {"delivery_url": "", "welcome_text": "Welkom!"}
    assert encrypted and SECRET not in encrypted
    assert SECRET.encode() not in encrypted.encode()
    # It is a Fernet token that decrypts to the secret; the plugin gets it in its context.
    assert decrypt_secrets(encrypted) == {"signing_secret": SECRET}
    assert account_context(secret_account).config["signing_secret"] == SECRET


def test_encrypting_twice_gives_different_tokens():
    assert encrypt_secrets({"a": "b"}) != encrypt_secrets({"a": "b"})
    assert encrypt_secrets({}) == "" and decrypt_secrets("") == {}


def test_configured_keys_are_used_and_a_wrong_key_cannot_read(secret_account, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.OMNIDESK = {**settings.OMNIDESK, "ENCRYPTION_KEYS": [old]}
    token = encrypt_secrets({"signing_secret": SECRET})
    assert Fernet(old.encode()).decrypt(token.encode()) == json.dumps({"signing_secret": SECRET}).encode()
    settings.OMNIDESK = {**settings.OMNIDESK, "ENCRYPTION_KEYS": [new]}
    with pytest.raises(SecretsUnreadable) as excinfo:
        decrypt_secrets(token)
    assert SECRET not in str(excinfo.value)
    settings.OMNIDESK = {**settings.OMNIDESK, "ENCRYPTION_KEYS": [new, old]}
    assert decrypt_secrets(token) == {"signing_secret": SECRET}


# --- masked --------------------------------------------------------------------------------------
def test_masked_config_masks_secrets_and_shows_the_rest(secret_account):
    shown = masked_config(secret_account)
    assert shown == {"signing_secret": MASK, "delivery_url": "", "welcome_text": "Welkom!"}
    assert SECRET not in json.dumps(shown)


def test_masked_config_shows_an_unset_secret_as_empty(municipality):
    account = ChannelAccount.objects.create(municipality=municipality, plugin_key="sandbox", name="Zonder geheim",
                                            config={"welcome_text": "Hoi"})
    assert masked_config(account) == {"welcome_text": "Hoi", "signing_secret": ""}


def test_masked_config_masks_stored_secrets_of_an_uninstalled_plugin(secret_account):
    ChannelAccount.objects.filter(pk=secret_account.pk).update(plugin_key="uninstalled")
    secret_account.refresh_from_db()
    assert masked_config(secret_account)["signing_secret"] == MASK


def test_updating_config_with_an_empty_secret_keeps_the_stored_one(secret_account):
    # A settings form never shows the secret, so it comes back empty: that must keep it, not replace it.
    channel_account_update_config(account=secret_account,
                                  config={"signing_secret": "", "welcome_text": "Nieuw welkom", "delivery_url": ""})
    secret_account.refresh_from_db()
    assert account_context(secret_account).config["signing_secret"] == SECRET
    assert secret_account.config["welcome_text"] == "Nieuw welkom"
    channel_account_update_config(account=secret_account, config={"welcome_text": "Zonder veld"})
    secret_account.refresh_from_db()
    assert account_context(secret_account).config["signing_secret"] == SECRET


def test_updating_config_with_a_new_secret_replaces_it(secret_account):
    channel_account_update_config(account=secret_account, config={"signing_secret": "nieuw-geheim-123"})
    secret_account.refresh_from_db()
    assert account_context(secret_account).config["signing_secret"] == "nieuw-geheim-123"
    assert "nieuw-geheim-123" not in raw_row(secret_account)[0] + raw_row(secret_account)[1]


# --- never shown ---------------------------------------------------------------------------------
def _ticket_with_reply(client, account, agent):  # type: ignore[no-untyped-def]
    resident = new_resident_id()
    response = client.post(f"/webhooks/{account.public_id}/", data=json.dumps({"id": "1", "text": "Hoi"}),
                           content_type="application/json",
                           headers=sandbox_headers(resident, secret=SECRET))
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    reply = reply_create(ticket=message.ticket, author=agent, text="Dag!")
    return message.ticket, reply, resident


def test_secrets_never_appear_in_pages_or_api(client, secret_account, agent):
    ticket, _reply, resident = _ticket_with_reply(client, secret_account, agent)
    client.force_login(agent)
    outputs = {
        path: client.get(path)
        for path in ("/", f"/tickets/{ticket.number}/", "/api/v1/tickets/", f"/api/v1/tickets/{ticket.number}/",
                     f"/api/v1/tickets/{ticket.number}/messages/", "/events/?after=0",
                     f"/channels/sandbox/{secret_account.public_id}/")
    }
    for path, response in outputs.items():
        assert response.status_code == 200, path
        assert SECRET not in response.content.decode(), path
    # The resident page carries only the per-resident token derived from the secret.
    assert "token" in outputs[f"/channels/sandbox/{secret_account.public_id}/"].content.decode()
    for event in Event.objects.all():
        assert SECRET not in json.dumps(event.payload)


def test_secrets_never_appear_in_the_admin(client, secret_account):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    change = client.get(f"/admin/channel_accounts/channelaccount/{secret_account.pk}/change/")
    assert change.status_code == 200
    html = change.content.decode()
    assert SECRET not in html
    assert MASK in html and "Welkom!" in html
    listing = client.get("/admin/channel_accounts/channelaccount/")
    assert listing.status_code == 200 and SECRET not in listing.content.decode()
    # Saving the admin form keeps the secret as it was.
    response = client.post(f"/admin/channel_accounts/channelaccount/{secret_account.pk}/change/",
                           {"name": "Hernoemd", "enabled": "on"})
    assert response.status_code == 302
    secret_account.refresh_from_db()
    assert secret_account.name == "Hernoemd"
    assert account_context(secret_account).config["signing_secret"] == SECRET


def test_secrets_never_appear_in_logs(client, secret_account, agent, caplog):
    caplog.set_level(logging.DEBUG)
    # A failed verification (logged), a good message, a reply delivered through the plugin, commands.
    assert post_sandbox(client, secret_account, {"id": "x", "text": "Hoi"}).status_code == 403
    _ticket, reply, _resident = _ticket_with_reply(client, secret_account, agent)
    assert deliver(reply.pk)[0] is Outcome.SENT
    out = StringIO()
    call_command("channels", "--json", stdout=out)
    call_command("rotatesecrets", stdout=out)
    secret_account.refresh_from_db()
    assert account_context(secret_account).config["signing_secret"] == SECRET
    assert any(r.getMessage() == "webhook verification failed" for r in caplog.records)
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in json.dumps(record.__dict__, default=str)
    assert SECRET not in caplog.text and SECRET not in out.getvalue()


def test_addchannel_output_does_not_echo_the_secret(municipality):
    out = StringIO()
    call_command("addchannel", municipality.slug, "sandbox", "--name", "Via commando",
                 "--config-json", json.dumps({"signing_secret": SECRET}), stdout=out)
    assert SECRET not in out.getvalue()
    account = ChannelAccount.objects.get(name="Via commando")
    assert account_context(account).config["signing_secret"] == SECRET


def test_a_secret_given_as_plain_config_to_the_service_is_still_encrypted(municipality):
    account = channel_account_create(municipality=municipality, plugin_key="sandbox", name="Direct",
                                     config={"signing_secret": SECRET, "unknown_field": "weg"})
    config_text, encrypted = raw_row(account)
    assert SECRET not in config_text and "unknown_field" not in config_text
    assert decrypt_secrets(encrypted)["signing_secret"] == SECRET
