"""Management commands: createmunicipality, addchannel, createagent, seeddemo."""
from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.tenants.models import Membership, Municipality, Role
from omnidesk.tickets.models import Message
from tests.conftest import post_sandbox
from tests.factories import MunicipalityFactory


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_json(*args: str) -> dict:
    return json.loads(run(*args))


# --- createmunicipality --------------------------------------------------------------------------
def test_createmunicipality_prints_json_and_creates_it(db):
    data = run_json("createmunicipality", "utrecht", "--name", "Gemeente Utrecht")
    municipality = Municipality.objects.get(slug="utrecht")
    assert data == {"id": municipality.pk, "slug": "utrecht", "name": "Gemeente Utrecht"}
    assert municipality.last_ticket_number == 0


def test_createmunicipality_refuses_an_existing_slug(db):
    run("createmunicipality", "utrecht", "--name", "Gemeente Utrecht")
    with pytest.raises(CommandError, match="exists already"):
        run("createmunicipality", "utrecht", "--name", "Nog een Utrecht")
    assert Municipality.objects.get(slug="utrecht").name == "Gemeente Utrecht"


def test_createmunicipality_needs_a_name(db):
    with pytest.raises(CommandError):
        run("createmunicipality", "utrecht")
    assert not Municipality.objects.exists()


# --- addchannel ----------------------------------------------------------------------------------
def test_addchannel_prints_json_with_public_id_and_webhook_url(municipality, client):
    data = run_json("addchannel", municipality.slug, "sandbox", "--name", "Proef",
                    "--config-json", json.dumps({"signing_secret": "geheim-van-de-proef", "welcome_text": "Welkom"}))
    account = ChannelAccount.objects.get(public_id=data["public_id"])
    assert data == {"id": account.pk, "public_id": account.public_id, "plugin": "sandbox",
                    "webhook_url": f"{settings.PUBLIC_URL}/webhooks/{account.public_id}/"}
    assert (account.municipality, account.plugin_key, account.name, account.enabled) == (municipality, "sandbox", "Proef",
                                                                                        True)
    assert account.config == {"delivery_url": "", "welcome_text": "Welkom"}
    assert account_context(account).config["signing_secret"] == "geheim-van-de-proef"
    # The printed webhook URL's path is the live endpoint.
    path = data["webhook_url"].removeprefix(settings.PUBLIC_URL)
    assert path == f"/webhooks/{account.public_id}/"
    from channels_plugins.sandbox.signing import resident_token

    resident = "c" * 32
    response = client.post(path, data=json.dumps({"id": "1", "text": "Hoi"}), content_type="application/json",
                           headers={"X-Sandbox-Resident": resident,
                                    "X-Sandbox-Token": resident_token("geheim-van-de-proef", resident)})
    assert response.status_code == 200 and Message.objects.count() == 1


def test_public_ids_are_safe_to_pass_on_a_command_line():
    # A id starting with "-" was read by argparse as an option, so `testchannel <id>` failed at random.
    from omnidesk.channel_accounts.models import new_public_id

    ids = {new_public_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"[0-9a-f]{40}", public_id) for public_id in ids)


def test_addchannel_without_config_uses_defaults_and_can_start_disabled(municipality):
    data = run_json("addchannel", municipality.slug, "sandbox", "--name", "Uit", "--disabled")
    account = ChannelAccount.objects.get(pk=data["id"])
    assert account.enabled is False
    assert len(account_context(account).config["signing_secret"]) >= 32  # generated


@pytest.mark.parametrize("args, message", [
    pytest.param(["--config-json", "{niet json"], "not valid JSON", id="bad json"),
    pytest.param(["--config-json", "[1, 2]"], "must be a JSON object", id="not an object"),
    pytest.param(["--config-json", json.dumps({"delivery_url": "geen url"})], "delivery_url", id="invalid config"),
])
def test_addchannel_refuses_bad_config(municipality, args, message):
    with pytest.raises(CommandError, match=message):
        run("addchannel", municipality.slug, "sandbox", "--name", "Fout", *args)
    assert not ChannelAccount.objects.exists()


def test_addchannel_refuses_an_unknown_plugin(municipality):
    with pytest.raises(CommandError, match="plugin_key"):
        run("addchannel", municipality.slug, "telegraaf", "--name", "Morse")
    assert not ChannelAccount.objects.exists()


def test_addchannel_refuses_an_unknown_municipality(db):
    with pytest.raises(CommandError, match="No municipality with slug 'nergenshuizen'"):
        run("addchannel", "nergenshuizen", "sandbox", "--name", "Proef")
    assert not ChannelAccount.objects.exists()


def test_addchannel_refuses_a_duplicate_name_in_one_municipality(municipality):
    run("addchannel", municipality.slug, "sandbox", "--name", "Proef")
    with pytest.raises(CommandError, match="kanaal met de naam 'Proef'"):  # commands speak the default language
        run("addchannel", municipality.slug, "sandbox", "--name", "Proef")
    # Another municipality may use the same name.
    run("addchannel", MunicipalityFactory().slug, "sandbox", "--name", "Proef")
    assert ChannelAccount.objects.filter(name="Proef").count() == 2
    assert ChannelAccount.objects.filter(name="Proef", municipality=municipality).count() == 1


