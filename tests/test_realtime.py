"""Realtime: the dashboard websocket and HTTP catch-up, and the sandbox resident's websocket.

Websockets run through omnidesk.asgi.application (origin check, session auth, routing) with
channels.testing.WebsocketCommunicator and the Redis channel layer the test settings configure. The tests use
`transactional_db`: events are pushed when their transaction commits, and the consumers read the session and
memberships from their own database connections. Async scenarios run via tests.conftest.run_async (a thread of
their own with async_to_sync); ORM work inside them goes through database_sync_to_async.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from channels_plugins.sandbox.signing import resident_token
from omnidesk.asgi import application
from omnidesk.celery import app as celery_app
from omnidesk.outbound.services import Outcome, deliver
from omnidesk.realtime.models import Event
from omnidesk.realtime.relay import relay
from omnidesk.realtime.selectors import CATCH_UP_OVERLAP
from omnidesk.realtime.services import publish
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.presenters import user_name
from omnidesk.tickets.services import reply_create
from tests.conftest import new_resident_id, post_sandbox, run_async
from tests.factories import MembershipFactory, MunicipalityFactory, UserFactory, sandbox_account

pytestmark = pytest.mark.usefixtures("transactional_db")

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")
SIGNING_SECRET = "s3cret-signing"


def session_cookie(user) -> bytes:  # type: ignore[no-untyped-def]
    """A real session cookie, made by logging in with a fresh test client."""
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


def dashboard(municipality_id: int, cookie: bytes | None, query: str = "",
              origin: tuple[bytes, bytes] = ORIGIN) -> WebsocketCommunicator:
    headers = [origin, HOST] + ([(b"cookie", cookie)] if cookie is not None else [])
    path = f"/ws/dashboard/{municipality_id}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


def verdict(communicator: WebsocketCommunicator) -> tuple[bool, int | None]:
    async def scenario() -> tuple[bool, int | None]:
        connected, code = await communicator.connect(timeout=10)
        await communicator.disconnect()
        return connected, code

    return run_async(scenario)


def resident_socket(public_id: str, resident_id: str, token: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application, f"/ws/channels/sandbox/{public_id}/?resident={resident_id}&token={token}", headers=[ORIGIN, HOST])


def event_ids(municipality) -> list[int]:  # type: ignore[no-untyped-def]
    return list(Event.objects.filter(municipality=municipality).order_by("id").values_list("id", flat=True))


# --- the dashboard websocket ---------------------------------------------------------------------------------
def test_a_member_receives_the_inbound_message_live_and_other_municipalities_do_not(municipality, agent, account):
    other = MunicipalityFactory()
    outsider = MembershipFactory(municipality=other).user
    ours_cookie, theirs_cookie = session_cookie(agent), session_cookie(outsider)

    async def scenario() -> tuple[list[dict[str, Any]], bool]:
        ours = dashboard(municipality.pk, ours_cookie)
        theirs = dashboard(other.pk, theirs_cookie)
        assert (await ours.connect(timeout=10))[0]
        assert (await theirs.connect(timeout=10))[0]
        # The resident writes in; the webhook's transaction commits and the events are pushed.
        response = await database_sync_to_async(post_sandbox)(
            Client(), account, {"id": "live-1", "text": "Mijn fiets is weggehaald."})
        assert response.status_code == 200, response.content
        frames = [await ours.receive_json_from(timeout=10) for _ in range(2)]
        theirs_silent = await theirs.receive_nothing(timeout=1)
        await ours.disconnect()
        await theirs.disconnect()
        return frames, theirs_silent

    frames, theirs_silent = run_async(scenario)
    message = Message.objects.get(channel_account=account)
    assert [f["type"] for f in frames] == ["message.created", "ticket.created"]
    assert frames[0]["data"]["message"]["id"] == message.pk
    assert frames[0]["data"]["message"]["text"] == "Mijn fiets is weggehaald."
    assert frames[0]["data"]["message"]["direction"] == "inbound"
    assert frames[1]["data"]["ticket"]["id"] == message.ticket_id
    # Frames carry the stored events' ids, which increase.
    assert [f["id"] for f in frames] == event_ids(municipality)
    assert frames[0]["id"] < frames[1]["id"]
    assert theirs_silent, "another municipality's dashboard must not receive our events"


def test_an_event_is_not_pushed_before_its_transaction_commits(municipality, agent):
    cookie = session_cookie(agent)
    published, commit = threading.Event(), threading.Event()
    event_ids_published: list[int] = []

    def writer() -> None:
        """Another process's service call: publishes inside a transaction that stays open until told."""
        try:
            with transaction.atomic():
                event = publish(municipality_id=municipality.pk, type="ticket.updated", payload={"n": 1})
                event_ids_published.append(event.pk)
                published.set()
                commit.wait(timeout=30)
        finally:
            published.set()
            connection.close()

    async def scenario() -> tuple[bool, dict[str, Any]]:
        loop = asyncio.get_running_loop()
        communicator = dashboard(municipality.pk, cookie)
        assert (await communicator.connect(timeout=10))[0]
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            assert await loop.run_in_executor(None, published.wait, 10)
            silent_before_commit = await communicator.receive_nothing(timeout=1)
        finally:
            commit.set()
            await loop.run_in_executor(None, thread.join, 10)
        frame = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return silent_before_commit, frame

    silent_before_commit, frame = run_async(scenario)
    assert silent_before_commit, "an event must not be pushed while its transaction may still roll back"
    assert event_ids_published, "the writer published"
    assert frame == {"id": event_ids_published[0], "type": "ticket.updated", "data": {"n": 1}}


