"""The outbox drain (outbound/services.deliver_due) against the Graph API peer: replies of one account go out in
batches, side by side across conversations, one after the other within a conversation; two drains of one account
(OMNIDESK_OUTBOUND_DRAINS_PER_ACCOUNT=2, e.g. in two worker processes) share the backlog without sending anything
twice."""
from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection

from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.outbound import services
from omnidesk.tickets.models import Message
from omnidesk.tickets.services import reply_create
from tests.faults.conftest import open_tickets, whatsapp_account

pytestmark = pytest.mark.django_db(transaction=True)


def _backlog(peer: GraphPeer, municipality, agent, residents: int, per_resident: int) -> tuple[int, list[Message]]:  # type: ignore[no-untyped-def]
    account = whatsapp_account(municipality, peer)
    tickets = open_tickets(peer, f"/webhooks/{account.public_id}/", residents)
    with mock.patch("omnidesk.outbound.services._publish_delivery"):  # queued, no task: the test drains
        replies = [reply_create(ticket=ticket, author=agent, text=f"Antwoord {n} aan {ticket.number}")
                   for n in range(per_resident) for ticket in tickets]
    return account.pk, replies


def _arrival_order(peer: GraphPeer) -> list[str]:
    return [str(body["biz_opaque_callback_data"]) for body in peer.sent]


def _assert_each_once_in_order(peer: GraphPeer, replies: list[Message]) -> None:
    order = _arrival_order(peer)
    assert sorted(order) == sorted(str(r.pk) for r in replies), "every reply reached the provider exactly once"
    for ticket_id in {r.ticket_id for r in replies}:
        written = [str(r.pk) for r in replies if r.ticket_id == ticket_id]
        assert [c for c in order if c in written] == written, "one conversation's replies in the order written"
    assert set(Message.objects.filter(pk__in=[r.pk for r in replies]).values_list("delivery_status", flat=True)) == {
        "sent"}


def test_a_drain_sends_a_backlog_side_by_side_and_each_conversation_in_order(municipality, agent, settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_BATCH_SIZE": 4}
    with GraphPeer(keep_alive=True) as peer:
        peer.send_delay = 0.05  # slow enough that sends overlap when they can
        account_id, replies = _backlog(peer, municipality, agent, residents=6, per_resident=3)
        assert services.deliver_due(account_id) == len(replies)
        _assert_each_once_in_order(peer, replies)
        assert peer.peak_in_flight > 1, "sends to different residents overlapped"


def test_two_drains_of_one_account_share_the_backlog_without_doubles(municipality, agent, settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_BATCH_SIZE": 3, "OUTBOUND_DRAINS_PER_ACCOUNT": 2}
    with GraphPeer(keep_alive=True) as peer:
        peer.send_delay = 0.02
        account_id, replies = _backlog(peer, municipality, agent, residents=8, per_resident=3)
        claimed: list[int] = []
        start = threading.Barrier(2)

        def drain() -> None:
            try:
                start.wait()
                claimed.append(services.deliver_due(account_id))
            finally:
                connection.close()

        with mock.patch("omnidesk.outbound.services._ask_helper"):  # the test starts the second drain itself
            threads = [threading.Thread(target=drain) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        assert sum(claimed) == len(replies), f"each reply claimed once between the two drains: {claimed}"
        _assert_each_once_in_order(peer, replies)


def test_freed_senders_go_on_while_the_drain_records_what_came_back(municipality, agent, monkeypatch):
    from omnidesk.channel_accounts.models import ChannelAccount
    from omnidesk.outbound.claims import claim_due
    from omnidesk.outbound.delivery import Pipeline

    with GraphPeer(keep_alive=True) as peer:
        peer.send_delay = 0.05
        account_id, replies = _backlog(peer, municipality, agent, residents=6, per_resident=1)
        out_while_recording: list[int] = []
        record = Pipeline._record

        def noting(self, attempts):  # type: ignore[no-untyped-def]
            out_while_recording.append(len(self._in_flight))
            record(self, attempts)

        monkeypatch.setattr(Pipeline, "_record", noting)
        account = ChannelAccount.objects.select_related("municipality").get(pk=account_id)
        with Pipeline(account, parallel=2) as pipeline:
            pipeline.add(claim_due(account_id, 10))
            while not pipeline.idle:  # as a drain goes round
                pipeline.pump()
                pipeline.collect(timeout=1)
        _assert_each_once_in_order(peer, replies)
        assert out_while_recording[0] == 2, "the next sends were under way before the first came back were recorded"
