"""The circuit breaker per channel account, one delivery attempt at a time: deliver() in-process against a real
HTTP peer (pytest-httpserver) and the real cache (Redis). The same behaviour through real worker processes is in
test_provider_faults.py.
"""
from __future__ import annotations

import time

import pytest
from django.test import override_settings
from django.utils import timezone

from omnidesk.ops import breaker
from omnidesk.outbound.services import Outcome, deliver
from omnidesk.realtime.models import Event
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import reply_create
from tests.conftest import free_port, new_resident_id, post_sandbox
from tests.factories import sandbox_account

PEER_PATH = "/provider/messages"


@pytest.fixture
def breaker_settings(settings):  # type: ignore[no-untyped-def]
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_BREAKER_FAILURES": 3, "OUTBOUND_BREAKER_COOLDOWN": 0.5,
                         "OUTBOUND_BREAKER_COOLDOWN_MAX": 1.0, "OUTBOUND_BACKOFF_BASE": 0.01,
                         "OUTBOUND_MAX_ATTEMPTS": 20}
    return settings


@pytest.fixture
def ticket(db, municipality, client, httpserver) -> Ticket:
    account = sandbox_account(municipality, delivery_url=httpserver.url_for(PEER_PATH))
    breaker.reset(account.pk)
    assert post_sandbox(client, account, {"id": "in-1", "text": "Hallo"}, new_resident_id()).status_code == 200
    return Ticket.objects.get(channel_account=account)


def _replies(ticket: Ticket, agent, n: int) -> list[Message]:  # type: ignore[no-untyped-def]
    return [reply_create(ticket=ticket, author=agent, text=f"Antwoord {i}") for i in range(n)]


def _fresh(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


def test_failures_in_a_row_open_the_breaker_and_later_replies_wait_without_a_call(breaker_settings, ticket, agent,
                                                                                  httpserver):
    httpserver.expect_request(PEER_PATH, method="POST").respond_with_data("down", status=503)
    first, second = _replies(ticket, agent, 2)
    for _ in range(3):
        assert deliver(first.pk)[0] is Outcome.RETRY
    assert len(httpserver.log) == 3
    assert breaker.state(ticket.channel_account_id)["state"] == "open"

    outcome, wait = deliver(second.pk)
    assert outcome is Outcome.RETRY and 0.3 < wait <= 0.5 + 0.5, wait
    assert len(httpserver.log) == 3, "no call to a provider that keeps failing"
    held = _fresh(second)
    assert (held.delivery_status, held.attempts, held.claimed_at) == ("queued", 0, None), "no attempt used up"
    assert (held.error_code, held.error_message) == ("provider_unavailable", breaker_reason("open"))
    assert 0.3 < (held.next_attempt_at - timezone.now()).total_seconds() <= 1.0
    # Shown once, not on every look.
    deliver(second.pk)
    codes = [e.payload["message"]["error_code"] for e in Event.objects.filter(payload__message__id=second.pk)]
    assert codes.count("provider_unavailable") == 1


def breaker_reason(kind: str) -> str:
    from omnidesk.outbound.delivery import WAITING_REASONS

    return WAITING_REASONS[kind][1]


def test_after_the_cool_down_one_trial_goes_and_its_success_closes_the_breaker(breaker_settings, ticket, agent,
                                                                              httpserver):
    account_id = ticket.channel_account_id
    httpserver.expect_ordered_request(PEER_PATH, method="POST").respond_with_data("down", status=503)
    httpserver.expect_ordered_request(PEER_PATH, method="POST").respond_with_data("down", status=503)
    httpserver.expect_ordered_request(PEER_PATH, method="POST").respond_with_data("down", status=503)
    first, second = _replies(ticket, agent, 2)
    for _ in range(3):
        deliver(first.pk)
    time.sleep(0.6)  # the cool-down passes: half open

    trial = breaker.permit(account_id)
    assert trial.trial and trial.wait == 0
    other = breaker.permit(account_id)
    assert not other.trial and other.wait > 0, "one trial at a time"
    breaker.release(account_id, trial)

    httpserver.expect_request(PEER_PATH, method="POST").respond_with_json({})  # the sandbox then uses its own id per message
    assert deliver(first.pk) == (Outcome.SENT, 0.0)
    assert breaker.state(account_id)["state"] == "closed"
    assert deliver(second.pk) == (Outcome.SENT, 0.0), "closed: the others flow again"


def test_a_failed_trial_opens_the_breaker_again_for_twice_as_long_up_to_the_maximum(breaker_settings, ticket, agent,
                                                                                   httpserver):
    account_id = ticket.channel_account_id
    httpserver.expect_request(PEER_PATH, method="POST").respond_with_data("down", status=503)
    [message] = _replies(ticket, agent, 1)
    for _ in range(3):
        deliver(message.pk)
    assert breaker.state(account_id)["cooldown"] == 0.5
    cooldowns = []
    for _ in range(2):
        time.sleep(breaker.state(account_id)["until"] - time.time() + 0.05)
        assert deliver(message.pk)[0] is Outcome.RETRY  # the trial, failing
        cooldowns.append(breaker.state(account_id)["cooldown"])
    assert cooldowns == [1.0, 1.0], "doubled, then capped at OUTBOUND_BREAKER_COOLDOWN_MAX"
    assert len(httpserver.log) == 5


def test_a_retry_after_pauses_the_whole_account_without_counting_as_a_failure(breaker_settings, ticket, agent,
                                                                              httpserver):
    account_id = ticket.channel_account_id
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "30"})
    first, second = _replies(ticket, agent, 2)
    assert deliver(first.pk) == (Outcome.RETRY, 30.0)

    outcome, wait = deliver(second.pk)
    assert outcome is Outcome.RETRY and 29 <= wait <= 32
    assert len(httpserver.log) == 1, "the account waits as a whole, not only the refused message"
    assert _fresh(second).error_code == "provider_rate_limited"
    assert breaker.state(account_id) == {"state": "paused", "until": pytest.approx(time.time() + 30, abs=2),
                                         "failures": 0}
    # The refused reply itself keeps its own retry time (its backoff is at least the Retry-After already).
    httpserver.expect_oneshot_request(PEER_PATH, method="POST").respond_with_json({})
    assert deliver(first.pk) == (Outcome.SENT, 0.0)


def test_a_refusal_of_one_message_does_not_count_against_the_account(breaker_settings, ticket, agent, httpserver):
    httpserver.expect_request(PEER_PATH, method="POST").respond_with_json({"error": "invalid recipient"}, status=400)
    replies = _replies(ticket, agent, 4)
    assert [deliver(m.pk)[0] for m in replies] == [Outcome.FAILED] * 4
    assert breaker.state(ticket.channel_account_id) == {"state": "closed", "failures": 0}


def test_without_its_cache_the_breaker_lets_every_reply_through(breaker_settings, ticket, agent, httpserver):
    httpserver.expect_request(PEER_PATH, method="POST").respond_with_data("down", status=503)
    [message] = _replies(ticket, agent, 1)
    unreachable = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                               "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    with override_settings(CACHES=unreachable):
        for _ in range(5):
            assert deliver(message.pk)[0] is Outcome.RETRY
        assert breaker.state(ticket.channel_account_id) == {"state": "unknown"}
    assert len(httpserver.log) == 5, "every attempt reached the provider"