def test_outsiders_anonymous_users_and_foreign_origins_are_refused(municipality, agent):
    other = MunicipalityFactory()
    outsider = MembershipFactory(municipality=other).user
    no_membership = UserFactory()

    assert verdict(dashboard(municipality.pk, session_cookie(agent))) == (True, None)
    assert verdict(dashboard(municipality.pk, session_cookie(outsider))) == (False, 4403)
    assert verdict(dashboard(municipality.pk, session_cookie(no_membership))) == (False, 4403)
    assert verdict(dashboard(municipality.pk, None)) == (False, 4403)  # anonymous: no cookie at all
    assert verdict(dashboard(municipality.pk, b"sessionid=not-a-session")) == (False, 4403)
    assert verdict(dashboard(999_999_999, session_cookie(agent))) == (False, 4403)
    # A page on another site cannot open the socket with the agent's cookie.
    connected, _ = verdict(dashboard(municipality.pk, session_cookie(agent), origin=(b"origin", b"https://evil.example")))
    assert not connected


def test_a_refused_connection_joins_no_group(municipality, agent, account):
    """The refused outsider is not left subscribed: a push to the municipality's group reaches only the member."""
    outsider = MembershipFactory(municipality=MunicipalityFactory()).user
    ours_cookie, outsider_cookie = session_cookie(agent), session_cookie(outsider)

    async def scenario() -> tuple[dict[str, Any], bool]:
        intruder = dashboard(municipality.pk, outsider_cookie)
        connected, code = await intruder.connect(timeout=10)
        assert (connected, code) == (False, 4403)
        member = dashboard(municipality.pk, ours_cookie)
        assert (await member.connect(timeout=10))[0]
        await database_sync_to_async(publish)(municipality_id=municipality.pk, type="ticket.updated", payload={"x": 1})
        frame = await member.receive_json_from(timeout=10)
        intruder_silent = await intruder.receive_nothing(timeout=1)
        await member.disconnect()
        await intruder.disconnect()
        return frame, intruder_silent

    frame, intruder_silent = run_async(scenario)
    assert frame["type"] == "ticket.updated" and frame["data"] == {"x": 1}
    assert intruder_silent


