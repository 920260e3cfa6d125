"""The inbound journal (worker mode): a webhook's 200 means its events are durable; drains store them in batches,
in order, once, and set aside an entry that cannot be stored without holding up the rest."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from omnidesk.inbound import journal
from omnidesk.inbound.admin import JournalEntryAdmin
from omnidesk.inbound.codec import decode_events, encode_events
from omnidesk.inbound.models import JournalEntry
from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundMessage
from omnidesk.realtime.models import Event
from omnidesk.tickets.models import Message, Ticket
from tests.conftest import new_resident_id, post_sandbox, wait_until
from tests.factories import MunicipalityFactory, sandbox_account



def ingest_mode(mode: str) -> override_settings:
    return override_settings(OMNIDESK={**settings.OMNIDESK, "INGEST": mode})


@pytest.fixture(autouse=True)
def _worker_mode():  # type: ignore[no-untyped-def]
    with ingest_mode("worker"):
        yield


def test_a_webhook_answers_once_its_events_are_durable_and_a_drain_stores_them(account):
    resident = new_resident_id()
    response = post_sandbox(Client(), account, {"id": "m-1", "text": "Mijn fiets is weg", "name": "Piet"}, resident)
    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    [entry] = JournalEntry.objects.all()
    [event] = decode_events(bytes(entry.events))
    assert isinstance(event, InboundMessage) and event.text == "Mijn fiets is weg"
    assert not Message.objects.exists(), "stored by the drain, not the request"

    report = journal.drain_all()
    assert (report.entries, report.failed, report.stored.messages) == (1, 0, 1)
    assert not JournalEntry.objects.exists()
    message = Message.objects.get()
    assert (message.text, message.author_contact.display_name) == ("Mijn fiets is weg", "Piet")
    assert message.provider_message_id == f"{resident}:m-1"
    events = Event.objects.filter(municipality=account.municipality).order_by("id")  # rows come in no fixed order
    assert list(events.values_list("type", flat=True)) == ["message.created", "ticket.created"]


def test_a_batch_keeps_each_residents_order_opens_one_ticket_each_and_stores_redeliveries_once(account):
    other_account = sandbox_account(MunicipalityFactory())
    residents = [new_resident_id() for _ in range(4)]
    elsewhere = new_resident_id()
    posted: dict[str, list[str]] = {r: [] for r in residents}
    client = Client()
    for round_ in range(5):
        for resident in residents:
            text = f"{resident} bericht {round_}"
            assert post_sandbox(client, account, {"id": f"r{round_}", "text": text}, resident).status_code == 200
            posted[resident].append(text)
        # The provider delivers one of them again, and another municipality's resident writes in between.
        assert post_sandbox(client, account, {"id": f"r{round_}", "text": "opnieuw"}, residents[0]).status_code == 200
        assert post_sandbox(client, other_account, {"id": f"x{round_}", "text": "elders"}, elsewhere).status_code == 200
    assert JournalEntry.objects.count() == 30

    report = journal.drain(limit=200)
    assert (report.entries, report.stored.messages, report.stored.duplicates) == (30, 25, 5)
    tickets = Ticket.objects.filter(municipality=account.municipality).order_by("number")
    assert [t.number for t in tickets] == [1, 2, 3, 4], "one ticket per resident, numbered without gaps"
    for resident in residents:
        ticket = Ticket.objects.get(identity__value=f"sandbox-{resident}")
        texts = list(ticket.messages.order_by("id").values_list("text", flat=True))
        assert texts == posted[resident]
        assert ticket.preview == posted[resident][-1]
    assert Ticket.objects.get(municipality=other_account.municipality).messages.count() == 5
    event_types = list(Event.objects.filter(municipality=account.municipality).values_list("type", flat=True))
    assert event_types.count("message.created") == 20 and event_types.count("ticket.created") == 4


def test_an_entry_that_cannot_be_stored_is_set_aside_and_the_rest_are_stored(account):
    good = post_sandbox(Client(), account, {"id": "goed", "text": "Goed bericht"})
    assert good.status_code == 200
    bad = JournalEntry.objects.create(channel_account=account, events=b'[["NoSuchEvent", {}]]')
    later = post_sandbox(Client(), account, {"id": "later", "text": "Later bericht"})
    assert later.status_code == 200

    report = journal.drain()
    assert (report.entries, report.failed, report.stored.messages) == (3, 1, 2)
    assert sorted(Message.objects.values_list("text", flat=True)) == ["Goed bericht", "Later bericht"]
    bad.refresh_from_db()
    assert bad.attempts == 1 and "NoSuchEvent" in bad.last_error
    assert bad.available_at > timezone.now() and bad.failed_at is None, "tried again later, with backoff"

    for _ in range(journal.MAX_ATTEMPTS - 1):
        JournalEntry.objects.filter(pk=bad.pk).update(available_at=timezone.now() - timedelta(seconds=1))
        journal.drain()
    bad.refresh_from_db()
    assert bad.attempts == journal.MAX_ATTEMPTS and bad.failed_at is not None, "a dead letter now"
    JournalEntry.objects.filter(pk=bad.pk).update(available_at=timezone.now() - timedelta(seconds=1))
    assert journal.drain().entries == 0, "dead letters wait for an operator"


def test_an_operator_sees_a_dead_letters_events_and_puts_it_back_in_line(account, admin_user):
    event = InboundMessage(provider_message_id="dl-1", sender=IdentityRef(IdentityKind.VISITOR, "sandbox-dl"),
                           sent_at=timezone.now(), text="Na de storing")
    entry = JournalEntry.objects.create(channel_account=account, events=encode_events((event,)), attempts=5,
                                        failed_at=timezone.now(), last_error="OperationalError: weg")
    model_admin = JournalEntryAdmin(JournalEntry, site)
    assert "Na de storing" in model_admin.decoded(entry)
    request = RequestFactory().post("/admin/inbound/journalentry/")
    request.user = admin_user
    assert model_admin.has_retry_permission(request)

    assert journal.journal_retry([entry]) == 1
    entry.refresh_from_db()
    assert (entry.attempts, entry.failed_at) == (0, None)
    assert journal.drain_all().stored.messages == 1
    assert Message.objects.get().text == "Na de storing"


def test_inline_mode_stores_in_the_request_through_the_same_journal(account):
    with ingest_mode("inline"):
        response = post_sandbox(Client(), account, {"id": "i-1", "text": "Direct"})
    assert response.json()["messages"] == 1
    assert Message.objects.get().text == "Direct"
    assert not JournalEntry.objects.exists()


@pytest.mark.stack
def test_a_workers_listener_stores_what_webhooks_append_without_beat_or_a_task(celery_worker_factory, account):
    """Worker mode end to end: the append's NOTIFY wakes the worker's listener; nothing else drains here."""
    celery_worker_factory(OMNIDESK_INGEST="worker")
    residents = [new_resident_id() for _ in range(3)]
    for n, resident in enumerate(residents):
        assert post_sandbox(Client(), account, {"id": f"l{n}", "text": f"Bericht {n}"}, resident).json() == {
            "status": "accepted"}
    wait_until(lambda: Message.objects.count() == 3 and not JournalEntry.objects.exists(), timeout=20,
               message="the listener to drain the journal")
    assert sorted(Ticket.objects.values_list("number", flat=True)) == [1, 2, 3]


def test_inline_the_next_webhook_retries_an_entry_that_waits(account, settings):
    """Where no beat runs (the embedded default), an entry set aside earlier is retried when the next webhook comes."""
    event = InboundMessage(provider_message_id="w-1", sender=IdentityRef(IdentityKind.VISITOR, "sandbox-wacht"),
                           sent_at=timezone.now(), text="Bleef liggen")
    JournalEntry.objects.create(channel_account=account, events=encode_events((event,)), attempts=1,
                                available_at=timezone.now() - timedelta(seconds=1))
    settings.CELERY_TASK_ALWAYS_EAGER = True  # as on the embedded default: the drain runs in the request, after it
    settings.OMNIDESK = {**settings.OMNIDESK, "INGEST": "inline"}
    assert post_sandbox(Client(), account, {"id": "n-1", "text": "Nieuw"}).json()["messages"] == 1
    assert sorted(Message.objects.values_list("text", flat=True)) == ["Bleef liggen", "Nieuw"]
    assert not JournalEntry.objects.exists()
