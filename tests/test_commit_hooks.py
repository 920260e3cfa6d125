"""on_commit_once: work a transaction needs once after its commit, however many of its writes ask for it, and never
lost when part of the transaction is rolled back."""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.ops.commit_hooks import on_commit_once
from omnidesk.outbound import services
from omnidesk.tickets.models import Message
from omnidesk.tickets.services import reply_create
from tests.faults.conftest import open_tickets, whatsapp_account

pytestmark = pytest.mark.django_db(transaction=True)


class Calls:
    def __init__(self) -> None:
        self.made: list[str] = []

    def to(self, name: str):  # type: ignore[no-untyped-def]
        return lambda: self.made.append(name)


def rolled_back(action) -> None:  # type: ignore[no-untyped-def]
    """Run `action` in an atomic block that is then rolled back (a savepoint inside a transaction, else the whole)."""
    try:
        with transaction.atomic():
            action()
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass


def test_one_call_per_key_after_the_commit():
    calls = Calls()
    with transaction.atomic():
        for _ in range(3):
            on_commit_once("a", calls.to("a"))
            on_commit_once("b", calls.to("b"))
        assert calls.made == [], "nothing runs before the commit"
    assert calls.made == ["a", "b"]


def test_outside_a_transaction_each_call_runs_at_once():
    calls = Calls()
    on_commit_once("a", calls.to("a"))
    on_commit_once("a", calls.to("a"))
    assert calls.made == ["a", "a"]


def test_a_rolled_back_savepoint_does_not_take_the_call_with_it():
    calls = Calls()
    with transaction.atomic():
        rolled_back(lambda: on_commit_once("a", calls.to("inner")))
        on_commit_once("a", calls.to("outer"))
    assert calls.made == ["outer"]


def test_a_call_noted_before_a_savepoint_survives_its_rollback():
    calls = Calls()
    with transaction.atomic():
        on_commit_once("a", calls.to("outer"))
        rolled_back(lambda: on_commit_once("a", calls.to("inner")))
    assert calls.made == ["outer"], "the outer call stays; at most one call per key"


def test_a_rolled_back_transaction_does_not_silence_the_next_one():
    calls = Calls()
    rolled_back(lambda: on_commit_once("a", calls.to("first")))
    with transaction.atomic():
        on_commit_once("a", calls.to("second"))
    assert calls.made == ["second"]


def test_many_replies_in_one_transaction_ask_for_one_drain_and_all_go_out(municipality, agent,
                                                                          django_capture_on_commit_callbacks):
    with GraphPeer(keep_alive=True) as peer:
        account = whatsapp_account(municipality, peer)
        tickets = open_tickets(peer, f"/webhooks/{account.public_id}/", 3)
        with transaction.atomic():
            with django_capture_on_commit_callbacks() as callbacks:  # noted, and still run by the commit
                replies = [reply_create(ticket=ticket, author=agent, text=f"Antwoord {n}")
                           for n in range(2) for ticket in tickets]
            drain_requests = [c for c in callbacks if c.__qualname__.startswith("enqueue_delivery")]
            assert len(drain_requests) == 1, "six replies of one account, one drain request"
        assert cache.get(services._scheduled_key(account.pk)), "the drain was asked for at the commit"
        assert services.deliver_due(account.pk) == len(replies)  # what that drain does in a worker
        assert sorted(str(body["biz_opaque_callback_data"]) for body in peer.sent) == sorted(str(r.pk) for r in replies)
        assert set(Message.objects.filter(pk__in=[r.pk for r in replies]).values_list("delivery_status", flat=True)) == {
            "sent"}
