"""Provider faults played by the WhatsApp peer against a real worker: 429 with Retry-After, 500s, slow answers,
timeouts, dropped connections, refusals. Every reply ends delivered, or failed with a clear reason; none is sent twice
where the provider's status reports (echoing our id) let us know it arrived; and one failing account does not hold
up the others (the circuit breaker per account).
"""
from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model

from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.audit.models import AuditEntry
from omnidesk.ops import breaker
from omnidesk.outbound.selectors import dead_letters
from omnidesk.outbound.services import message_requeue
from omnidesk.realtime.models import Event
from omnidesk.tickets.models import Message
from omnidesk.tickets.services import reply_create
from tests.conftest import wait_until
from tests.faults.conftest import DELIVERED, open_ticket, open_tickets, wait_final, webhook_url, whatsapp_account

pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("faults")]


def _shown_error_codes(message: Message) -> list[str]:
    """The error codes dashboards were shown for a message, in order."""
    events = Event.objects.filter(payload__message__id=message.pk).order_by("id")
    return [e.payload["message"]["error_code"] for e in events]


def _attempts(peer: GraphPeer, message: Message) -> list[tuple[float, str]]:
    return [(a.at, a.outcome) for a in sorted(peer.send_log, key=lambda a: a.at) if a.callback == str(message.pk)]


def test_a_429_pauses_the_whole_account_until_its_retry_after(stack, municipality, agent):
    # Two sends at a time: the first two meet the limit together, the other four must learn it from the pause.
    app = stack(OMNIDESK_OUTBOUND_MAX_ATTEMPTS="10", OMNIDESK_OUTBOUND_MAX_CONCURRENT_SENDS="2")
    with GraphPeer() as peer:
        account = whatsapp_account(municipality, peer)
        tickets = open_tickets(peer, f"/webhooks/{account.public_id}/", 6)  # six residents: the pause is account-wide
        worker = app.start_worker()
        limited_until = time.time() + 3
        peer.rate_limit(3)
        replies = [reply_create(ticket=ticket, author=agent, text=f"Bericht {n}") for n, ticket in enumerate(tickets)]
        done = wait_final(replies, timeout=60, worker=worker, wanted=DELIVERED)

    refused = [a for a in peer.send_log if a.outcome == "429"]
    assert 1 <= len(refused) <= 2, "only the sends already under way meet the limit; the account then waits"
    later = [a for a in peer.send_log if a.outcome != "429"]
    assert all(a.at >= limited_until - 0.1 for a in later), "nothing is sent before the Retry-After has passed"
    assert all(peer.accepted(str(m.pk)) == 1 for m in done)
    # Replies that never met the limit themselves showed why they waited, and used up no attempt waiting.
    untouched = [m for m in done if str(m.pk) not in {a.callback for a in refused}]
    assert all("provider_rate_limited" in _shown_error_codes(m) for m in untouched)
    assert all(m.attempts == 1 for m in untouched)


def test_every_provider_fault_ends_delivered_or_failed_with_a_reason(stack, municipality, agent):
    app = stack(OMNIDESK_OUTBOUND_MAX_ATTEMPTS="3", OMNIDESK_OUTBOUND_AMBIGUOUS_WAIT="4",
                OMNIDESK_OUTBOUND_BREAKER_FAILURES="50")
    app.start_server()
    with GraphPeer(auto_statuses=True) as peer:
        account = whatsapp_account(municipality, peer)
        peer.webhook_url = webhook_url(app.url, account)
        ticket = open_ticket(peer, peer.webhook_url)
        worker = app.start_worker(FAULT_WHATSAPP_READ_TIMEOUT="1.5")

        def send(text: str) -> Message:
            [message] = wait_final([reply_create(ticket=ticket, author=agent, text=text)], timeout=60, worker=worker)
            return message

        # 500s: retried with backoff (base 0.2 s: the first wait 0.1-0.2 s, the second 0.2-0.4 s).
        peer.fail_next_raw(500, "Internal Server Error", times=2)
        retried = send("Na twee keer 500")
        (t1, o1), (t2, o2), (t3, o3) = _attempts(peer, retried)
        assert (o1, o2, o3) == ("500", "500", "accepted") and retried.delivery_status in DELIVERED
        assert t2 - t1 >= 0.1 - 0.02 and t3 - t2 >= 0.2 - 0.02, (t2 - t1, t3 - t2)

        # A slow answer within the timeout is just slow.
        peer.slow_next(0.8)
        slow = send("Langzaam")
        assert [o for _, o in _attempts(peer, slow)] == ["accepted"] and slow.delivery_status in DELIVERED

        # A timeout: the provider took it but we never heard. Instead of sending again, the worker waits for the
        # status report that echoes our id, and takes the provider's id from it.
        peer.slow_next(3)
        timed_out = send("Time-out")
        assert "timeout" in _shown_error_codes(timed_out), "the worker did give up waiting for the answer"
        assert [o for _, o in _attempts(peer, timed_out)] == ["accepted"], "sent once, not again after the timeout"
        assert timed_out.provider_message_id == next(
            s["_wamid"] for s in peer.sent if s["biz_opaque_callback_data"] == str(timed_out.pk))
        wait_until(lambda: Message.objects.get(pk=timed_out.pk).delivery_status == "read", timeout=30,
                   message="the statuses of the timed-out send")

        # A connection dropped before the provider took the message: retried, delivered once.
        peer.reset_next()
        dropped = send("Verbinding verbroken")
        assert [o for _, o in _attempts(peer, dropped)] == ["reset", "accepted"]
        assert dropped.delivery_status in DELIVERED and peer.accepted(str(dropped.pk)) == 1

        # A refusal is final at once, with the provider's reason for the agent.
        peer.fail_next(131026, "Message undeliverable")
        refused = send("Onbestelbaar")
        assert (refused.delivery_status, refused.error_code, refused.attempts) == ("failed", "131026", 1)
        assert refused.error_message

        # Out of attempts: a dead letter an operator sees and sends again once the provider is back.
        peer.fail_next_raw(503, "Service Unavailable", times=3)
        given_up = send("Geeft het op")
        assert (given_up.delivery_status, given_up.error_code, given_up.attempts) == ("failed", "503", 3)
        assert set(dead_letters().values_list("pk", flat=True)) == {refused.pk, given_up.pk}
        operator = get_user_model().objects.create_user("operator", is_staff=True)
        message_requeue(message=given_up, actor=operator)
        [again] = wait_final([given_up], timeout=30, worker=worker, wanted=DELIVERED)
        assert peer.accepted(str(again.pk)) == 1
        assert AuditEntry.objects.filter(action="message.requeued", target_id=str(given_up.pk), actor=operator).exists()

    everything = Message.objects.filter(ticket=ticket, direction="outbound")
    for message in everything:
        assert message.delivery_status in DELIVERED or (message.error_code and message.error_message), message
        assert peer.accepted(str(message.pk)) <= 1


