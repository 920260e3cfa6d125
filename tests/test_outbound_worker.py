"""Outbound delivery through a real Celery worker (separate process, Redis broker, the test's PostgreSQL database)
to a real HTTP peer (pytest-httpserver on 127.0.0.1) that plays the provider behind the sandbox's `delivery_url`.

Every reply is made with tickets.services.reply_create, which enqueues the delivery task when its transaction
commits; nothing here calls the delivery code directly.
"""
from __future__ import annotations

import json
import re
import time

import pytest
from django.db import transaction
from werkzeug import Request, Response

from omnidesk.realtime.models import Event
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.presenters import user_name
from omnidesk.tickets.services import NotAllowed, message_resend, reply_create
from tests.conftest import WORKER_RETRY_ENV, free_port, new_resident_id, post_sandbox, wait_until
from tests.factories import sandbox_account

pytestmark = pytest.mark.stack

PEER_PATH = "/provider/messages"


@pytest.fixture
def peer_ticket(transactional_db, municipality, client, httpserver) -> Ticket:
    """A ticket opened by a resident on a sandbox account whose replies go to the HTTP peer."""
    account = sandbox_account(municipality, delivery_url=httpserver.url_for(PEER_PATH))
    response = post_sandbox(client, account, {"id": "in-1", "text": "Is mijn paspoort al klaar?"}, new_resident_id())
    assert response.status_code == 200, response.content
    return Ticket.objects.get(channel_account=account)


def _fresh(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


def _status(message: Message) -> str:
    return _fresh(message).delivery_status


def _published_states(message: Message) -> list[tuple[str, str, str]]:
    """(event type, delivery status, error code) of every dashboard event published about this message, in order."""
    events = Event.objects.filter(payload__message__id=message.pk).order_by("id")
    return [(e.type, e.payload["message"]["delivery_status"], e.payload["message"]["error_code"]) for e in events]


def _wait_for_final(message: Message, wanted: str, worker, timeout: float = 30) -> Message:  # type: ignore[no-untyped-def]
    def done() -> bool:
        status = _status(message)
        if status in ("sent", "failed") and status != wanted:
            raise AssertionError(f"message ended {status!r}, wanted {wanted!r}; worker log:\n{worker.output()[-3000:]}")
        return status == wanted

    wait_until(done, timeout=timeout, message=f"message {message.pk} to become {wanted}")
    return _fresh(message)


def test_a_reply_goes_from_queued_to_sent_with_the_peers_id(celery_worker_process, peer_ticket, agent, httpserver):
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_json({"id": "peer-msg-42"}, status=201)

    with transaction.atomic():
        reply = reply_create(ticket=peer_ticket, author=agent, text="Ja, u kunt hem ophalen.")
        # Nothing leaves before the reply is committed: the task is enqueued on commit.
        assert _status(reply) == "queued"
    assert reply.delivery_status == "queued"

    sent = _wait_for_final(reply, "sent", celery_worker_process)
    assert sent.provider_message_id == "peer-msg-42"
    assert (sent.attempts, sent.error_code, sent.error_message, sent.claimed_at) == (1, "", "", None)

    assert len(httpserver.log) == 1, "the peer must receive exactly one request"
    request, response = httpserver.log[0]
    assert response.status_code == 201
    assert request.headers["Idempotency-Key"] == str(reply.pk)
    assert request.json == {
        "id": str(reply.pk),
        "to": peer_ticket.identity.value,
        "text": "Ja, u kunt hem ophalen.",
        "author_name": user_name(agent),
    }
    httpserver.check_assertions()
    # Dashboards saw the reply queued, then sent ("sending" is internal and not published).
    assert _published_states(reply) == [("message.created", "queued", ""), ("message.updated", "sent", "")]


def test_a_transient_failure_is_retried_and_then_sent(celery_worker_process, peer_ticket, agent, httpserver):
    calls: list[tuple[float, str]] = []

    def provider(request: Request) -> Response:
        calls.append((time.monotonic(), request.headers.get("Idempotency-Key", "")))
        if len(calls) == 1:
            return Response("temporarily overloaded", status=503)
        return Response(json.dumps({"id": "peer-after-retry"}), status=200, content_type="application/json")

    httpserver.expect_request(PEER_PATH, method="POST").respond_with_handler(provider)
    reply = reply_create(ticket=peer_ticket, author=agent, text="Uw aanvraag is ontvangen.")

    sent = _wait_for_final(reply, "sent", celery_worker_process)
    assert (sent.provider_message_id, sent.attempts) == ("peer-after-retry", 2)
    assert (sent.error_code, sent.error_message) == ("", "")  # the transient error is cleared by the success
    assert len(calls) == 2
    assert [key for _, key in calls] == [str(reply.pk)] * 2, "the same idempotency key on every attempt"
    # The retry waited the backoff (base 0.2 s, jitter from half to full step) and not much longer.
    gap = calls[1][0] - calls[0][0]
    base = float(WORKER_RETRY_ENV["OMNIDESK_OUTBOUND_BACKOFF_BASE"])
    assert base / 2 <= gap < 10, gap
    assert _published_states(reply) == [
        ("message.created", "queued", ""),
        ("message.updated", "queued", "503"),  # back in the queue, with the reason shown
        ("message.updated", "sent", ""),
    ]


def test_the_worker_waits_at_least_the_providers_retry_after(celery_worker_process, peer_ticket, agent, httpserver):
    calls: list[float] = []

    def provider(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "2"})
        return Response(json.dumps({"id": "peer-patient"}), status=200, content_type="application/json")

    httpserver.expect_request(PEER_PATH, method="POST").respond_with_handler(provider)
    reply = reply_create(ticket=peer_ticket, author=agent, text="Even geduld.")

    sent = _wait_for_final(reply, "sent", celery_worker_process)
    assert (sent.provider_message_id, sent.attempts) == ("peer-patient", 2)
    # Backoff alone would retry within 0.2 s; the peer asked for 2 s.
    assert calls[1] - calls[0] >= 2.0 - 0.05, calls[1] - calls[0]


