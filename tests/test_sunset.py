"""Switching a channel off, with a sunset: signed webhooks from the real WhatsApp and SMS peers to a switched-off
account are acknowledged and counted but make no ticket, contact or message; each resident gets the sunset reply
(through the same peer) at most once per period; agents cannot reply; the admin sees and exports the counts."""
from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.urls import reverse

from channels_plugins.sms.tests.support import RESIDENT, twilio_config, twilio_peer
from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import webhook_url
from omnidesk.channel_accounts.services import channel_account_create, channel_account_set_enabled
from omnidesk.contacts.models import Contact, ContactIdentity
from omnidesk.outbound.services import Outcome
from omnidesk.sunset.models import ReplyStatus, SunsetContact
from omnidesk.sunset.services import sunset_reply_send
from omnidesk.tenants.models import Role
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import NotAllowed, reply_create
from tests.conftest import run_at_once, wait_until
from tests.factories import MembershipFactory, MunicipalityFactory

NL = "We beantwoorden geen WhatsApp meer. Chat op www.gemeente.nl of bel 14 030."
EN = "We no longer answer WhatsApp. Chat on www.gemeente.nl or call 14 030."
SANNE, MO = "31612345678", "31687654321"  # WhatsApp ids: E.164 without the plus


@pytest.fixture
def eager(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the reply task runs in-process, right after the webhook's commit


@pytest.fixture
def graph() -> Iterator[GraphPeer]:
    with GraphPeer() as peer:
        yield peer


def switch_off(account: ChannelAccount, nl: str = NL, en: str = EN, period_days: int = 30) -> ChannelAccount:
    ChannelAccount.objects.filter(pk=account.pk).update(sunset_reply_nl=nl, sunset_reply_en=en,
                                                        sunset_period_days=period_days)
    account.refresh_from_db()
    return channel_account_set_enabled(account=account, enabled=False)


@pytest.fixture
def whatsapp(transactional_db, municipality, graph) -> ChannelAccount:  # type: ignore[no-untyped-def]
    account = channel_account_create(municipality=municipality, plugin_key="whatsapp", name="WhatsApp",
                                     config=graph.account_config())
    return switch_off(account)


def post(client: Client, account: ChannelAccount, graph: GraphPeer, payload: dict):  # type: ignore[no-untyped-def]
    body, headers = graph.signed(payload)
    return client.post(f"/webhooks/{account.public_id}/", data=body, content_type="application/json",
                       headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]})


def nothing_but_sunset_contacts() -> bool:
    return not (Ticket.objects.exists() or Message.objects.exists() or Contact.objects.exists()
                or ContactIdentity.objects.exists())


def replies(graph: GraphPeer) -> list[tuple[str, str]]:
    return [(sent["to"], sent["text"]["body"]) for sent in graph.sent]


