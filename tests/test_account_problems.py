"""A provider that says the account itself is unusable flags it for everyone; a send that may have reached
the provider is not repeated until its status report had time to arrive, and such a report settles it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.inbound.services import ingest_events
from omnidesk.outbound.services import Outcome, deliver
from omnidesk.plugin_api import (
    AccountContext,
    AccountProblem,
    Capabilities,
    ChannelAdapter,
    DeliveryStatus,
    IdentityKind,
    IdentityRef,
    InboundMessage,
    OutboundMessage,
    SendResult,
    StatusUpdate,
    TransientDeliveryError,
)
from omnidesk.plugin_api.testing import registered
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import reply_create

RESIDENT = IdentityRef(IdentityKind.PHONE, "+31612345678")


class ScriptedAdapter(ChannelAdapter):
    """Answers each send with the next scripted outcome, and counts the sends."""

    key = "testscripted"
    verbose_name = "Scripted"
    capabilities = Capabilities(identity_kind=IdentityKind.PHONE)
    script: list[object] = []
    sends = 0

    def send(self, message: OutboundMessage, account: AccountContext) -> SendResult:
        ScriptedAdapter.sends += 1
        outcome = ScriptedAdapter.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return SendResult(provider_message_id=str(outcome))


@pytest.fixture
def scripted(municipality, agent):
    ScriptedAdapter.script, ScriptedAdapter.sends = [], 0
    with registered(ScriptedAdapter):
        account = channel_account_create(municipality=municipality, plugin_key="testscripted", name="Nummer 1", config={})
        ingest_events(account=account, events=(InboundMessage(
            provider_message_id="in-1", sender=RESIDENT, text="Hallo", sent_at=timezone.now()),))
        yield account, Ticket.objects.get(channel_account=account)


def test_an_account_problem_flags_the_account_until_a_send_succeeds(scripted, agent, agent_client):
    account, ticket = scripted
    ScriptedAdapter.script = [AccountProblem("The access token has expired: enter a new one.", code="190"), "wamid.ok"]
    first = reply_create(ticket=ticket, author=agent, text="Een")
    assert deliver(first.pk)[0] is Outcome.FAILED
    account.refresh_from_db()
    assert account.problem == "The access token has expired: enter a new one." and account.problem_since
    page = agent_client.get("/").content.decode()
    assert 'id="channel-problems"' in page and "The access token has expired" in page

    second = reply_create(ticket=ticket, author=agent, text="Twee")
    assert deliver(second.pk)[0] is Outcome.SENT
    account.refresh_from_db()
    assert account.problem == "" and account.problem_since is None
    assert "The access token has expired" not in agent_client.get("/").content.decode()


def test_an_ambiguous_timeout_waits_and_a_status_with_our_id_settles_it(scripted, agent, settings):
    account, ticket = scripted
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_AMBIGUOUS_WAIT": 90.0}
    ScriptedAdapter.script = [TransientDeliveryError("no answer", code="timeout", may_have_been_sent=True)]
    reply = reply_create(ticket=ticket, author=agent, text="Komt u morgen?")
    outcome, delay = deliver(reply.pk)
    assert outcome is Outcome.RETRY and delay >= 90.0
    reply.refresh_from_db()
    assert reply.delivery_status == "queued" and reply.next_attempt_at > timezone.now() + timedelta(seconds=80)

    # The provider did deliver it: its status report echoes our message id.
    ingest_events(account=account, events=(StatusUpdate(
        provider_message_id="wamid.late", status=DeliveryStatus.DELIVERED, occurred_at=timezone.now(),
        client_reference=str(reply.pk)),))
    reply.refresh_from_db()
    assert (reply.provider_message_id, reply.delivery_status, reply.error_code) == ("wamid.late", "delivered", "")
    # The scheduled retry finds nothing to send: no double send.
    assert deliver(reply.pk) == (Outcome.SKIPPED, 0.0)
    assert ScriptedAdapter.sends == 1


def test_a_status_naming_another_accounts_message_is_not_adopted(scripted, agent, municipality):
    account, ticket = scripted
    ScriptedAdapter.script = [TransientDeliveryError("no answer", code="timeout", may_have_been_sent=True)]
    reply = reply_create(ticket=ticket, author=agent, text="Hallo")
    deliver(reply.pk)
    other = channel_account_create(municipality=municipality, plugin_key="testscripted", name="Nummer 2", config={})
    ingest_events(account=other, events=(StatusUpdate(
        provider_message_id="wamid.other", status=DeliveryStatus.SENT, occurred_at=timezone.now(),
        client_reference=str(reply.pk)),))
    reply.refresh_from_db()
    assert reply.provider_message_id == "" and reply.delivery_status == "queued"
    assert ChannelAccount.objects.filter(problem="").count() == 2
