"""Channels with a reply window (WhatsApp's 24 hours): free text inside it, approved templates outside;
reactions shown on their message; read receipts sent once when an agent opens the ticket."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import requests
from django.utils import timezone

from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.inbound.services import ingest_events
from omnidesk.outbound.delivery import outbound_message
from omnidesk.outbound.services import read_receipt_send
from omnidesk.plugin_api import (
    AccountContext,
    Capabilities,
    ChannelAdapter,
    IdentityKind,
    IdentityRef,
    InboundMessage,
    Reaction,
    TemplateInfo,
    TemplateRef,
)
from omnidesk.plugin_api.testing import registered
from omnidesk.tickets.composer import composer_state
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import NotAllowed, reply_create, template_reply_create

RESIDENT = IdentityRef(IdentityKind.PHONE, "+31612345678")
TEMPLATES = [
    TemplateInfo(name="afspraak_herinnering", language="nl", body="Beste {{1}}, uw afspraak is op {{2}}.", parameter_count=2),
    TemplateInfo(name="contact_opnemen", language="nl", body="Wilt u ons even terugschrijven?", parameter_count=0),
]


class WindowAdapter(ChannelAdapter):
    key = "testwindow"
    verbose_name = "Window test channel"
    capabilities = Capabilities(identity_kind=IdentityKind.PHONE, reply_window_hours=24, templates=True,
                                read_receipts=True, max_text_length=1000)

    def list_templates(self, account: AccountContext) -> list[TemplateInfo]:
        return TEMPLATES

    def mark_read(self, account: AccountContext, provider_message_id: str) -> None:
        requests.post(f"{account.config['peer']}/read", json={"id": provider_message_id}, timeout=5).raise_for_status()


@pytest.fixture
def window_account(municipality, httpserver):
    with registered(WindowAdapter):
        account = channel_account_create(municipality=municipality, plugin_key="testwindow", name="WhatsApp-achtig",
                                         config={})
        account.config = {"peer": httpserver.url_for("").rstrip("/")}
        account.save()
        yield account


def _inbound(account, provider_id: str = "wamid.1", at: datetime | None = None) -> Ticket:
    ingest_events(account=account, events=(InboundMessage(
        provider_message_id=provider_id, sender=RESIDENT, text="Hoi", sent_at=at or timezone.now()),))
    ticket = Ticket.objects.get(channel_account=account)
    if at is not None:
        Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=at)
        ticket.refresh_from_db()
    return ticket


def test_inside_the_window_free_text_is_allowed(window_account, agent):
    ticket = _inbound(window_account)
    state = composer_state(ticket)
    assert state.free_text_allowed
    assert state.window_ends_at == ticket.last_inbound_at + timedelta(hours=24)
    assert [t.name for t in state.templates] == ["afspraak_herinnering", "contact_opnemen"]
    assert reply_create(ticket=ticket, author=agent, text="Hallo!").delivery_status == "queued"


def test_outside_the_window_only_templates(window_account, agent, agent_client):
    ticket = _inbound(window_account, at=timezone.now() - timedelta(hours=25))
    state = composer_state(ticket)
    assert not state.free_text_allowed and "24" in state.reason
    with pytest.raises(NotAllowed):
        reply_create(ticket=ticket, author=agent, text="Vrije tekst")
    page = agent_client.get(f"/tickets/{ticket.number}/").content.decode()
    assert 'id="template-choice"' in page and "afspraak_herinnering" in page
    assert "Send reply" not in page and "Antwoord versturen" not in page

    refused = agent_client.post(f"/tickets/{ticket.number}/reply/", {"text": "Vrije tekst"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400
    assert Message.objects.filter(direction="outbound").count() == 0

    response = agent_client.post(
        f"/tickets/{ticket.number}/template/",
        {"template": "afspraak_herinnering|nl", "param_1": "Piet", "param_2": "dinsdag 10:00"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    message = Message.objects.get(direction="outbound")
    assert message.text == "Beste Piet, uw afspraak is op dinsdag 10:00."
    assert outbound_message(message).template == TemplateRef("afspraak_herinnering", "nl", ("Piet", "dinsdag 10:00"))


def test_template_needs_all_fields_and_an_approved_name(window_account, agent):
    ticket = _inbound(window_account, at=timezone.now() - timedelta(days=3))
    with pytest.raises(NotAllowed):
        template_reply_create(ticket=ticket, author=agent, name="afspraak_herinnering", language="nl", parameters=["Piet"])
    with pytest.raises(NotAllowed):
        template_reply_create(ticket=ticket, author=agent, name="niet_goedgekeurd", language="nl", parameters=[])
    message = template_reply_create(ticket=ticket, author=agent, name="contact_opnemen", language="nl", parameters=[])
    assert message.text == "Wilt u ons even terugschrijven?"


def test_reactions_are_set_changed_and_removed_on_their_message(window_account):
    _inbound(window_account, "wamid.target")
    target = Message.objects.get(provider_message_id="wamid.target")

    def react(emoji: str, reaction_id: str) -> None:
        ingest_events(account=window_account, events=(Reaction(
            provider_message_id=reaction_id, target_provider_message_id="wamid.target", sender=IdentityRef(IdentityKind.PHONE, "0612345678"),
            emoji=emoji, sent_at=datetime(2026, 11, 28, tzinfo=dt_timezone.utc)),))

    react("👍", "wamid.r1")
    react("👍", "wamid.r1")  # redelivered
    target.refresh_from_db()
    assert target.metadata["reactions"] == {"+31612345678": "👍"}
    react("❤️", "wamid.r2")
    target.refresh_from_db()
    assert target.metadata["reactions"] == {"+31612345678": "❤️"}
    react("", "wamid.r3")
    target.refresh_from_db()
    assert target.metadata["reactions"] == {}
    assert Message.objects.count() == 1  # reactions are not messages


def test_read_receipt_is_sent_once_when_an_agent_opens_the_ticket(window_account, agent_client, httpserver,
                                                                  django_capture_on_commit_callbacks):
    ticket = _inbound(window_account, "wamid.read-me")
    httpserver.expect_request("/read", json={"id": "wamid.read-me"}).respond_with_json({"ok": True})
    with django_capture_on_commit_callbacks() as callbacks:
        agent_client.get(f"/tickets/{ticket.number}/")
    assert len(callbacks) == 1  # the receipt task is queued after the page's transaction
    message = Message.objects.get(provider_message_id="wamid.read-me")
    assert read_receipt_send(message.pk) is True
    assert read_receipt_send(message.pk) is False
    assert len(httpserver.log) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        agent_client.get(f"/tickets/{ticket.number}/")
    assert callbacks == []