# --- WhatsApp --------------------------------------------------------------------------------------------------
def test_whatsapp_residents_are_counted_and_each_answered_once_per_period(client, whatsapp, graph, eager):
    first = graph.inbound(SANNE, text="Is het gemeentehuis open?", name="Sanne")
    response = post(client, whatsapp, graph, first)
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": "channel_disabled"}
    assert nothing_but_sunset_contacts()
    assert replies(graph) == [(SANNE, f"{NL}\n\n{EN}")]
    assert graph.sent[0]["biz_opaque_callback_data"] == f"sunset-{SunsetContact.objects.get().pk}"
    contact = SunsetContact.objects.get()
    assert (contact.municipality_id, contact.identity_kind, contact.identity_value) == (
        whatsapp.municipality_id, "phone", "+31612345678")
    assert (contact.reply_status, contact.reply_attempts, contact.provider_message_id) == (
        ReplyStatus.SENT, 1, first["entry"][0]["changes"][0]["value"]["messages"][0]["id"])

    # The provider redelivers the same webhook, and reports the reply delivered: nothing new.
    assert post(client, whatsapp, graph, first).status_code == 200
    assert post(client, whatsapp, graph, graph.status(graph.sent[0]["_wamid"], "delivered")).status_code == 200
    assert SunsetContact.objects.count() == 1 and len(graph.sent) == 1

    # She writes again within the period: counted, not answered. Mo writes: answered.
    assert post(client, whatsapp, graph, graph.inbound(SANNE, text="Hallo?")).status_code == 200
    assert post(client, whatsapp, graph, graph.inbound(MO, text="Mijn paspoort")).status_code == 200
    assert replies(graph) == [(SANNE, f"{NL}\n\n{EN}"), (MO, f"{NL}\n\n{EN}")]
    assert list(SunsetContact.objects.order_by("id").values_list("identity_value", "reply_status")) == [
        ("+31612345678", "sent"), ("+31612345678", ""), ("+31687654321", "sent")]

    # A period (30 days) later she is answered again.
    SunsetContact.objects.filter(identity_value="+31612345678").update(received_at=F("received_at") - timedelta(days=31))
    assert post(client, whatsapp, graph, graph.inbound(SANNE, text="Nog steeds dicht?")).status_code == 200
    assert [to for to, _ in replies(graph)] == [SANNE, MO, SANNE]
    assert SunsetContact.objects.count() == 4
    assert nothing_but_sunset_contacts()


def test_while_crisis_mode_is_on_the_sunset_reply_starts_with_the_crisis_message(client, whatsapp, graph, eager):
    municipality = whatsapp.municipality
    municipality.crisis_active = True
    municipality.crisis_message_nl, municipality.crisis_message_en = "Stroomstoring: bel 112.", "Power cut: call 112."
    municipality.save()
    post(client, whatsapp, graph, graph.inbound(SANNE, text="Hallo"))
    assert replies(graph) == [(SANNE, f"Stroomstoring: bel 112.\n\nPower cut: call 112.\n\n{NL}\n\n{EN}")]


def test_without_a_sunset_text_residents_are_counted_but_not_answered(client, whatsapp, graph, eager):
    switch_off(whatsapp, nl="", en="")
    assert post(client, whatsapp, graph, graph.inbound(SANNE, text="Hallo")).status_code == 200
    assert graph.sent == []
    assert list(SunsetContact.objects.values_list("identity_value", "reply_status")) == [("+31612345678", "")]


def test_one_language_is_enough(client, whatsapp, graph, eager):
    switch_off(whatsapp, nl="Bel 14 030.", en="")
    post(client, whatsapp, graph, graph.inbound(SANNE, text="Hallo"))
    assert replies(graph) == [(SANNE, "Bel 14 030.")]


def test_a_bad_signature_or_body_is_still_refused_and_stores_nothing(client, whatsapp, graph, eager):
    body, _headers = graph.signed(graph.inbound(SANNE, text="Hallo"))
    url = f"/webhooks/{whatsapp.public_id}/"
    forged = GraphPeer(app_secret="not-the-app-secret")
    assert client.post(url, data=body, content_type="application/json").status_code == 403
    assert post(client, whatsapp, forged, forged.inbound(SANNE, text="Hallo")).status_code == 403
    _body, headers = graph.signed({"object": "whatsapp_business_account", "entry": "geen lijst"})
    malformed = client.post(url, data=b'{"object": "whatsapp_business_account", "entry": "geen lijst"}',
                            content_type="application/json", headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]})
    assert malformed.status_code == 400
    assert not SunsetContact.objects.exists() and graph.sent == []


def test_the_same_webhook_delivered_three_times_at_once_is_one_contact_and_one_reply(whatsapp, graph, eager):
    body, headers = graph.signed(graph.inbound(SANNE, text="Hallo?"))

    def deliver() -> int:
        return Client().post(f"/webhooks/{whatsapp.public_id}/", data=body, content_type="application/json",
                             headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]}).status_code

    assert run_at_once(deliver, [()] * 3) == [200, 200, 200]
    assert SunsetContact.objects.count() == 1
    assert replies(graph) == [(SANNE, f"{NL}\n\n{EN}")]