def test_the_breaker_stops_a_failing_account_while_another_keeps_flowing(stack, municipality, agent):
    # Two sends at a time per account, so the two that open the breaker are the only ones under way.
    app = stack(OMNIDESK_OUTBOUND_MAX_ATTEMPTS="30", OMNIDESK_OUTBOUND_BREAKER_FAILURES="2",
                OMNIDESK_OUTBOUND_BREAKER_COOLDOWN="2", OMNIDESK_OUTBOUND_BREAKER_COOLDOWN_MAX="4",
                OMNIDESK_OUTBOUND_MAX_CONCURRENT_SENDS="2")
    with GraphPeer(phone_number_id="100000000000001") as failing, GraphPeer(phone_number_id="100000000000002") as healthy:
        a = whatsapp_account(municipality, failing, name="WhatsApp A")
        b = whatsapp_account(municipality, healthy, name="WhatsApp B")
        tickets_a = open_tickets(failing, f"/webhooks/{a.public_id}/", 10)
        ticket_b = open_ticket(healthy, f"/webhooks/{b.public_id}/", wa_id="31687654321")
        worker = app.start_worker()
        # A's provider is down the slow way: every send takes 1.5 s and ends in a 503.
        failing.send_delay = 1.5
        failing.fail_next_raw(503, "Service Unavailable", times=1000)
        started = time.monotonic()
        stuck = [reply_create(ticket=ticket, author=agent, text=f"A {n}") for n, ticket in enumerate(tickets_a)]
        flowing = [reply_create(ticket=ticket_b, author=agent, text=f"B {n}") for n in range(5)]

        # B's replies, queued behind A's ten, go out without waiting for A's timeouts and retries.
        wait_final(flowing, timeout=30, worker=worker, wanted=DELIVERED)
        b_done = time.monotonic() - started
        assert b_done < 8, f"B waited {b_done:.1f} s behind A"
        assert breaker.state(b.pk)["state"] == "closed"
        # A's first sends take 1.5 s to fail; B may well be done before that. Then A's breaker opens.
        wait_until(lambda: breaker.state(a.pk)["state"] in ("open", "half_open"), timeout=8 - b_done,
                   message="A's breaker to open")

        time.sleep(max(0.0, 8 - (time.monotonic() - started)))
        # In 8 s A's provider saw the two sends that opened the breaker and the trials, not a storm of retries.
        assert len(failing.send_log) <= 5, [a.outcome for a in failing.send_log]
        assert all(Message.objects.get(pk=m.pk).delivery_status == "queued" for m in stuck)
        assert sum("provider_unavailable" in _shown_error_codes(m) for m in stuck) >= 8

        # A's provider recovers: the next trial succeeds, the breaker closes and A's backlog goes out, once each.
        failing.heal()
        done = wait_final(stuck, timeout=60, worker=worker, wanted=DELIVERED)
        assert all(failing.accepted(str(m.pk)) == 1 for m in done)
        assert breaker.state(a.pk)["state"] == "closed"
        assert max(m.attempts for m in done) <= 4, "waiting for the breaker uses up no attempts"
