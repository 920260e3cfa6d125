"""Duplicates and disorder over real HTTP, against several server processes at once: the same webhook delivered
2-5 times concurrently is one message; statuses that arrive before our send is recorded, twice, or out of order
("delivered" after "read") still end in the right final state.

(In-process variants, with Django's test client, are in tests/test_webhook_ingest.py and the WhatsApp plugin's
tests; these go through gunicorn's worker processes, where the concurrency is real.)
"""
from __future__ import annotations

import random

import pytest
import requests

from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.tickets.models import DeliveryEvent, Message, Ticket
from omnidesk.tickets.services import reply_create
from tests.conftest import run_at_once, wait_until
from tests.faults.conftest import open_ticket, wait_final, webhook_url, whatsapp_account

pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("faults")]


def _post_all_at_once(peer: GraphPeer, url: str, payloads: list[dict]) -> list[int]:  # type: ignore[type-arg]
    """Signed webhooks, each from its own thread, released at the same moment; their HTTP statuses."""
    def post(payload: dict) -> int:  # type: ignore[type-arg]
        body, headers = peer.signed(payload)
        return requests.post(url, data=body, headers=headers, timeout=30).status_code

    return run_at_once(post, [(p,) for p in payloads])


def test_duplicates_and_disorder_end_as_one_message_in_the_right_state(stack, municipality, agent):
    app = stack()
    app.start_server(wsgi_workers=4)
    with GraphPeer(auto_statuses=True) as peer:
        account = whatsapp_account(municipality, peer)
        url = peer.webhook_url = webhook_url(app.url, account)

        # The same inbound message delivered 2, 3, 4 and 5 times at once: stored once each time.
        for copies in (2, 3, 4, 5):
            wamid = peer.new_wamid()
            payload = peer.inbound(f"3161234{copies:04d}", text=f"{copies} keer bezorgd", wamid=wamid)
            assert _post_all_at_once(peer, url, [payload] * copies) == [200] * copies
            assert Message.objects.filter(provider_message_id=wamid).count() == 1
        assert Ticket.objects.filter(channel_account=account).count() == 4

        # Statuses before the send is recorded: the provider takes the reply and reports sent/delivered/read while
        # our worker still waits for its (slow) answer.
        ticket = open_ticket(peer, url)
        worker = app.start_worker()
        peer.slow_next(2.5)
        early = reply_create(ticket=ticket, author=agent, text="Statussen vooraf")
        wait_until(lambda: DeliveryEvent.objects.filter(client_reference=str(early.pk)).count() == 3, timeout=30,
                   message="the three status reports")
        assert Message.objects.get(pk=early.pk).delivery_status == "sending", "the send is still waiting"
        [early] = wait_final([early], timeout=30, worker=worker, wanted=("read",))
        assert DeliveryEvent.objects.filter(message=early).count() == 3

        # Statuses twice and out of order, all at once: "delivered" after "read" does not undo "read".
        peer.auto_statuses = False
        reply = reply_create(ticket=ticket, author=agent, text="Door elkaar")
        [reply] = wait_final([reply], timeout=30, worker=worker, wanted=("sent",))
        reports = [peer.status(reply.provider_message_id, status, callback=str(reply.pk))
                   for status in ("read", "delivered", "sent", "read", "delivered")]
        random.Random(7).shuffle(reports)
        assert _post_all_at_once(peer, url, reports) == [200] * len(reports)
        assert Message.objects.get(pk=reply.pk).delivery_status == "read"
        assert _post_all_at_once(peer, url, [peer.status(reply.provider_message_id, "delivered")] * 3) == [200] * 3
        assert Message.objects.get(pk=reply.pk).delivery_status == "read"
        assert DeliveryEvent.objects.filter(provider_message_id=reply.provider_message_id).count() == 3