def test_a_resident_writing_three_times_at_once_is_answered_once(whatsapp, graph, eager):
    signed = [graph.signed(graph.inbound(SANNE, text=f"Bericht {n}")) for n in range(3)]

    def deliver(body: bytes, headers: dict[str, str]) -> int:
        return Client().post(f"/webhooks/{whatsapp.public_id}/", data=body, content_type="application/json",
                             headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]}).status_code

    assert run_at_once(deliver, signed) == [200, 200, 200]
    assert SunsetContact.objects.count() == 3
    assert sorted(SunsetContact.objects.values_list("reply_status", flat=True)) == ["", "", "sent"]
    assert len(graph.sent) == 1


def test_a_database_error_is_answered_503_so_the_provider_retries(client, whatsapp, graph, eager):
    """Another transaction holds the account's row: the webhook's lock times out, a real database error."""
    body, headers = graph.signed(graph.inbound(SANNE, text="Hallo?"))
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                ChannelAccount.objects.select_for_update().get(pk=whatsapp.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        try:
            refused = client.post(f"/webhooks/{whatsapp.public_id}/", data=body, content_type="application/json",
                                  headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]})
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        release.set()
        holder.join(timeout=10)
    assert refused.status_code == 503 and refused["Retry-After"] == "30"
    assert not SunsetContact.objects.exists() and graph.sent == []
    # The provider's retry then goes through.
    again = client.post(f"/webhooks/{whatsapp.public_id}/", data=body, content_type="application/json",
                        headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]})
    assert again.status_code == 200 and SunsetContact.objects.count() == 1 and len(graph.sent) == 1


# --- SMS (Twilio) ----------------------------------------------------------------------------------------------
def test_sms_gets_its_twiml_answer_and_stop_is_counted_but_never_answered(client, transactional_db, municipality, eager):
    with twilio_peer() as twilio:
        account = switch_off(channel_account_create(municipality=municipality, plugin_key="sms", name="SMS",
                                                    config=twilio_config(twilio.url)))
        url = webhook_url(account)
        response = twilio.inbound(url, "Mijn container is niet geleegd", sender=RESIDENT).via(client)
        assert response.status_code == 200 and response.content == b"<Response/>"
        assert [(sent["to"], sent["body"]) for sent in twilio.sent] == [(RESIDENT, f"{NL}\n\n{EN}")]

        assert twilio.inbound(url, "Nog iets", sender=RESIDENT).via(client).status_code == 200
        assert twilio.inbound(url, "STOP", sender="+31687654321").via(client).status_code == 200
        assert twilio.status(url, twilio.sent[0]["sid"], "delivered", to=RESIDENT).via(client).status_code == 200
        assert len(twilio.sent) == 1
        assert list(SunsetContact.objects.order_by("id").values_list("identity_value", "reply_status")) == [
            (RESIDENT, "sent"), (RESIDENT, ""), ("+31687654321", "")]
        assert nothing_but_sunset_contacts()

        # Another resident is answered; a bad signature is still refused.
        assert twilio.inbound(url, "Hallo", sender="+31611112222").via(client).status_code == 200
        assert [sent["to"] for sent in twilio.sent] == [RESIDENT, "+31611112222"]
        tampered = twilio.inbound(url, "Hallo", sender="+31611113333")
        forged = client.generic("POST", f"/webhooks/{account.public_id}/", data=tampered.body.replace(b"Hallo", b"Hoi"),
                                content_type=tampered.content_type, headers=tampered.headers)
        assert forged.status_code == 403 and SunsetContact.objects.count() == 4


