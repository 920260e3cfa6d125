"""End to end against the local provider peers: signed webhooks into the real endpoint, replies over real HTTP."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context, webhook_url
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.contacts.models import OptOut
from omnidesk.inbound.media import fetch_and_store
from omnidesk.outbound.services import Outcome, deliver
from omnidesk.plugin_api import PermanentDeliveryError
from omnidesk.tenants.models import Municipality
from omnidesk.tenants.services import municipality_create
from omnidesk.tickets.models import Attachment, DeliveryEvent, Message
from omnidesk.tickets.services import NotAllowed, reply_create

from channels_plugins.sms.adapter import SmsAdapter
from channels_plugins.sms.peers import BirdPeer, TwilioPeer
from channels_plugins.sms.tests.support import (
    OUR_NUMBER,
    RESIDENT,
    TWILIO_SID,
    bird_config,
    bird_peer,
    twilio_config,
    twilio_peer,
)

JPEG = b"\xff\xd8\xff\xe0" + b"lantaarnpaal" * 200


@pytest.fixture
def twilio() -> Iterator[TwilioPeer]:
    with twilio_peer() as peer:
        yield peer  # type: ignore[misc]


@pytest.fixture
def bird() -> Iterator[BirdPeer]:
    with bird_peer() as peer:
        yield peer  # type: ignore[misc]


@pytest.fixture
def town(db: None) -> Municipality:
    return municipality_create(slug="sms-town", name="SMS Town")


@pytest.fixture
def agent(db: None):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user(username="sms-agent", password="correct-horse-battery")


def sms_account(town: Municipality, config: dict) -> ChannelAccount:
    name = f"SMS {config['provider']} {ChannelAccount.objects.filter(municipality=town).count() + 1}"
    return channel_account_create(municipality=town, plugin_key="sms", name=name, config=config)


def inbound_ticket(account: ChannelAccount):  # type: ignore[no-untyped-def]
    return Message.objects.filter(channel_account=account, direction="inbound").latest("id").ticket


# --- Twilio ----------------------------------------------------------------------------------------------
def test_twilio_inbound_sms_is_stored_and_answered_with_empty_twiml(client, town, twilio) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, twilio_config(twilio.url))
    response = twilio.inbound(webhook_url(account), "Mijn container is niet geleegd", sender=RESIDENT).via(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml") and response.content == b"<Response/>"
    message = Message.objects.get(channel_account=account, direction="inbound")
    assert message.text == "Mijn container is niet geleegd" and message.provider_message_id.startswith("SM")
    assert (message.ticket.identity.kind, message.ticket.identity.value) == ("phone", RESIDENT)


def test_same_resident_on_twilio_and_bird_is_one_contact(client, town, twilio, bird) -> None:  # type: ignore[no-untyped-def]
    on_twilio = sms_account(town, twilio_config(twilio.url))
    on_bird = sms_account(town, bird_config(bird.url))
    assert twilio.inbound(webhook_url(on_twilio), "Hallo", sender=RESIDENT).via(client).status_code == 200
    assert bird.inbound(webhook_url(on_bird), "Nog een vraag", sender=RESIDENT).via(client).status_code == 200
    assert inbound_ticket(on_twilio).contact_id == inbound_ticket(on_bird).contact_id


def test_twilio_bad_signature_is_refused_with_nothing_stored(client, town, twilio) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, twilio_config(twilio.url))
    impostor = TwilioPeer(account_sid=TWILIO_SID, auth_token="not-the-token")
    try:
        forged = impostor.inbound(webhook_url(account), "Hallo", sender=RESIDENT)
        status = impostor.status(webhook_url(account), "SM" + "1" * 32, "delivered")
    finally:
        impostor.stop()
    assert forged.via(client).status_code == 403
    assert status.via(client).status_code == 403
    assert not Message.objects.exists() and not DeliveryEvent.objects.exists()


def test_twilio_reply_is_delivered_and_statuses_never_go_backwards(client, town, agent, twilio) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, twilio_config(twilio.url))
    twilio.inbound(webhook_url(account), "Wanneer is het stadhuis open?", sender=RESIDENT).via(client)
    reply = reply_create(ticket=inbound_ticket(account), author=agent, text="Van 9 tot 17 uur, € 0 entree {gratis}")
    assert deliver(reply.pk) == (Outcome.SENT, 0.0)
    [sent] = twilio.sent
    assert sent["to"] == RESIDENT and sent["from"] == OUR_NUMBER and sent["body"] == reply.text
    assert sent["status_callback"] == webhook_url(account)
    reply.refresh_from_db()
    assert reply.provider_message_id == sent["sid"] and reply.delivery_status == "sent"
    for status, shown in [("delivered", "delivered"), ("sent", "delivered"), ("queued", "delivered")]:
        assert twilio.status(sent["status_callback"], sent["sid"], status).via(client).status_code == 200
        reply.refresh_from_db()
        assert reply.delivery_status == shown
    assert len(twilio.sends()) == 1


def test_twilio_undelivered_status_shows_the_code_explained(client, town, agent, twilio) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, twilio_config(twilio.url))
    twilio.inbound(webhook_url(account), "Hallo", sender=RESIDENT).via(client)
    reply = reply_create(ticket=inbound_ticket(account), author=agent, text="Wij bellen u morgen.")
    deliver(reply.pk)
    reply.refresh_from_db()
    twilio.status(webhook_url(account), reply.provider_message_id, "undelivered", error_code="30003").via(client)
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.error_code) == ("failed", "30003")
    assert reply.error_message == "The phone is switched off or out of reach."


def test_twilio_500_is_retried_then_delivered(client, town, agent, twilio) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, twilio_config(twilio.url))
    twilio.inbound(webhook_url(account), "Hallo", sender=RESIDENT).via(client)
    reply = reply_create(ticket=inbound_ticket(account), author=agent, text="Een moment geduld.")
    twilio.fail_next(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
    outcome, delay = deliver(reply.pk)
    reply.refresh_from_db()
    assert outcome is Outcome.RETRY and delay > 0
    assert (reply.delivery_status, reply.error_code, reply.provider_message_id) == ("queued", "20500", "")
    assert deliver(reply.pk)[0] is Outcome.SENT
    reply.refresh_from_db()
    assert reply.delivery_status == "sent" and reply.provider_message_id == twilio.sent[0]["sid"]
    assert len(twilio.sends()) == 2 and len(twilio.sent) == 1


def test_twilio_429_waits_as_long_as_twilio_asks(client, town, agent, twilio) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, twilio_config(twilio.url))
    twilio.inbound(webhook_url(account), "Hallo", sender=RESIDENT).via(client)
    reply = reply_create(ticket=inbound_ticket(account), author=agent, text="Even wachten.")
    twilio.fail_next(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "120"})
    outcome, delay = deliver(reply.pk)
    assert outcome is Outcome.RETRY and delay >= 120


def test_twilio_21610_fails_permanently_with_an_explanation(client, town, agent, twilio) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, twilio_config(twilio.url))
    twilio.inbound(webhook_url(account), "Hallo", sender=RESIDENT).via(client)
    reply = reply_create(ticket=inbound_ticket(account), author=agent, text="Bericht")
    twilio.fail_next(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400})
    assert deliver(reply.pk)[0] is Outcome.FAILED
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.error_code) == ("failed", "21610")
    assert "unsubscribed (replied STOP)" in reply.error_message
    # Twilio knew of a STOP we never saw: the opt-out is recorded, so the next reply is refused before any call.
    from omnidesk.contacts.models import OptOut
    from omnidesk.tickets.services import NotAllowed

    assert OptOut.objects.filter(channel_account=account, keyword="21610").exists()
    with pytest.raises(NotAllowed):
        reply_create(ticket=inbound_ticket(account), author=agent, text="Nog een bericht")


def test_stop_opts_out_refuses_sends_before_the_provider_and_start_resubscribes(client, town, agent, twilio) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, twilio_config(twilio.url))
    twilio.inbound(webhook_url(account), "Hallo", sender=RESIDENT).via(client)
    queued_before_stop = reply_create(ticket=inbound_ticket(account), author=agent, text="Was al onderweg")
    assert twilio.inbound(webhook_url(account), "stop", sender=RESIDENT).via(client).status_code == 200
    assert OptOut.objects.filter(channel_account=account, keyword="STOP").exists()
    assert Message.objects.filter(channel_account=account, direction="inbound", text="stop").exists()  # agents see it
    with pytest.raises(NotAllowed):
        reply_create(ticket=inbound_ticket(account), author=agent, text="Toch nog dit")
    assert deliver(queued_before_stop.pk)[0] is Outcome.FAILED
    queued_before_stop.refresh_from_db()
    assert queued_before_stop.error_code == "opted_out"
    assert twilio.sends() == []  # the provider was never called
    twilio.inbound(webhook_url(account), "START", sender=RESIDENT).via(client)
    assert not OptOut.objects.filter(channel_account=account).exists()
    assert deliver(reply_create(ticket=inbound_ticket(account), author=agent, text="Welkom terug").pk)[0] is Outcome.SENT


def test_twilio_mms_media_is_fetched_from_the_provider(client, town, twilio) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, twilio_config(twilio.url))
    media_url = twilio.add_media(f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/MM{'7' * 32}/Media/ME{'8' * 32}",
                                 JPEG, "image/jpeg")
    twilio.inbound(webhook_url(account), "Foto", sender=RESIDENT, media=((media_url, "image/jpeg"),)).via(client)
    attachment = Attachment.objects.get(message__channel_account=account)
    assert attachment.provider_media_id == media_url and attachment.content_type == "image/jpeg"
    assert fetch_and_store(attachment.pk) is True
    attachment.refresh_from_db()
    with attachment.file.open("rb") as stored:
        assert stored.read() == JPEG
    [fetch] = [r for r in twilio.requests if r.method == "GET"]
    assert fetch.headers["authorization"].startswith("Basic ")


def test_media_is_only_fetched_from_the_providers_hosts(town) -> None:  # type: ignore[no-untyped-def]
    for config in (twilio_config("http://127.0.0.1:9"), bird_config("http://127.0.0.1:9")):
        account = account_context(sms_account(town, config))
        with pytest.raises(PermanentDeliveryError) as refused:
            SmsAdapter().fetch_media(account, "https://evil.example/steal?token=1", 10_000)
        assert refused.value.code == "foreign_host"


def test_connection_check_against_the_peers(town, twilio, bird) -> None:  # type: ignore[no-untyped-def]
    adapter = SmsAdapter()
    assert adapter.check_connection(account_context(sms_account(town, twilio_config(twilio.url)))).ok
    assert adapter.check_connection(account_context(sms_account(town, bird_config(bird.url)))).ok
    wrong = adapter.check_connection(account_context(sms_account(town, twilio_config(twilio.url, auth_token="nope"))))
    assert not wrong.ok and "refused" in wrong.detail
    unreachable = adapter.check_connection(account_context(sms_account(town, bird_config("http://127.0.0.1:9"))))
    assert not unreachable.ok


# --- Bird ------------------------------------------------------------------------------------------------
def test_bird_inbound_reply_and_delivery_report(client, town, agent, bird) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, bird_config(bird.url))
    response = bird.inbound(webhook_url(account), "Is mijn paspoort klaar?", sender=RESIDENT).via(client)
    assert response.status_code == 200 and response.json()["messages"] == 1
    reply = reply_create(ticket=inbound_ticket(account), author=agent, text="Ja, u kunt het ophalen 🙂")
    assert deliver(reply.pk)[0] is Outcome.SENT
    [sent] = bird.sent
    assert (sent["to"], sent["body"], sent["reference"]) == (RESIDENT, reply.text, str(reply.pk))
    assert bird.sends()[0].headers["authorization"] == "AccessKey contract-access-key"
    reply.refresh_from_db()
    assert reply.provider_message_id == sent["id"]
    bird.status(webhook_url(account), sent["id"], "delivered").via(client)
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered"
    # A late failure report does not undo the delivery.
    bird.status(webhook_url(account), sent["id"], "delivery_failed", details="unknown_subscriber").via(client)
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered"


def test_bird_delivery_failure_is_explained(client, town, agent, bird) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, bird_config(bird.url))
    bird.inbound(webhook_url(account), "Hallo", sender=RESIDENT).via(client)
    reply = reply_create(ticket=inbound_ticket(account), author=agent, text="Antwoord")
    deliver(reply.pk)
    reply.refresh_from_db()
    bird.status(webhook_url(account), reply.provider_message_id, "delivery_failed", details="unknown_subscriber",
                reason="unknown subscriber", failure_code=15005).via(client)
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.error_code) == ("failed", "15005")
    assert reply.error_message.startswith("The number does not exist")


def test_bird_bad_or_stale_signature_is_refused_with_nothing_stored(client, town, bird) -> None:  # type: ignore[no-untyped-def]
    import time

    account = sms_account(town, bird_config(bird.url))
    impostor = BirdPeer(signing_key="not-the-key")
    try:
        assert impostor.inbound(webhook_url(account), "Hallo").via(client).status_code == 403
    finally:
        impostor.stop()
    replayed = bird.inbound(webhook_url(account), "Hallo", timestamp=time.time() - 3600)
    assert replayed.via(client).status_code == 403
    assert not Message.objects.exists()


def test_bird_stop_and_a_503_retry(client, town, agent, bird) -> None:  # type: ignore[no-untyped-def]
    account = sms_account(town, bird_config(bird.url))
    bird.inbound(webhook_url(account), "Hallo", sender=RESIDENT).via(client)
    reply = reply_create(ticket=inbound_ticket(account), author=agent, text="Antwoord")
    bird.fail_next(503, "upstream unavailable", {"Retry-After": "5"})
    outcome, delay = deliver(reply.pk)
    assert outcome is Outcome.RETRY and delay >= 5
    assert deliver(reply.pk)[0] is Outcome.SENT
    bird.inbound(webhook_url(account), "UNSUBSCRIBE", sender=RESIDENT).via(client)
    with pytest.raises(NotAllowed):
        reply_create(ticket=inbound_ticket(account), author=agent, text="Nog iets")
    assert len(bird.sends()) == 2


# --- over real HTTP, behind a proxy ------------------------------------------------------------------------
def test_twilio_webhook_over_real_http_behind_a_proxy(live_server, twilio) -> None:  # type: ignore[no-untyped-def]
    """Twilio calls the public URL; the proxy forwards to Omnidesk's own address. The signature covers the former."""
    town = municipality_create(slug="proxy-town", name="Proxy Town")
    public = "https://sms.gemeente.example"
    account = sms_account(town, twilio_config(twilio.url, public_base_url=public))
    path = f"/webhooks/{account.public_id}/"
    signed = twilio.inbound(public + path, "Via de proxy", sender=RESIDENT)
    response = signed.post(to=live_server.url + path)
    assert response.status_code == 200 and response.text == "<Response/>"
    assert Message.objects.get(channel_account=account).text == "Via de proxy"
    forged = twilio.inbound(live_server.url + path, "Zonder proxy", sender=RESIDENT)  # signed for the wrong URL
    assert forged.post().status_code == 403