def test_a_permanent_failure_is_shown_and_sent_again_for_real(celery_worker_process, peer_ticket, agent, client,
                                                              httpserver):
    httpserver.expect_ordered_request(PEER_PATH, method="POST").respond_with_json(
        {"error": "invalid recipient"}, status=400)
    reply = reply_create(ticket=peer_ticket, author=agent, text="Uw afspraak is bevestigd.")

    failed = _wait_for_final(reply, "failed", celery_worker_process)
    assert (failed.error_code, failed.error_message, failed.attempts) == ("400", "invalid recipient", 1)
    assert len(httpserver.log) == 1, "a permanent failure is not retried"

    # The agent sees the failure and the reason on the ticket page, with a form to send again.
    client.force_login(agent)
    page = client.get(f"/tickets/{peer_ticket.number}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    item = re.search(rf'<li [^>]*id="message-{reply.pk}".*?</li>', html, re.S)
    assert item is not None, "the reply is on the ticket page"
    block = item.group(0)
    assert re.search(r'<div class="failure" data-field="failure">', block), "the failure box is not hidden"
    assert '<span data-field="error_message">invalid recipient</span>' in block
    assert '<span data-field="error_code">400</span>' in block
    assert f'action="/messages/{reply.pk}/resend/"' in block and "Send again" in block

    # The peer accepts now; sending again is a real new delivery through the worker.
    httpserver.expect_ordered_request(PEER_PATH, method="POST").respond_with_json({"id": "peer-second-try"})
    response = client.post(f"/messages/{reply.pk}/resend/")
    assert response.status_code == 302
    sent = _wait_for_final(reply, "sent", celery_worker_process)
    assert (sent.provider_message_id, sent.attempts, sent.error_code, sent.error_message) == (
        "peer-second-try", 1, "", "")
    assert len(httpserver.log) == 2
    assert [r.headers["Idempotency-Key"] for r, _ in httpserver.log] == [str(reply.pk)] * 2
    httpserver.check_assertions()

    # Only a failed message can be sent again: a sent one is refused, by the view and by the service.
    refused = client.post(f"/messages/{reply.pk}/resend/", HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and refused.json()["ok"] is False
    with pytest.raises(NotAllowed):
        message_resend(message=_fresh(reply), actor=agent)
    assert _status(reply) == "sent"


def test_a_failed_reply_can_be_resent_through_the_service(celery_worker_process, peer_ticket, agent, httpserver):
    httpserver.expect_ordered_request(PEER_PATH, method="POST").respond_with_json({"error": "blocked"}, status=422)
    httpserver.expect_ordered_request(PEER_PATH, method="POST").respond_with_json({"id": "peer-resent"})
    reply = reply_create(ticket=peer_ticket, author=agent, text="Nogmaals.")
    failed = _wait_for_final(reply, "failed", celery_worker_process)
    assert (failed.error_code, failed.error_message) == ("422", "blocked")

    message_resend(message=failed, actor=agent)  # commits (autocommit), then enqueues
    sent = _wait_for_final(reply, "sent", celery_worker_process)
    assert sent.provider_message_id == "peer-resent"
    httpserver.check_assertions()


def test_transient_errors_give_up_after_max_attempts(celery_worker_factory, peer_ticket, agent, httpserver):
    # A different maximum than the default test worker's, to show the worker really reads it from its environment.
    worker = celery_worker_factory(OMNIDESK_OUTBOUND_MAX_ATTEMPTS="4")
    httpserver.expect_request(PEER_PATH, method="POST").respond_with_data("unavailable", status=503)
    reply = reply_create(ticket=peer_ticket, author=agent, text="Komt dit aan?")

    failed = _wait_for_final(reply, "failed", worker)
    assert failed.attempts == 4
    assert (failed.error_code, failed.error_message) == ("503", "The endpoint answered HTTP 503.")
    assert len(httpserver.log) == 4
    states = _published_states(reply)
    assert [s for _, s, _ in states] == ["queued", "queued", "queued", "queued", "failed"]


def test_an_unreachable_peer_is_retried_then_fails(celery_worker_factory, municipality, agent, client):
    worker = celery_worker_factory(OMNIDESK_OUTBOUND_MAX_ATTEMPTS="2")
    closed_port = free_port()  # nothing listens here: connection refused
    account = sandbox_account(municipality, delivery_url=f"http://127.0.0.1:{closed_port}/messages")
    assert post_sandbox(client, account, {"id": "in-2", "text": "Hallo?"}).status_code == 200
    ticket = Ticket.objects.get(channel_account=account)
    reply = reply_create(ticket=ticket, author=agent, text="Hallo!")

    failed = _wait_for_final(reply, "failed", worker)
    assert (failed.attempts, failed.error_code) == (2, "connection_error")
    assert failed.error_message == "The endpoint could not be reached."