def test_a_stop_to_a_switched_off_number_holds_later_and_after_it_is_switched_on(client, transactional_db,
                                                                                  municipality, eager):
    from omnidesk.contacts.selectors import is_opted_out

    with twilio_peer() as twilio:
        account = switch_off(channel_account_create(municipality=municipality, plugin_key="sms", name="SMS",
                                                    config=twilio_config(twilio.url)))
        url = webhook_url(account)
        assert twilio.inbound(url, "STOP", sender=RESIDENT).via(client).status_code == 200
        # Never answered before, so without the STOP this message would get the sunset reply.
        assert twilio.inbound(url, "Waarom antwoordt u niet?", sender=RESIDENT).via(client).status_code == 200
        assert twilio.inbound(url, "Hallo", sender="+31611112222").via(client).status_code == 200
        assert [sent["to"] for sent in twilio.sent] == ["+31611112222"], "only the other resident is answered"
        assert list(SunsetContact.objects.order_by("id").values_list("identity_value", "opted_out")) == [
            (RESIDENT, True), (RESIDENT, None), ("+31611112222", None)]
        assert nothing_but_sunset_contacts(), "a closed channel still makes no contacts"

        channel_account_set_enabled(account=account, enabled=True)
        identity = ContactIdentity.objects.get(value=RESIDENT)
        assert is_opted_out(channel_account_id=account.pk, identity=identity), "the STOP holds on the open channel"
        assert not ContactIdentity.objects.filter(value="+31611112222").exists()


# --- the reply task --------------------------------------------------------------------------------------------
def queued(account: ChannelAccount, value: str = "+31612345678") -> SunsetContact:
    return SunsetContact.objects.create(municipality=account.municipality, channel_account=account,
                                        identity_kind="phone", identity_value=value, reply_status=ReplyStatus.QUEUED)


def test_the_task_sends_a_queued_reply_once_however_often_it_runs(whatsapp, graph):
    contact = queued(whatsapp)
    assert run_at_once(sunset_reply_send, [(contact.pk,)] * 2) in (
        [(Outcome.SENT, 0.0), (Outcome.SKIPPED, 0.0)], [(Outcome.SKIPPED, 0.0), (Outcome.SENT, 0.0)])
    assert sunset_reply_send(contact.pk) == (Outcome.SKIPPED, 0.0)
    assert len(graph.sent) == 1
    assert SunsetContact.objects.get().reply_status == ReplyStatus.SENT


def test_a_refused_reply_fails_with_the_providers_reason(whatsapp, graph):
    graph.fail_next(131026, "Message undeliverable", details="Receiver is incapable of receiving this message")
    contact = queued(whatsapp)
    assert sunset_reply_send(contact.pk) == (Outcome.FAILED, 0.0)
    graph.fail_next(190, "Error validating access token", http_status=401)
    other = queued(whatsapp, "+31687654321")
    assert sunset_reply_send(other.pk) == (Outcome.FAILED, 0.0)
    failed = {c.identity_value: c for c in SunsetContact.objects.all()}
    assert {c.reply_status for c in failed.values()} == {ReplyStatus.FAILED}
    assert all(c.reply_error and c.reply_attempts == 1 for c in failed.values())
    assert graph.sent == []
    assert ChannelAccount.objects.get(pk=whatsapp.pk).problem == ""  # a switched-off account raises no banner


def test_a_reply_waiting_when_the_channel_is_switched_on_again_is_not_sent(whatsapp, graph):
    contact = queued(whatsapp)
    channel_account_set_enabled(account=whatsapp, enabled=True)
    assert sunset_reply_send(contact.pk) == (Outcome.SKIPPED, 0.0)
    assert graph.sent == [] and SunsetContact.objects.get().reply_status == ReplyStatus.NONE


@pytest.mark.stack
def test_the_worker_retries_a_transient_failure_and_sends_once(client, celery_worker_process, whatsapp, graph):
    graph.fail_next_raw(503, "overloaded")
    assert post(client, whatsapp, graph, graph.inbound(SANNE, text="Hallo?")).status_code == 200

    def done() -> bool:
        return SunsetContact.objects.filter(reply_status=ReplyStatus.SENT).exists()

    wait_until(done, timeout=30, message=f"the sunset reply; worker log:\n{celery_worker_process.output()[-3000:]}")
    contact = SunsetContact.objects.get()
    assert (contact.reply_attempts, contact.reply_error) == (2, "")
    assert replies(graph) == [(SANNE, f"{NL}\n\n{EN}")]


