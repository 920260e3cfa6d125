"""The automatic reply to a new conversation, end to end: a resident writes through the sandbox webhook, the reply is
delivered (eagerly, after the webhook's commit) to a real HTTP peer behind the sandbox's `delivery_url`.

Hours are set relative to the real clock (no frozen time): "closed now" is a single opening day a few days ahead.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from channels_plugins.sandbox.adapter import SandboxAdapter
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.hours.holidays import closing_holidays
from omnidesk.hours.schedule import Period
from omnidesk.hours.services import opening_hours_set
from omnidesk.inbound.services import ingest_events
from omnidesk.plugin_api import AccountContext, IdentityKind, IdentityRef, InboundMessage
from omnidesk.plugin_api.testing import registered
from omnidesk.tenants.crisis import crisis_set
from omnidesk.tenants.models import Municipality
from omnidesk.tenants.services import municipality_update
from omnidesk.tickets.models import Message, Status, Ticket
from omnidesk.tickets.services import ticket_set_status
from tests.conftest import new_resident_id, post_sandbox

pytestmark = pytest.mark.usefixtures("transactional_db")

PEER_PATH = "/replies"
DAGEN = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]
MAANDEN = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
CRISIS_NL = "Door de storm is het gemeentehuis dicht. Kijk op www.gemeente.nl/storm."
CRISIS_EN = "The town hall is closed because of the storm. See www.gemeente.nl/storm."
ACKNOWLEDGEMENT = "Bedankt voor uw bericht. / Thank you for your message."


class AcknowledgingSandbox(SandboxAdapter):
    """The sandbox with an acknowledgement of its own, as the email channel has."""

    key = "sandboxack"

    def acknowledgement_text(self, account: AccountContext) -> str:
        return ACKNOWLEDGEMENT


@pytest.fixture
def eager(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the delivery task runs in-process, right after the webhook's commit


@pytest.fixture
def peer(httpserver):  # type: ignore[no-untyped-def]
    httpserver.expect_request(PEER_PATH, method="POST").respond_with_json({"id": "peer-1"}, status=202)
    return httpserver


@pytest.fixture
def channel(municipality, peer, eager) -> ChannelAccount:  # type: ignore[no-untyped-def]
    return channel_account_create(municipality=municipality, plugin_key="sandbox", name="Sandbox",
                                  config={"signing_secret": "s3cret-signing", "delivery_url": peer.url_for(PEER_PATH)})


@pytest.fixture
def acknowledging(municipality, peer, eager) -> Iterator[ChannelAccount]:  # type: ignore[no-untyped-def]
    with registered(AcknowledgingSandbox):
        yield channel_account_create(
            municipality=municipality, plugin_key="sandboxack", name="Met bevestiging",
            config={"signing_secret": "s3cret-signing", "delivery_url": peer.url_for(PEER_PATH)})


def delivered(peer) -> list[str]:  # type: ignore[no-untyped-def]
    return [json.loads(request.get_data())["text"] for request, _response in peer.log]


def automatic() -> list[Message]:
    return list(Message.objects.filter(metadata__automatic=True).order_by("pk"))


def write(account: ChannelAccount, text: str = "Mijn container is niet geleegd.", resident: str | None = None) -> str:
    resident = resident or new_resident_id()
    response = post_sandbox(Client(), account, {"id": new_resident_id()[:12], "text": text}, resident)
    assert response.status_code == 200, response.content
    return resident


def closed_now(municipality: Municipality) -> date:
    """Open only on one weekday, 09:00–17:00, two to six days ahead and not a public holiday: closed today, and the
    next opening is that day at 09:00."""
    today = timezone.localdate()
    holidays = {**closing_holidays(today.year, good_friday=municipality.closed_on_good_friday,
                                   liberation_day_every_year=municipality.closed_on_liberation_day),
                **closing_holidays(today.year + 1, good_friday=municipality.closed_on_good_friday,
                                   liberation_day_every_year=municipality.closed_on_liberation_day)}
    day = next(today + timedelta(days=n) for n in range(2, 7) if today + timedelta(days=n) not in holidays)
    opening_hours_set(municipality=municipality, periods=[Period(day.weekday(), time(9), time(17))], actor=None)
    return day


def open_now(municipality: Municipality, monkeypatch: pytest.MonkeyPatch) -> None:
    """Open all day every day. Public holidays are tested in test_hours; today may be one, so here they are not."""
    monkeypatch.setattr("omnidesk.hours.schedule.closing_holidays", lambda *args, **kwargs: {})
    opening_hours_set(municipality=municipality, periods=[Period(day, time.min, time.max) for day in range(7)],
                      actor=None)


def replies_on(municipality: Municipality) -> None:
    municipality_update(municipality=municipality, actor=None, fields={"out_of_hours_reply": True})


def dutch(day: date) -> str:
    return f"{DAGEN[day.weekday()]} {day.day} {MAANDEN[day.month - 1]}"


def english(day: date) -> str:
    return f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


# --- outside hours ---------------------------------------------------------------------------------------------------
def test_outside_hours_the_resident_gets_one_reply_with_the_next_opening_in_dutch_and_english(municipality, channel,
                                                                                            peer):
    replies_on(municipality)
    opening_day = closed_now(municipality)
    write(channel)
    [reply] = automatic()
    ticket = Ticket.objects.get()
    assert reply.ticket == ticket and reply.direction == "outbound" and reply.delivery_status == "sent"
    assert ticket.status == Status.NEW  # an automatic reply is not a first response
    assert delivered(peer) == [reply.text]
    dutch_part, english_part = reply.text.split("\n\n")
    assert dutch(opening_day) in dutch_part and "09:00" in dutch_part
    assert english(opening_day) in english_part and "09:00" in english_part


def test_an_admins_own_text_replaces_the_default_with_the_opening_filled_in(municipality, channel, peer):
    municipality_update(municipality=municipality, actor=None, fields={
        "out_of_hours_reply": True, "out_of_hours_text_nl": "Wij zijn dicht. Vanaf {opening} zijn we er weer.",
        "out_of_hours_text_en": ""})
    opening_day = closed_now(municipality)
    write(channel)
    [reply] = automatic()
    dutch_part, english_part = reply.text.split("\n\n")
    assert dutch_part.startswith("Wij zijn dicht. Vanaf ") and dutch(opening_day) in dutch_part
    assert "{opening}" not in reply.text
    assert english(opening_day) in english_part  # no English text of our own: the standard sentence


def test_nothing_is_sent_when_the_out_of_hours_reply_is_off_or_there_are_no_hours(municipality, channel, peer):
    closed_now(municipality)  # closed, but the reply is off (the default)
    write(channel)
    opening_hours_set(municipality=municipality, periods=[], actor=None)
    replies_on(municipality)  # on, but without hours there is no "outside hours"
    write(channel)
    assert Ticket.objects.count() == 2
    assert automatic() == [] and delivered(peer) == []


def test_a_channels_own_hours_decide(municipality, channel, peer, monkeypatch):
    replies_on(municipality)
    closed_now(municipality)
    # This channel is staffed around the clock: its own hours replace the municipality's.
    monkeypatch.setattr("omnidesk.hours.schedule.closing_holidays", lambda *args, **kwargs: {})
    opening_hours_set(municipality=municipality, channel_account=channel,
                      periods=[Period(day, time.min, time.max) for day in range(7)], actor=None)
    write(channel)
    assert automatic() == [] and delivered(peer) == []


# --- inside hours ------------------------------------------------------------------------------------------------------
def test_inside_hours_nothing_is_sent(municipality, channel, peer, monkeypatch):
    replies_on(municipality)
    open_now(municipality, monkeypatch)
    write(channel)
    assert Ticket.objects.count() == 1
    assert automatic() == [] and delivered(peer) == []


def test_inside_hours_only_the_channels_acknowledgement_is_sent(municipality, acknowledging, peer, monkeypatch):
    replies_on(municipality)
    open_now(municipality, monkeypatch)
    write(acknowledging)
    assert [m.text for m in automatic()] == [ACKNOWLEDGEMENT]
    assert delivered(peer) == [ACKNOWLEDGEMENT]


def test_outside_hours_the_notice_comes_before_the_acknowledgement_in_one_message(municipality, acknowledging, peer):
    replies_on(municipality)
    opening_day = closed_now(municipality)
    write(acknowledging)
    [reply] = automatic()
    parts = reply.text.split("\n\n")
    assert len(parts) == 3 and parts[2] == ACKNOWLEDGEMENT
    assert dutch(opening_day) in parts[0] and english(opening_day) in parts[1]
    assert delivered(peer) == [reply.text]


# --- crisis mode -------------------------------------------------------------------------------------------------------
def test_in_a_crisis_the_crisis_message_comes_first(municipality, acknowledging, peer, municipal_admin):
    replies_on(municipality)
    opening_day = closed_now(municipality)
    crisis_set(municipality=municipality, active=True, message_nl=CRISIS_NL, message_en=CRISIS_EN,
               actor=municipal_admin)
    write(acknowledging)
    [reply] = automatic()
    parts = reply.text.split("\n\n")
    assert parts[:2] == [CRISIS_NL, CRISIS_EN]
    assert dutch(opening_day) in parts[2] and english(opening_day) in parts[3]
    assert parts[4] == ACKNOWLEDGEMENT and len(parts) == 5
    assert delivered(peer) == [reply.text]


def test_in_a_crisis_without_hours_residents_get_the_crisis_message_once(municipality, channel, peer,
                                                                        municipal_admin):
    crisis_set(municipality=municipality, active=True, message_nl=CRISIS_NL, message_en="", actor=municipal_admin)
    write(channel)
    assert [m.text for m in automatic()] == [CRISIS_NL]  # the English falls back to the Dutch, sent once
    crisis_set(municipality=municipality, active=False, message_nl=CRISIS_NL, message_en="", actor=municipal_admin)
    write(channel)  # another resident, after the crisis
    assert len(automatic()) == 1 and delivered(peer) == [CRISIS_NL]


def test_a_resident_answered_earlier_today_still_gets_the_crisis_message_once(municipality, channel, peer, agent,
                                                                              municipal_admin):
    replies_on(municipality)
    closed_now(municipality)
    resident = write(channel)  # this morning: the out-of-hours notice
    first = Ticket.objects.get()
    ticket_set_status(ticket=first, status=Status.CLOSED, actor=agent)
    crisis_set(municipality=municipality, active=True, message_nl=CRISIS_NL, message_en=CRISIS_EN,
               actor=municipal_admin)
    write(channel, "Is de afvalinzameling morgen wel?", resident)
    second = Ticket.objects.exclude(pk=first.pk).get()
    ticket_set_status(ticket=second, status=Status.CLOSED, actor=agent)
    write(channel, "En overmorgen?", resident)  # the crisis notice is not repeated the same day
    assert Ticket.objects.count() == 3
    replies = automatic()
    assert [m.ticket_id for m in replies] == [first.pk, second.pk]
    assert CRISIS_NL not in replies[0].text and replies[1].text.split("\n\n")[:2] == [CRISIS_NL, CRISIS_EN]
    assert delivered(peer) == [m.text for m in replies]


# --- never twice, never to machines ------------------------------------------------------------------------------------
def test_a_second_new_ticket_within_the_interval_gets_no_second_reply(municipality, channel, peer, agent):
    replies_on(municipality)
    closed_now(municipality)
    resident = write(channel)
    first = Ticket.objects.get()
    ticket_set_status(ticket=first, status=Status.CLOSED, actor=agent)
    write(channel, "Nog een vraag over iets anders.", resident)
    assert Ticket.objects.count() == 2
    assert [m.ticket_id for m in automatic()] == [first.pk]
    assert len(delivered(peer)) == 1


def test_automated_messages_get_no_reply_even_in_a_crisis(municipality, channel, peer, municipal_admin):
    replies_on(municipality)
    closed_now(municipality)
    crisis_set(municipality=municipality, active=True, message_nl=CRISIS_NL, message_en=CRISIS_EN,
               actor=municipal_admin)
    ingest_events(account=channel, events=(InboundMessage(
        provider_message_id="auto-1", sender=IdentityRef(IdentityKind.VISITOR, f"sandbox-{new_resident_id()}"),
        text="Afwezigheidsmelding: ik ben tot maandag weg.", sent_at=datetime.now(tz=timezone.get_current_timezone()),
        automated=True),))
    assert Ticket.objects.count() == 1
    assert Message.objects.get().metadata.get("automated") is True
    assert automatic() == [] and delivered(peer) == []
