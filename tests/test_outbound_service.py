"""omnidesk.outbound.services.deliver() called in-process, one attempt at a time, against the real database and a real
HTTP peer (pytest-httpserver) behind the sandbox's `delivery_url`.

Most tests use the `db` fixture: reply_create's on-commit enqueue never fires inside the test transaction, so no
task reaches the broker and each attempt is made here, by hand.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation

from channels_plugins.sandbox.adapter import SandboxAdapter
from omnidesk.channel_accounts.services import channel_account_set_enabled
from omnidesk.outbound.services import Outcome, deliver, stalled_message_ids
from omnidesk.ops.retry import backoff_seconds
from omnidesk.realtime.models import Event
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import NotAllowed, message_resend, reply_create
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import sandbox_account

PEER_PATH = "/provider/messages"


def _ticket_with_peer(municipality, client, httpserver) -> Ticket:  # type: ignore[no-untyped-def]
    account = sandbox_account(municipality, delivery_url=httpserver.url_for(PEER_PATH))
    response = post_sandbox(client, account, {"id": "in-1", "text": "Mijn container is niet geleegd."},
                            new_resident_id())
    assert response.status_code == 200, response.content
    return Ticket.objects.get(channel_account=account)


@pytest.fixture
def peer_ticket(db, municipality, client, httpserver) -> Ticket:
    return _ticket_with_peer(municipality, client, httpserver)


@pytest.fixture
def queued_reply(peer_ticket, agent) -> Message:
    reply = reply_create(ticket=peer_ticket, author=agent, text="We komen morgen langs.")
    assert reply.delivery_status == "queued"
    return reply


@pytest.fixture
def retry_settings(settings):  # type: ignore[no-untyped-def]
    """Backoff of 1 s doubling to at most 3 s, with room for many attempts."""
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_BACKOFF_BASE": 1.0, "OUTBOUND_BACKOFF_CAP": 3.0,
                         "OUTBOUND_MAX_ATTEMPTS": 10}
    return settings


def _fresh(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


def _seconds_until(moment) -> float:  # type: ignore[no-untyped-def]
    return (moment - timezone.now()).total_seconds()


# --- the happy path and exclusive claiming -----------------------------------------------------------------
def test_deliver_sends_once_and_records_the_peers_id(queued_reply, httpserver):
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_json({"id": "peer-1"}, status=202)

    assert deliver(queued_reply.pk) == (Outcome.SENT, 0.0)
    sent = _fresh(queued_reply)
    assert (sent.delivery_status, sent.provider_message_id, sent.attempts, sent.claimed_at) == ("sent", "peer-1", 1, None)
    # A second attempt (a duplicate task, a requeue) finds nothing to claim and sends nothing.
    assert deliver(queued_reply.pk) == (Outcome.SKIPPED, 0.0)
    assert _fresh(queued_reply).attempts == 1
    assert len(httpserver.log) == 1
    httpserver.check_assertions()


@pytest.mark.parametrize("status", ["sending", "sent", "delivered", "read", "failed"])
def test_a_message_that_is_not_queued_is_skipped(queued_reply, httpserver, status):
    Message.objects.filter(pk=queued_reply.pk).update(delivery_status=status)

    assert deliver(queued_reply.pk) == (Outcome.SKIPPED, 0.0)
    after = _fresh(queued_reply)
    assert (after.delivery_status, after.attempts, after.provider_message_id) == (status, 0, "")
    assert httpserver.log == [], "a skipped message must not reach the provider"


def test_an_unknown_message_is_skipped(db):
    assert deliver(2_000_000_000) == (Outcome.SKIPPED, 0.0)


def test_claiming_is_exclusive_while_another_worker_holds_the_message(transactional_db, municipality, agent, client,
                                                                       httpserver):
    """A second worker skips a message another worker has locked, instead of waiting for it and sending it twice."""
    from omnidesk.celery import app

    ticket = _ticket_with_peer(municipality, client, httpserver)
    reply = reply_create(ticket=ticket, author=agent, text="Twee workers, één bericht.")
    app.control.purge()  # the on-commit task reached the broker; no worker runs here, so drop it
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_json({"id": "peer-exclusive"})

    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_worker() -> None:
        try:
            with transaction.atomic():
                Message.objects.select_for_update().get(pk=reply.pk)
                locked.set()
                release.wait(timeout=30)
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        assert not errors, errors
        assert deliver(reply.pk) == (Outcome.SKIPPED, 0.0)
        during = _fresh(reply)
        assert (during.delivery_status, during.attempts) == ("queued", 0)
        assert httpserver.log == []
    finally:
        release.set()
        thread.join(timeout=10)
    assert not thread.is_alive()

    assert deliver(reply.pk) == (Outcome.SENT, 0.0)
    assert _fresh(reply).provider_message_id == "peer-exclusive"
    assert len(httpserver.log) == 1


# --- backoff ------------------------------------------------------------------------------------------------
def test_backoff_grows_with_jitter_and_is_capped(settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_BACKOFF_BASE": 1.0, "OUTBOUND_BACKOFF_CAP": 8.0}
    expected = {1: (0.5, 1.0), 2: (1.0, 2.0), 3: (2.0, 4.0), 4: (4.0, 8.0), 5: (4.0, 8.0), 30: (4.0, 8.0)}
    for attempt, (low, high) in expected.items():
        samples = [backoff_seconds(attempt) for _ in range(300)]
        assert all(low <= s <= high for s in samples), (attempt, min(samples), max(samples))
        assert len(set(samples)) > 1, "jitter spreads the retries"
    # The provider's Retry-After is a minimum: it lengthens the wait, even past the cap, and never shortens it.
    assert backoff_seconds(1, retry_after=30.0) == 30.0
    assert 4.0 <= backoff_seconds(4, retry_after=0.5) <= 8.0


def test_each_transient_failure_backs_off_longer_up_to_the_cap(retry_settings, queued_reply, httpserver):
    httpserver.expect_request(PEER_PATH, method="POST").respond_with_data("busy", status=503)
    bounds = [(0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (1.5, 3.0)]  # base 1 s doubling, capped at 3 s

    for attempt, (low, high) in enumerate(bounds, start=1):
        before = timezone.now()
        outcome, delay = deliver(queued_reply.pk)
        assert outcome is Outcome.RETRY
        assert low <= delay <= high, (attempt, delay)
        message = _fresh(queued_reply)
        # Back in the queue (not stuck in `sending`), with the reason and the time of the next attempt.
        assert (message.delivery_status, message.attempts, message.claimed_at) == ("queued", attempt, None)
        assert (message.error_code, message.error_message) == ("503", "The endpoint answered HTTP 503.")
        due = (message.next_attempt_at - before).total_seconds()
        assert delay - 0.01 <= due <= delay + 2, (delay, due)
    assert len(httpserver.log) == len(bounds)


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_from_the_provider_is_respected(retry_settings, queued_reply, httpserver, status):
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_data(
        "later", status=status, headers={"Retry-After": "45"})

    outcome, delay = deliver(queued_reply.pk)
    assert (outcome, delay) == (Outcome.RETRY, 45.0)
    message = _fresh(queued_reply)
    assert message.error_code == str(status)
    assert 43 <= _seconds_until(message.next_attempt_at) <= 45


def test_a_retry_after_that_is_not_seconds_falls_back_to_backoff(retry_settings, queued_reply, httpserver):
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_data(
        "later", status=503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})

    outcome, delay = deliver(queued_reply.pk)
    assert outcome is Outcome.RETRY and 0.5 <= delay <= 1.0


def test_transient_failures_give_up_at_max_attempts(settings, queued_reply, httpserver):
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_MAX_ATTEMPTS": 3, "OUTBOUND_BACKOFF_BASE": 0.01}
    httpserver.expect_request(PEER_PATH, method="POST").respond_with_data("down", status=502)

    assert [deliver(queued_reply.pk)[0] for _ in range(3)] == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]
    failed = _fresh(queued_reply)
    assert (failed.delivery_status, failed.attempts, failed.error_code) == ("failed", 3, "502")
    assert deliver(queued_reply.pk) == (Outcome.SKIPPED, 0.0)
    assert len(httpserver.log) == 3


# --- plugin crashes and odd provider answers ----------------------------------------------------------------
def test_a_plugin_crash_is_retried_not_lost(retry_settings, queued_reply, httpserver, monkeypatch):
    def crash(self, message, account):  # type: ignore[no-untyped-def]
        raise RuntimeError("plugin bug")

    monkeypatch.setattr(SandboxAdapter, "send", crash)
    outcome, delay = deliver(queued_reply.pk)
    assert outcome is Outcome.RETRY and 0.5 <= delay <= 1.0
    message = _fresh(queued_reply)
    assert (message.delivery_status, message.claimed_at, message.attempts) == ("queued", None, 1)
    assert (message.error_code, message.error_message) == ("plugin_error", "RuntimeError")
    assert message.next_attempt_at is not None

    # Once the plugin works again, the same message goes out.
    monkeypatch.undo()
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_json({"id": "peer-after-crash"})
    assert deliver(queued_reply.pk) == (Outcome.SENT, 0.0)
    sent = _fresh(queued_reply)
    assert (sent.delivery_status, sent.provider_message_id, sent.attempts, sent.error_code) == (
        "sent", "peer-after-crash", 2, "")


def test_a_plugin_that_keeps_crashing_fails_at_max_attempts(settings, queued_reply, monkeypatch):
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_MAX_ATTEMPTS": 2, "OUTBOUND_BACKOFF_BASE": 0.01}

    def crash(self, message, account):  # type: ignore[no-untyped-def]
        raise KeyError("missing")

    monkeypatch.setattr(SandboxAdapter, "send", crash)
    assert deliver(queued_reply.pk)[0] is Outcome.RETRY
    assert deliver(queued_reply.pk) == (Outcome.FAILED, 0.0)
    failed = _fresh(queued_reply)
    assert (failed.delivery_status, failed.error_code, failed.error_message) == ("failed", "plugin_error", "KeyError")


def test_a_success_answer_whose_json_is_not_an_object_is_still_sent(queued_reply, httpserver):
    """The provider accepted the message; an unexpected body must not turn that into retries (double sends)."""
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_json(["accepted"], status=200)

    assert deliver(queued_reply.pk) == (Outcome.SENT, 0.0)
    sent = _fresh(queued_reply)
    assert (sent.delivery_status, sent.provider_message_id) == ("sent", f"sbx-{queued_reply.pk}")


def test_a_refusal_whose_json_is_not_an_object_is_a_permanent_failure(queued_reply, httpserver):
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_json("nope", status=400)

    assert deliver(queued_reply.pk) == (Outcome.FAILED, 0.0)
    failed = _fresh(queued_reply)
    assert (failed.error_code, failed.error_message) == ("400", "The endpoint refused the message (HTTP 400).")
    assert len(httpserver.log) == 1


# --- stalled messages -----------------------------------------------------------------------------------------
def test_stalled_message_ids_requeues_a_message_stuck_in_sending(settings, peer_ticket, agent, httpserver):
    stall = settings.OMNIDESK["OUTBOUND_STALL_SECONDS"]
    now = timezone.now()
    stuck, busy, never_picked, waiting = (
        reply_create(ticket=peer_ticket, author=agent, text=f"Bericht {n}") for n in range(4)
    )
    long_ago = now - timedelta(seconds=stall + 60)
    # A worker claimed it long ago and died.
    Message.objects.filter(pk=stuck.pk).update(delivery_status="sending", attempts=1, claimed_at=long_ago,
                                               created_at=long_ago - timedelta(seconds=1))
    # A worker claimed it a moment ago (a retry of an old message) and is still sending.
    Message.objects.filter(pk=busy.pk).update(delivery_status="sending", attempts=1,
                                              claimed_at=now - timedelta(seconds=5), created_at=long_ago)
    # Queued long ago and never picked up (its task was lost).
    Message.objects.filter(pk=never_picked.pk).update(created_at=now - timedelta(seconds=stall + 60))
    # Queued for a retry that is not due yet.
    Message.objects.filter(pk=waiting.pk).update(next_attempt_at=now + timedelta(seconds=60))

    ids = stalled_message_ids()
    assert sorted(ids) == sorted([stuck.pk, never_picked.pk])
    requeued = _fresh(stuck)
    assert (requeued.delivery_status, requeued.claimed_at, requeued.next_attempt_at) == ("queued", None, None)
    assert (_fresh(busy).delivery_status, _fresh(busy).claimed_at is not None) == ("sending", True)
    assert _fresh(waiting).delivery_status == "queued"

    # The requeued message is delivered for real by the next attempt.
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_json({"id": "peer-rescued"})
    assert deliver(stuck.pk) == (Outcome.SENT, 0.0)
    rescued = _fresh(stuck)
    assert (rescued.delivery_status, rescued.provider_message_id, rescued.attempts) == ("sent", "peer-rescued", 2)
    # The message a live worker still holds is not taken from it.
    assert deliver(busy.pk) == (Outcome.SKIPPED, 0.0)
    assert len(httpserver.log) == 1


# --- switched-off channels ------------------------------------------------------------------------------------
def test_a_disabled_channel_fails_the_reply_with_a_clear_reason(queued_reply, httpserver):
    channel_account_set_enabled(account=queued_reply.channel_account, enabled=False)

    assert deliver(queued_reply.pk) == (Outcome.FAILED, 0.0)
    failed = _fresh(queued_reply)
    assert (failed.delivery_status, failed.error_code, failed.error_message) == (
        "failed", "channel_disabled", "The channel is switched off.")
    assert httpserver.log == [], "nothing is sent through a switched-off channel"
    last = Event.objects.filter(payload__message__id=queued_reply.pk).order_by("-id").first()
    assert last is not None and last.payload["message"]["delivery_status"] == "failed"
    assert last.payload["message"]["error_code"] == "channel_disabled"

    # Sending again is refused too while the channel stays off.
    with translation.override("en"), pytest.raises(NotAllowed, match="switched off"):
        message_resend(message=failed, actor=queued_reply.author_user)
    assert _fresh(queued_reply).delivery_status == "failed"


def test_reply_create_refuses_on_a_disabled_account(peer_ticket, agent):
    channel_account_set_enabled(account=peer_ticket.channel_account, enabled=False)
    messages_before = Message.objects.filter(ticket=peer_ticket).count()
    events_before = Event.objects.count()

    with translation.override("en"), pytest.raises(NotAllowed, match="This channel is switched off"):
        reply_create(ticket=peer_ticket, author=agent, text="Dit mag niet vertrekken.")
    assert Message.objects.filter(ticket=peer_ticket).count() == messages_before
    assert Event.objects.count() == events_before


def test_network_failures_say_whether_the_request_may_have_arrived():
    import requests
    from urllib3.exceptions import NewConnectionError, ProtocolError

    from omnidesk.plugin_api.http import network_failure

    refused = requests.ConnectionError(NewConnectionError(None, "Connection refused"))
    dropped = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))
    assert not network_failure(refused, "P").may_have_been_sent
    assert not network_failure(requests.ConnectTimeout(), "P").may_have_been_sent
    assert network_failure(requests.ReadTimeout(), "P").may_have_been_sent
    assert network_failure(dropped, "P").may_have_been_sent
    assert network_failure(dropped, "P").code == "connection_dropped"