# --- agents ----------------------------------------------------------------------------------------------------
def test_an_agent_cannot_reply_on_a_switched_off_channel(client, transactional_db, municipality, graph, agent,
                                                           agent_client, eager):
    account = channel_account_create(municipality=municipality, plugin_key="whatsapp", name="WhatsApp",
                                     config=graph.account_config())
    assert post(client, account, graph, graph.inbound(SANNE, text="Waar blijft mijn vergunning?")).status_code == 200
    ticket = Ticket.objects.get()
    switch_off(account)

    with pytest.raises(NotAllowed):
        reply_create(ticket=ticket, author=agent, text="Die komt eraan.")
    refused = agent_client.post(reverse("dashboard:reply", args=[ticket.number]), {"text": "Die komt eraan."},
                                headers={"Accept": "application/json"})
    assert refused.status_code == 400 and refused.json()["ok"] is False and refused.json()["errors"]
    assert Message.objects.filter(direction="outbound").count() == 0 and graph.sent == []

    page = agent_client.get(reverse("dashboard:ticket", args=[ticket.number])).content.decode()
    composer = page[page.index('<div class="composer-wrap">'):page.index('<aside class="contact-panel"')]
    assert 'id="reply-window" data-channel-off' in composer
    assert 'class="primary"' not in composer  # no "send reply" or "send template"
    assert 'formaction="' in composer  # internal notes still work


# --- the admin's page and export -------------------------------------------------------------------------------
@pytest.fixture
def counted(db, municipality) -> dict[str, ChannelAccount]:  # type: ignore[no-untyped-def]
    """A switched-off WhatsApp (three contacts of two residents, one answered long ago) and a live SMS account."""
    off = switch_off(channel_account_create(municipality=municipality, plugin_key="sandbox", name="Oude WhatsApp",
                                            config={"signing_secret": "s3cret-signing"}))
    live = channel_account_create(municipality=municipality, plugin_key="sandbox", name="Sms",
                                  config={"signing_secret": "s3cret-signing"})
    rows = [("+31612345678", ReplyStatus.SENT, 40), ("+31612345678", ReplyStatus.NONE, 2),
            ("+31687654321", ReplyStatus.SENT, 1)]
    for value, status, days_ago in rows:
        contact = SunsetContact.objects.create(municipality=municipality, channel_account=off, identity_kind="phone",
                                               identity_value=value, reply_status=status)
        SunsetContact.objects.filter(pk=contact.pk).update(received_at=F("received_at") - timedelta(days=days_ago))
    return {"off": off, "live": live}


def test_the_admin_sees_totals_per_switched_off_channel_and_every_contact(municipal_admin_client, counted):
    response = municipal_admin_client.get(reverse("settings:sunset-contacts"))
    assert response.status_code == 200
    html = response.content.decode()
    off = counted["off"]
    for days, contacts, residents, answered in ((7, 2, 2, 1), (30, 2, 2, 1), (90, 3, 2, 2)):
        row = html[html.index(f'data-account="{off.pk}" data-days="{days}"'):]
        row = row[:row.index("</tr>")]
        assert (f'data-field="contacts">{contacts}<' in row and f'data-field="residents">{residents}<' in row
                and f'data-field="answered">{answered}<' in row), row
    assert f'data-account="{counted["live"].pk}" data-days' not in html  # switched on: no totals row
    assert html.count("data-contact=") == 3 and "+31687654321" in html
    nav = html[html.index('class="settings-nav"'):]
    assert f'href="{reverse("settings:sunset-contacts")}" aria-current="page"' in nav[:nav.index("</nav>")]


