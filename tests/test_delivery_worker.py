"""Replies go out through a real Celery worker: transient errors are retried until they succeed, permanent ones
are shown to the agent, who can send again for real; and every open dashboard gets the change pushed."""
from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from omnidesk.asgi import application
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import reply_create
from tests.conftest import new_resident_id, post_sandbox, run_async, wait_until
from tests.factories import sandbox_account

pytestmark = pytest.mark.stack


@pytest.fixture
def peer_ticket(transactional_db, municipality, agent, client, httpserver):
    account = sandbox_account(municipality, delivery_url=httpserver.url_for("/replies"))
    post_sandbox(client, account, {"id": "q1", "text": "Wanneer wordt het grofvuil opgehaald?"}, new_resident_id())
    return Ticket.objects.get(channel_account=account)


def _status(message: Message) -> str:
    return Message.objects.get(pk=message.pk).delivery_status


def test_a_transient_failure_is_retried_and_succeeds(celery_worker_process, peer_ticket, agent, httpserver):
    httpserver.expect_ordered_request("/replies").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/replies").respond_with_json({"id": "peer-7"}, status=201)
    reply = reply_create(ticket=peer_ticket, author=agent, text="Donderdag.")
    wait_until(lambda: _status(reply) == "sent", timeout=30, message="the retried reply to be sent")
    reply.refresh_from_db()
    assert (reply.provider_message_id, reply.attempts, reply.error_code) == ("peer-7", 2, "")
    keys = [request.headers["Idempotency-Key"] for request, _ in httpserver.log]
    assert keys == [str(reply.pk), str(reply.pk)]  # the same key on every attempt


def test_a_permanent_failure_is_shown_and_can_be_sent_again(celery_worker_process, peer_ticket, agent, agent_client,
                                                            httpserver):
    httpserver.expect_oneshot_request("/replies").respond_with_json({"error": "invalid recipient"}, status=400)
    reply = reply_create(ticket=peer_ticket, author=agent, text="Donderdag.")
    wait_until(lambda: _status(reply) == "failed", timeout=30, message="the reply to fail")
    reply.refresh_from_db()
    assert (reply.error_code, reply.error_message, reply.attempts) == ("400", "invalid recipient", 1)
    page = agent_client.get(f"/tickets/{peer_ticket.number}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "invalid recipient" in page and f'action="/messages/{reply.pk}/resend/"' in page

    httpserver.expect_oneshot_request("/replies").respond_with_json({"id": "peer-8"}, status=201)
    assert agent_client.post(f"/messages/{reply.pk}/resend/").status_code == 302
    wait_until(lambda: _status(reply) == "sent", timeout=30, message="the resent reply to be sent")
    assert Message.objects.get(pk=reply.pk).provider_message_id == "peer-8"
    assert len(httpserver.log) == 2


def test_transient_failures_give_up_after_the_last_attempt(celery_worker_process, peer_ticket, agent, httpserver):
    httpserver.expect_request("/replies").respond_with_data("down", status=500)
    reply = reply_create(ticket=peer_ticket, author=agent, text="Donderdag.")
    wait_until(lambda: _status(reply) == "failed", timeout=30, message="the reply to give up")
    reply.refresh_from_db()
    assert reply.attempts == 3 and reply.error_code == "500"
    assert len(httpserver.log) == 3


def test_a_dashboard_websocket_receives_the_push(transactional_db, municipality, agent, client, account):
    client.force_login(agent)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    anonymous = client.__class__()

    async def scenario() -> list[dict]:
        communicator = WebsocketCommunicator(
            application, f"/ws/dashboard/{municipality.pk}/",
            headers=[(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")])
        connected, _ = await communicator.connect()
        assert connected
        response = await sync_to_async(post_sandbox)(anonymous, account, {"id": "ws-1", "text": "Live graag"})
        assert response.status_code == 200
        frames = [json.loads(await communicator.receive_from(timeout=10)) for _ in range(2)]
        await communicator.disconnect()
        return frames

    frames = run_async(scenario)
    assert [f["type"] for f in frames] == ["message.created", "ticket.created"]
    assert frames[0]["data"]["message"]["text"] == "Live graag"
    assert frames[0]["id"] < frames[1]["id"]
