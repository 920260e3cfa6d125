"""Opt-out (SMS STOP) is recorded per (our account, their number), shown, and enforced before any provider call."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.utils import translation

from omnidesk.contacts.models import OptOut
from omnidesk.inbound.services import ingest_events
from omnidesk.outbound.services import Outcome, deliver
from omnidesk.plugin_api import ConsentChange, IdentityKind, IdentityRef, InboundMessage
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import NotAllowed, reply_create
from tests.factories import sandbox_account

AT = datetime(2026, 11, 28, 9, tzinfo=timezone.utc)
NUMBER = IdentityRef(IdentityKind.PHONE, "06-12345678")


def _stop(account, keyword: str = "STOP", opted_out: bool = True, message_id: str = "sms-1") -> None:
    ingest_events(account=account, events=(
        InboundMessage(provider_message_id=message_id, sender=NUMBER, text=keyword, sent_at=AT),
        ConsentChange(sender=NUMBER, opted_out=opted_out, keyword=keyword, occurred_at=AT),
    ))


def test_stop_is_recorded_shown_and_refuses_replies(account, agent, agent_client):
    _stop(account)
    ticket = Ticket.objects.get()
    optout = OptOut.objects.get()
    assert (optout.channel_account, optout.identity.value, optout.keyword) == (account, "+31612345678", "STOP")
    event = Message.objects.get(kind="event")
    assert event.metadata["event"] == "opted_out"

    # Dutch is the default language; the reason is checked in English.
    with translation.override("en"), pytest.raises(NotAllowed, match="opted out"):
        reply_create(ticket=ticket, author=agent, text="Toch nog even dit")
    page = agent_client.get(f"/tickets/{ticket.number}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "opted out of Sandbox" in page
    assert 'formaction="/tickets/1/note/"' in page  # notes stay possible


def test_a_queued_reply_is_failed_without_calling_the_provider(municipality, agent, httpserver):
    account = sandbox_account(municipality, delivery_url=httpserver.url_for("/replies"))
    httpserver.expect_request("/replies").respond_with_json({"id": "peer-1"})
    ingest_events(account=account, events=(InboundMessage(provider_message_id="sms-0", sender=NUMBER, text="Hoi", sent_at=AT),))
    ticket = Ticket.objects.get()
    reply = reply_create(ticket=ticket, author=agent, text="Antwoord")
    _stop(account)  # arrives while the reply waits in the queue
    assert deliver(reply.pk) == (Outcome.FAILED, 0.0)
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.error_code) == ("failed", "opted_out")
    assert httpserver.log == []  # the provider peer was never called

    # The same path without the opt-out does reach the peer, so the assertion above can fail.
    OptOut.objects.all().delete()
    second = reply_create(ticket=ticket, author=agent, text="Nu wel")
    assert deliver(second.pk)[0] is Outcome.SENT
    assert len(httpserver.log) == 1


def test_start_opts_in_again_and_opt_out_is_per_account(account, municipality, agent):
    other = sandbox_account(municipality, name="Tweede nummer")
    _stop(account)
    assert OptOut.objects.count() == 1
    ingest_events(account=other, events=(InboundMessage(provider_message_id="x-1", sender=NUMBER, text="Hallo", sent_at=AT),))
    other_ticket = Ticket.objects.get(channel_account=other)
    assert reply_create(ticket=other_ticket, author=agent, text="Via het andere nummer mag het").delivery_status == "queued"

    _stop(account, "START", opted_out=False, message_id="sms-2")
    assert OptOut.objects.count() == 0
    assert Message.objects.filter(kind="event", metadata__event="opted_in").count() == 1
    ticket = Ticket.objects.get(channel_account=account)
    assert reply_create(ticket=ticket, author=agent, text="Welkom terug").delivery_status == "queued"


def test_repeated_stop_records_once(account):
    _stop(account)
    _stop(account, message_id="sms-again")
    assert OptOut.objects.count() == 1
    assert Message.objects.filter(kind="event").count() == 1