def test_the_list_filters_by_channel_and_date_and_exports_the_same_as_csv(municipal_admin_client, counted):
    from django.utils import timezone

    since = (timezone.localdate() - timedelta(days=10)).isoformat()
    query = {"account": counted["off"].pk, "since": since}
    html = municipal_admin_client.get(reverse("settings:sunset-contacts"), query).content.decode()
    assert html.count("data-contact=") == 2
    empty = municipal_admin_client.get(reverse("settings:sunset-contacts"), {"account": counted["live"].pk})
    assert empty.content.decode().count("data-contact=") == 0

    export = municipal_admin_client.get(reverse("settings:sunset-export"), query)
    assert export.status_code == 200 and export.streaming and export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0] == ["time", "channel", "channel_type", "resident_kind", "resident", "answer", "answer_error"]
    assert [(r[1], r[4], r[5]) for r in rows[1:]] == [("Oude WhatsApp", "+31687654321", "sent"),
                                                      ("Oude WhatsApp", "+31612345678", "none")]
    everything = municipal_admin_client.get(reverse("settings:sunset-export"))
    assert len(list(csv.reader(io.StringIO(b"".join(everything.streaming_content).decode())))) == 4

    wrong_order = municipal_admin_client.get(reverse("settings:sunset-contacts"), {"since": "2026-02-01",
                                                                                   "until": "2026-01-01"})
    assert wrong_order.status_code == 200 and 'aria-describedby="id_until-error"' in wrong_order.content.decode()


def test_only_admins_see_it_and_other_municipalities_accounts_are_not_found(client, municipality, counted):
    for role in (Role.AGENT, Role.SUPERVISOR):
        client.force_login(MembershipFactory(municipality=municipality, role=role).user)
        assert client.get(reverse("settings:sunset-contacts")).status_code == 403
        assert client.get(reverse("settings:sunset-export")).status_code == 403
    client.logout()
    assert client.get(reverse("settings:sunset-contacts")).status_code == 302  # to the login page

    neighbour = MunicipalityFactory()
    theirs = switch_off(channel_account_create(municipality=neighbour, plugin_key="sandbox", name="Hunne WhatsApp",
                                               config={"signing_secret": "s3cret-signing"}))
    SunsetContact.objects.create(municipality=neighbour, channel_account=theirs, identity_kind="phone",
                                 identity_value="+31699999999")
    client.force_login(MembershipFactory(municipality=municipality, role=Role.ADMIN).user)
    for name in ("settings:sunset-contacts", "settings:sunset-export"):
        assert client.get(reverse(name), {"account": theirs.pk}).status_code == 404
        assert client.get(reverse(name), {"account": "x"}).status_code == 404
    html = client.get(reverse("settings:sunset-contacts")).content.decode()
    assert "+31699999999" not in html and "Hunne WhatsApp" not in html


@pytest.mark.browser
@pytest.mark.stack
@pytest.mark.parametrize("language", ["nl-NL", "en-GB"])
def test_the_page_and_a_switched_off_tickets_composer_meet_wcag_21_aa(live_stack, browser, client, graph, language):
    from tests.accessibility import assert_accessible

    municipality = MunicipalityFactory()
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN).user
    account = channel_account_create(municipality=municipality, plugin_key="whatsapp", name="WhatsApp",
                                     config=graph.account_config())
    assert post(client, account, graph, graph.inbound(SANNE, text="Hallo")).status_code == 200
    switch_off(account)
    for value in ("+31612345678", "+31687654321"):
        SunsetContact.objects.create(municipality=municipality, channel_account=account, identity_kind="phone",
                                     identity_value=value, reply_status=ReplyStatus.SENT)
    page = browser.new_context(locale=language).new_page()
    page.goto(f"{live_stack}/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "correct-horse-battery")
    page.locator("button[type=submit]").click()
    page.wait_for_selector(".ticket-row")
    for path, ready in ((reverse("settings:sunset-contacts"), "#sunset-contacts"),
                        (reverse("dashboard:ticket", args=[Ticket.objects.get().number]), "[data-channel-off]")):
        page.goto(f"{live_stack}{path}")
        page.wait_for_selector(ready)
        assert_accessible(page, path)
    page.context.close()
