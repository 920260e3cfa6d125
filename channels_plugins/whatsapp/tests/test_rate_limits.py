"""Meta's rate limits through core's delivery with the breaker: a limit on the number pauses the whole account; a
limit on one business-resident pair (131056) holds back only that resident's reply."""
from __future__ import annotations

import pytest
from django.test import Client

from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.ops import breaker
from omnidesk.outbound.services import Outcome, deliver
from omnidesk.tickets.models import Ticket
from omnidesk.tickets.services import reply_create
from tests.factories import MembershipFactory, MunicipalityFactory


@pytest.fixture
def two_tickets(db, peer: GraphPeer) -> tuple[Ticket, Ticket]:
    municipality = MunicipalityFactory()
    account = channel_account_create(municipality=municipality, plugin_key="whatsapp", name="WhatsApp",
                                     config=peer.account_config())
    breaker.reset(account.pk)
    for wa_id in ("31611111111", "31622222222"):
        body, headers = peer.signed(peer.inbound(wa_id, text="Hallo"))
        response = Client().post(f"/webhooks/{account.public_id}/", data=body, content_type="application/json",
                                 headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]})
        assert response.status_code == 200, response.content
    first, second = Ticket.objects.filter(channel_account=account).order_by("number")
    return first, second


def test_a_pair_rate_limit_holds_back_only_that_residents_reply(two_tickets, peer: GraphPeer):
    first, second = two_tickets
    agent = MembershipFactory(municipality=first.municipality).user
    limited = reply_create(ticket=first, author=agent, text="Voor de eerste")
    other = reply_create(ticket=second, author=agent, text="Voor de tweede")

    peer.fail_next(131056)
    outcome, wait = deliver(limited.pk)
    assert outcome is Outcome.RETRY and wait >= 60 / 2, wait
    assert breaker.state(first.channel_account_id)["state"] == "closed", "the account is not paused"
    assert deliver(other.pk) == (Outcome.SENT, 0.0), "another resident's reply goes out at once"
    assert [sent["to"] for sent in peer.sent] == ["31622222222"]


def test_a_rate_limit_on_the_number_pauses_every_reply_of_the_account(two_tickets, peer: GraphPeer):
    first, second = two_tickets
    agent = MembershipFactory(municipality=first.municipality).user
    limited = reply_create(ticket=first, author=agent, text="Voor de eerste")
    other = reply_create(ticket=second, author=agent, text="Voor de tweede")

    peer.fail_next(130429, retry_after=30)
    assert deliver(limited.pk)[0] is Outcome.RETRY
    assert breaker.state(first.channel_account_id)["state"] == "paused"
    outcome, wait = deliver(other.pk)
    assert outcome is Outcome.RETRY and wait > 0
    assert peer.sent == [], "nothing is sent while Meta asked the number to wait"