def test_connecting_with_after_replays_missed_events_in_a_catch_up_frame(municipality, agent, account):
    other = MunicipalityFactory()
    other_account = sandbox_account(other)
    cookie = session_cookie(agent)
    anonymous = Client()

    assert post_sandbox(anonymous, account, {"id": "m1", "text": "Eerste"}).status_code == 200
    seen = event_ids(municipality)[-1]  # the dashboard saw everything up to here, then lost its connection
    # While it was away: more events here, and some in another municipality interleaved.
    assert post_sandbox(anonymous, other_account, {"id": "x1", "text": "Elders"}).status_code == 200
    assert post_sandbox(anonymous, account, {"id": "m2", "text": "Tweede"}).status_code == 200
    missed = [i for i in event_ids(municipality) if i > seen]
    assert missed, "events happened while the dashboard was away"
    # Their live pushes went out while it was away; otherwise one could arrive after the catch-up (a duplicate the
    # dashboard ignores by id) and take the place of the answer to the explicit request below.
    assert relay.drain()

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        communicator = dashboard(municipality.pk, cookie, query=f"after={seen}")
        assert (await communicator.connect(timeout=10))[0]
        catch_up = await communicator.receive_json_from(timeout=10)
        # A dashboard that notices a gap can also ask over the open socket.
        await communicator.send_json_to({"type": "catch_up", "after": seen})
        asked = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return catch_up, asked

    catch_up, asked = run_async(scenario)
    assert catch_up["type"] == "catch_up"
    ids = [frame["id"] for frame in catch_up["events"]]
    assert set(missed) <= set(ids), "every missed event is replayed"
    assert set(ids) <= set(event_ids(municipality)), "only this municipality's events"
    assert not set(ids) & set(event_ids(other))
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    texts = [f["data"]["message"]["text"] for f in catch_up["events"] if f["type"] == "message.created"]
    assert "Tweede" in texts and "Elders" not in texts
    assert asked == catch_up


def test_connecting_without_after_sends_no_catch_up(municipality, agent, account):
    assert post_sandbox(Client(), account, {"id": "m1", "text": "Al gebeurd"}).status_code == 200
    assert relay.drain()  # its live push went out before the dashboard connects
    cookie = session_cookie(agent)

    async def scenario() -> bool:
        communicator = dashboard(municipality.pk, cookie)
        assert (await communicator.connect(timeout=10))[0]
        nothing = await communicator.receive_nothing(timeout=1)
        await communicator.disconnect()
        return nothing

    assert run_async(scenario)


# --- the HTTP catch-up endpoint ------------------------------------------------------------------------------
def test_http_catch_up_is_for_members_only(municipality, agent, account):
    assert post_sandbox(Client(), account, {"id": "m1", "text": "Geheim"}).status_code == 200
    assert relay.drain()

    anonymous = Client().get("/events/?after=0")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]

    stranger = Client()
    stranger.force_login(UserFactory())  # logged in, but a member of no municipality
    assert stranger.get("/events/?after=0").status_code == 403

    member = Client()
    member.force_login(agent)
    response = member.get("/events/?after=0")
    assert response.status_code == 200
    assert [e["id"] for e in response.json()["events"]] == event_ids(municipality)
    assert member.get("/events/?after=abc").status_code == 400


def test_http_catch_up_is_scoped_by_municipality_and_ids_increase(municipality, agent, account):
    other = MunicipalityFactory()
    other_agent = MembershipFactory(municipality=other).user
    other_account = sandbox_account(other)
    anonymous = Client()
    assert post_sandbox(anonymous, account, {"id": "a", "text": "Hier"}).status_code == 200
    assert post_sandbox(anonymous, other_account, {"id": "b", "text": "Daar"}).status_code == 200
    ticket = Ticket.objects.get(channel_account=account)
    reply = reply_create(ticket=ticket, author=agent, text="Antwoord hier")
    celery_app.control.purge()  # the reply's delivery task went to the broker; no worker runs in this test
    assert relay.drain()  # catch-up serves numbered events; the relay numbers right after each commit

    ours, theirs = Client(), Client()
    ours.force_login(agent)
    theirs.force_login(other_agent)
    our_events = ours.get("/events/?after=0").json()["events"]
    their_events = theirs.get("/events/?after=0").json()["events"]

    assert [e["id"] for e in our_events] == event_ids(municipality)
    assert [e["id"] for e in their_events] == event_ids(other)
    assert not {e["id"] for e in our_events} & {e["id"] for e in their_events}
    ids = [e["id"] for e in our_events]
    assert all(a < b for a, b in zip(ids, ids[1:])), "event ids increase"
    # In the order things happened: the resident's message, the new ticket, the agent's reply.
    assert [e["type"] for e in our_events] == ["message.created", "ticket.created", "message.created"]
    assert our_events[-1]["data"]["message"]["id"] == reply.pk
    assert "Daar" not in str(our_events) and "Hier" not in str(their_events)


def test_http_catch_up_returns_what_follows_after_with_a_small_overlap(municipality, agent):
    for n in range(CATCH_UP_OVERLAP + 20):
        publish(municipality_id=municipality.pk, type="ticket.updated", payload={"n": n})
    ids = event_ids(municipality)
    after = ids[CATCH_UP_OVERLAP + 10]
    member = Client()
    member.force_login(agent)

    returned = [e["id"] for e in member.get(f"/events/?after={after}").json()["events"]]
    assert set(i for i in ids if i > after) <= set(returned), "nothing after `after` is left out"
    assert returned == [i for i in ids if i > after - CATCH_UP_OVERLAP]
    assert ids[0] not in returned, "old events are not replayed in full"


