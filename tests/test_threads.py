"""Threaded channels (email): a message joins the ticket of the thread it answers, from its own resident only;
new tickets are acknowledged once a day per resident, never to machines; replies carry the thread and copies."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.utils import timezone as dj_timezone

from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.inbound.services import ingest_events
from omnidesk.outbound.delivery import outbound_message
from omnidesk.plugin_api import (
    AccountContext,
    Capabilities,
    ChannelAdapter,
    IdentityKind,
    IdentityRef,
    InboundAttachment,
    InboundMessage,
)
from omnidesk.plugin_api.testing import registered
from omnidesk.tickets.models import Attachment, Message, Status, Ticket
from omnidesk.tickets.services import NotAllowed, reply_create, ticket_set_status


class ThreadedAdapter(ChannelAdapter):
    key = "testthreads"
    verbose_name = "Threaded test channel"
    capabilities = Capabilities(identity_kind=IdentityKind.EMAIL, threads=True, cc=True, subject=True,
                                attachments=True, polling=True, webhooks=False)
    acknowledgement = "Bedankt, we hebben uw bericht ontvangen."

    def acknowledgement_text(self, account: AccountContext) -> str:
        return self.acknowledgement


@pytest.fixture
def mailbox(municipality):  # type: ignore[no-untyped-def]
    with registered(ThreadedAdapter):
        yield channel_account_create(municipality=municipality, plugin_key="testthreads", name="Info", config={})


def mail(mid: str, sender: str = "anna@example.nl", *, references: tuple[str, ...] = (), ticket: str = "",
         text: str = "Hallo", automated: bool = False, **extra) -> InboundMessage:  # type: ignore[no-untyped-def]
    return InboundMessage(provider_message_id=mid, sender=IdentityRef(IdentityKind.EMAIL, sender), text=text,
                          subject="Lantaarnpaal", sent_at=datetime(2026, 11, 29, tzinfo=timezone.utc),
                          references=references, ticket_reference=ticket, automated=automated, **extra)


def ingest(account, *events: InboundMessage) -> None:  # type: ignore[no-untyped-def]
    ingest_events(account=account, events=events)


def ticket_of(mid: str) -> Ticket:
    return Message.objects.get(provider_message_id=mid).ticket


def test_every_new_mail_opens_its_own_ticket_never_by_subject(mailbox):
    ingest(mailbox, mail("a1@x"), mail("a2@x"))  # same sender, same subject, no thread headers
    assert ticket_of("a1@x") != ticket_of("a2@x")
    assert ticket_of("a1@x").subject == "Lantaarnpaal"


def test_a_reply_joins_the_ticket_of_the_nearest_message_it_references(mailbox, agent):
    ingest(mailbox, mail("first@x"), mail("other@x"))
    ours = reply_create(ticket=ticket_of("first@x"), author=agent, text="We kijken ernaar.")
    Message.objects.filter(pk=ours.pk).update(provider_message_id="omnidesk.1@gemeente.nl")
    # In-Reply-To our reply (nearest), References also naming the other ticket's mail further away.
    ingest(mailbox, mail("reply@x", references=("omnidesk.1@gemeente.nl", "other@x")))
    assert ticket_of("reply@x") == ticket_of("first@x")
    assert Ticket.objects.count() == 2


def test_someone_else_answering_a_thread_gets_a_linked_ticket_of_their_own(mailbox):
    ingest(mailbox, mail("anna@x"))
    ingest(mailbox, mail("bert@x", "bert@example.nl", references=("anna@x",)))
    bert = ticket_of("bert@x")
    assert bert != ticket_of("anna@x")
    assert bert.related_ticket == ticket_of("anna@x")
    assert bert.subject == "Lantaarnpaal"
    assert ticket_of("anna@x").messages.filter(direction="inbound").count() == 1


def test_the_ticket_number_in_the_subject_threads_only_for_the_same_resident(mailbox):
    ingest(mailbox, mail("anna@x"))
    number = str(ticket_of("anna@x").number)
    ingest(mailbox, mail("anna2@x", ticket=number))  # Outlook dropped the headers; the [#n] tag stayed
    assert ticket_of("anna2@x") == ticket_of("anna@x")
    ingest(mailbox, mail("eve@x", "eve@example.nl", ticket=number))  # anyone can type a tag
    assert ticket_of("eve@x") != ticket_of("anna@x")
    assert ticket_of("eve@x").related_ticket == ticket_of("anna@x")


def test_a_reply_reopens_a_recently_resolved_ticket_but_not_a_closed_one(mailbox, agent):
    ingest(mailbox, mail("m1@x"))
    ticket = ticket_of("m1@x")
    ticket_set_status(ticket=ticket, status=Status.RESOLVED, actor=agent)
    ingest(mailbox, mail("m2@x", references=("m1@x",)))
    ticket.refresh_from_db()
    assert ticket_of("m2@x") == ticket and ticket.status == Status.OPEN
    ticket_set_status(ticket=ticket, status=Status.CLOSED, actor=agent)
    ingest(mailbox, mail("m3@x", references=("m2@x", "m1@x")))
    assert ticket_of("m3@x") != ticket and ticket_of("m3@x").related_ticket == ticket


def test_new_tickets_are_acknowledged_once_a_day_and_never_to_machines(mailbox):
    ingest(mailbox, mail("q1@x"))
    acks = Message.objects.filter(metadata__automatic=True)
    assert [(a.ticket, a.text, a.delivery_status, a.author_user) for a in acks.all()] == [
        (ticket_of("q1@x"), ThreadedAdapter.acknowledgement, "queued", None)]
    assert ticket_of("q1@x").status == Status.NEW  # an acknowledgement is not a first response
    ingest(mailbox, mail("q2@x"))  # a second new ticket the same day: no second acknowledgement
    ingest(mailbox, mail("q3@x", references=("q1@x",)))  # a reply in a thread: none either
    assert acks.count() == 1
    ingest(mailbox, mail("ooo@x", "bot@example.nl", automated=True))  # an auto-reply or newsletter: never
    assert acks.count() == 1
    ingest(mailbox, mail("b1@x", "bert@example.nl"))
    assert acks.count() == 2
    Message.objects.filter(metadata__automatic=True).update(created_at=dj_timezone.now() - timedelta(days=2))
    ingest(mailbox, mail("q4@x"))
    assert acks.count() == 3
    outbound = outbound_message(acks.get(ticket=ticket_of("q4@x")))
    assert outbound.automatic is True and outbound.sender_name == "" and outbound.in_reply_to == "q4@x"


def test_no_acknowledgement_without_text(mailbox, monkeypatch):
    monkeypatch.setattr(ThreadedAdapter, "acknowledgement", "")
    ingest(mailbox, mail("z1@x"))
    assert not Message.objects.filter(metadata__automatic=True).exists()


def test_a_reply_carries_the_whole_thread_its_number_and_copies(mailbox, agent):
    ingest(mailbox, mail("root@x", references=("older@elsewhere", "oldest@elsewhere"), cc=("bert@example.nl",)))
    ticket = ticket_of("root@x")
    first = reply_create(ticket=ticket, author=agent, text="Eerste antwoord")
    Message.objects.filter(pk=first.pk).update(provider_message_id="omnidesk.first@gemeente.nl")
    ingest(mailbox, mail("again@x", references=("omnidesk.first@gemeente.nl", "root@x")))
    reply = reply_create(ticket=ticket, author=agent, text="Tweede antwoord", cc=["bert@example.nl"])
    outbound = outbound_message(reply)
    assert outbound.references == ("oldest@elsewhere", "older@elsewhere", "root@x", "omnidesk.first@gemeente.nl",
                                   "again@x")
    assert outbound.in_reply_to == "again@x"
    assert outbound.ticket_reference == str(ticket.number)
    assert outbound.cc == ("bert@example.nl",)
    assert outbound.automatic is False
    assert Message.objects.get(provider_message_id="root@x").metadata["cc"] == ["bert@example.nl"]


def test_copies_are_refused_on_a_channel_without_them(account, agent):
    from tests.conftest import post_sandbox  # noqa: F401  (the sandbox account fixture is enough)

    ticket = Ticket.objects.create(municipality=account.municipality, number=1, contact_id=_contact(account).pk,
                                   identity=_contact(account).identities.first(), channel_account=account,
                                   last_activity_at=dj_timezone.now())
    with pytest.raises(NotAllowed):
        reply_create(ticket=ticket, author=agent, text="Hoi", cc=["x@example.nl"])


def _contact(account):  # type: ignore[no-untyped-def]
    from omnidesk.contacts.services import contact_for_identity

    return contact_for_identity(municipality=account.municipality,
                                identity=IdentityRef(IdentityKind.VISITOR, "v" * 32), display_name="Bezoeker")


def test_a_file_the_plugin_could_not_keep_is_listed_with_the_reason(mailbox):
    ingest(mailbox, mail("big@x", attachments=(InboundAttachment(filename="plattegrond.pdf",
                                                                 content_type="application/pdf",
                                                                 unavailable="larger than the limit"),)))
    attachment = Attachment.objects.get()
    assert (attachment.filename, attachment.fetch_error, bool(attachment.file)) == (
        "plattegrond.pdf", "larger than the limit", False)


def test_the_quoted_earlier_conversation_is_kept_beside_the_text(mailbox, agent_client):
    ingest(mailbox, mail("q@x", text="Nog een vraag", quoted="Op 28 nov schreef Gemeente:\n> Eerder antwoord"))
    message = Message.objects.get(provider_message_id="q@x")
    assert (message.text, message.quoted_text) == ("Nog een vraag", "Op 28 nov schreef Gemeente:\n> Eerder antwoord")
    page = agent_client.get(f"/tickets/{message.ticket.number}/").content.decode()
    assert '<details class="earlier">' in page and "&gt; Eerder antwoord" in page


def test_an_agent_may_change_the_subject_of_one_reply(mailbox, agent):
    ingest(mailbox, mail("s1@x"))
    ticket = ticket_of("s1@x")
    reply = reply_create(ticket=ticket, author=agent, text="Zie bijlage", subject="Vergunning verleend")
    assert outbound_message(reply).subject == "Vergunning verleend"
    assert outbound_message(reply_create(ticket=ticket, author=agent, text="Nog iets")).subject == "Lantaarnpaal"