# --- createagent ---------------------------------------------------------------------------------
def test_createagent_prints_a_password_that_logs_in(municipality, client):
    data = run_json("createagent", municipality.slug, "jdevries", "--role", "supervisor", "--name", "Jan de Vries")
    assert data["username"] == "jdevries" and data["municipality"] == municipality.slug
    assert data["role"] == "supervisor"
    assert len(data["password"]) >= 12
    user = get_user_model().objects.get(username="jdevries")
    assert (user.first_name, user.last_name) == ("Jan", "de Vries")
    assert Membership.objects.get(user=user).role == Role.SUPERVISOR
    assert client.login(username="jdevries", password=data["password"])
    assert not client.login(username="jdevries", password="wrong-" + data["password"])
    # The login form too, and the inbox then opens.
    client.logout()
    response = client.post("/login/", {"username": "jdevries", "password": data["password"]})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_createagent_defaults_to_agent_and_adds_an_existing_user_to_another_municipality(municipality):
    other = MunicipalityFactory()
    first = run_json("createagent", municipality.slug, "pjansen")
    second = run_json("createagent", other.slug, "pjansen", "--role", "admin")
    assert first["role"] == "agent"
    user = get_user_model().objects.get(username="pjansen")
    assert dict(Membership.objects.filter(user=user).values_list("municipality__slug", "role")) == {
        municipality.slug: "agent", other.slug: "admin"}
    # Adding an existing colleague to a second municipality leaves their password alone...
    assert second["password"] is None and user.check_password(first["password"])
    # ...unless asked for a new one.
    third = run_json("createagent", other.slug, "pjansen", "--reset-password")
    user.refresh_from_db()
    assert user.check_password(third["password"]) and not user.check_password(first["password"])


def test_createagent_refuses_an_unknown_municipality_or_role(db):
    with pytest.raises(CommandError, match="No municipality"):
        run("createagent", "nergenshuizen", "iemand")
    MunicipalityFactory(slug="ergens")
    with pytest.raises(CommandError):
        run("createagent", "ergens", "iemand", "--role", "koning")
    assert not get_user_model().objects.filter(username="iemand").exists()


# --- seeddemo ------------------------------------------------------------------------------------
def _demo_state() -> tuple:
    demo = Municipality.objects.get(slug="demo")
    return (
        Municipality.objects.count(),
        list(ChannelAccount.objects.filter(municipality=demo).values_list("pk", "public_id", "plugin_key")),
        sorted(Membership.objects.filter(municipality=demo).values_list("user__username", "role")),
        get_user_model().objects.count(),
    )


def test_seeddemo_is_idempotent(db, client):
    first = run_json("seeddemo", "--json", "--password", "demo-wachtwoord-1")
    state = _demo_state()
    second = run_json("seeddemo", "--json", "--password", "demo-wachtwoord-2")
    assert _demo_state() == state
    assert state[0] == 1
    accounts = {key: public_id for _pk, public_id, key in state[1]}
    assert sorted(accounts) == ["livechat", "sandbox"]
    assert state[2] == [("anna", "agent"), ("bram", "agent"), ("sanne", "admin")]
    assert first["resident"] == second["resident"] == f"{settings.PUBLIC_URL}/channels/sandbox/{accounts['sandbox']}/"
    # The demo website is Omnidesk's own server under its other name: another origin, as a real site would be.
    assert first["website"] == f"http://localhost:8000/channels/livechat/{accounts['livechat']}/demo-site/"
    assert {login["username"] for login in second["logins"]} == {"anna", "bram", "sanne"}
    # The latest run's password is the one that works.
    assert client.login(username="anna", password="demo-wachtwoord-2")
    assert not client.login(username="anna", password="demo-wachtwoord-1")


def test_seeddemo_generates_passwords_that_log_in_and_a_working_resident_page(db, client):
    data = run_json("seeddemo", "--json")
    for login in data["logins"]:
        assert len(login["password"]) >= 12
        assert client.login(username=login["username"], password=login["password"])
    page = client.get(data["resident"].removeprefix(settings.PUBLIC_URL))
    assert page.status_code == 200
    assert "Welkom bij Gemeente Demodam" in page.content.decode()


def test_seeddemo_text_output_names_the_logins(db):
    text = run("seeddemo", "--password", "demo-wachtwoord-3")
    assert "Omnidesk demo is ready." in text
    for username in ("anna", "bram", "sanne"):
        assert f"{username} / demo-wachtwoord-3" in text


def test_seeddemo_keeps_an_existing_demo_sandbox_and_its_messages(db, client):
    run("seeddemo", "--password", "demo-wachtwoord-4")
    account = ChannelAccount.objects.get(municipality__slug="demo", plugin_key="sandbox")
    assert post_sandbox(client, account, {"id": "1", "text": "Hoi"}).status_code == 403  # its own generated secret
    secret = account_context(account).config["signing_secret"]
    run("seeddemo", "--password", "demo-wachtwoord-4")
    account.refresh_from_db()
    assert account_context(account).config["signing_secret"] == secret