# --- the sandbox resident's websocket ------------------------------------------------------------------------
def test_the_resident_socket_gets_the_agents_reply_when_it_is_delivered(municipality, agent, account):
    resident, neighbour = new_resident_id(), new_resident_id()
    assert post_sandbox(Client(), account, {"id": "r1", "text": "Hoe laat sluit het stadhuis?"},
                        resident).status_code == 200
    ticket = Ticket.objects.get(channel_account=account)
    reply = reply_create(ticket=ticket, author=agent, text="Om vijf uur.")
    celery_app.control.purge()  # delivered by hand below, not by a worker
    assert Message.objects.get(pk=reply.pk).delivery_status == "queued"
    secret = SIGNING_SECRET  # tests.factories.sandbox_account's (stored encrypted, not in config)

    async def scenario() -> tuple[tuple[Outcome, float], dict[str, Any], bool]:
        ours = resident_socket(account.public_id, resident, resident_token(secret, resident))
        theirs = resident_socket(account.public_id, neighbour, resident_token(secret, neighbour))
        assert (await ours.connect(timeout=10))[0]
        assert (await theirs.connect(timeout=10))[0]
        outcome = await database_sync_to_async(deliver)(reply.pk)
        frame = await ours.receive_json_from(timeout=10)
        neighbour_silent = await theirs.receive_nothing(timeout=1)
        await ours.disconnect()
        await theirs.disconnect()
        return outcome, frame, neighbour_silent

    outcome, frame, neighbour_silent = run_async(scenario)
    assert outcome == (Outcome.SENT, 0.0)
    assert frame == {"id": f"sbx-{reply.pk}", "text": "Om vijf uur.", "author_name": user_name(agent)}
    assert neighbour_silent, "another resident's page must not get this reply"
    delivered = Message.objects.get(pk=reply.pk)
    assert (delivered.delivery_status, delivered.provider_message_id) == ("delivered", f"sbx-{reply.pk}")


def test_the_resident_socket_refuses_a_wrong_token(account):
    resident, other_resident = new_resident_id(), new_resident_id()
    secret = SIGNING_SECRET  # tests.factories.sandbox_account's (stored encrypted, not in config)
    good = resident_token(secret, resident)

    assert verdict(resident_socket(account.public_id, resident, good)) == (True, None)
    assert verdict(resident_socket(account.public_id, resident, "0" * 64)) == (False, 4403)
    assert verdict(resident_socket(account.public_id, resident, "")) == (False, 4403)
    # A token is bound to its resident, and to the account's secret.
    assert verdict(resident_socket(account.public_id, other_resident, good)) == (False, 4403)
    assert verdict(resident_socket(account.public_id, resident, resident_token("another-secret", resident))) == (
        False, 4403)
    assert verdict(resident_socket("no-such-account", resident, good)) == (False, 4403)


def test_a_refused_resident_socket_gets_no_replies(municipality, agent, account):
    """A page with a forged token must not receive the resident's replies through the group."""
    resident = new_resident_id()
    secret = SIGNING_SECRET  # tests.factories.sandbox_account's (stored encrypted, not in config)

    async def scenario() -> tuple[tuple[bool, int | None], bool, dict[str, Any]]:
        forged = resident_socket(account.public_id, resident, "f" * 64)
        refused = await forged.connect(timeout=10)
        genuine = resident_socket(account.public_id, resident, resident_token(secret, resident))
        assert (await genuine.connect(timeout=10))[0]
        from channels_plugins.sandbox.signing import resident_group

        await get_channel_layer().group_send(
            resident_group(account.public_id, resident),
            {"type": "sandbox.reply", "id": "sbx-test", "text": "Alleen voor u", "author_name": "Agent"})
        frame = await genuine.receive_json_from(timeout=10)
        forged_silent = await forged.receive_nothing(timeout=0.5)
        await genuine.disconnect()
        return refused, forged_silent, frame

    refused, forged_silent, frame = run_async(scenario)
    assert refused == (False, 4403)
    assert frame["text"] == "Alleen voor u"
    assert forged_silent
