"""Drains gather larger batches only while webhooks arrive fast (inbound.listener, inbound.journal.Gathering)."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.test import Client

from omnidesk.inbound import journal
from omnidesk.inbound.listener import AppendRate, JournalListener, gathering_for
from omnidesk.inbound.models import JournalEntry
from omnidesk.tickets.models import Message
from tests.conftest import new_resident_id, post_sandbox, wait_until
from tests.test_inbound_journal import ingest_mode


def test_the_append_rate_follows_the_newest_ids_drains_took_and_fades_when_appends_stop():
    rate = AppendRate(window=1.0)
    assert rate.per_second(at=0.0) == 0.0
    rate.note(100, at=0.0)
    assert rate.per_second(at=0.0) == 0.0, "one drain says nothing about a rate"
    rate.note(150, at=0.1)
    rate.note(300, at=0.5)
    assert rate.per_second(at=0.5) == pytest.approx(400.0)
    assert rate.per_second(at=0.8) == pytest.approx(250.0), "no append since: the rate falls"
    assert rate.per_second(at=5.0) == 0.0, "quiet for longer than the window: no rate"
    rate.note(0, at=5.0)
    assert rate.per_second(at=5.0) == 0.0, "a drain that took nothing is no measurement"


def test_drains_gather_only_above_the_configured_rate(settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "INGEST_GATHER_RATE": 200, "INGEST_GATHER_BATCH": 80,
                         "INGEST_GATHER_MS": 25}
    assert gathering_for(120.0) is None, "100 webhooks a second: every drain starts at once"
    assert gathering_for(450.0) == journal.Gathering(batch=80, wait=0.025)
    settings.OMNIDESK = {**settings.OMNIDESK, "INGEST_GATHER_RATE": 0}
    assert gathering_for(10_000.0) is None, "0 switches the rate off"


def test_drains_also_gather_when_they_fall_behind_whatever_the_rate(settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "INGEST_GATHER_RATE": 200, "INGEST_GATHER_BEHIND_MS": 100,
                         "INGEST_GATHER_BATCH": 80, "INGEST_GATHER_MS": 25}
    assert gathering_for(60.0, waited=0.02) is None, "entries drained within 20 ms: the drains keep up"
    assert gathering_for(60.0, waited=0.12) == journal.Gathering(batch=80, wait=0.1), \
        "a slow machine falls behind at 60 webhooks a second: drains gather as long as entries already waited"
    assert gathering_for(60.0, waited=0.25) == journal.Gathering(batch=80, wait=0.1), "at most four times the set wait"
    assert gathering_for(450.0, waited=0.0) == journal.Gathering(batch=80, wait=0.025), "fast, not behind: the set wait"
    assert gathering_for(450.0, waited=0.05) == journal.Gathering(batch=80, wait=0.05)
    settings.OMNIDESK = {**settings.OMNIDESK, "INGEST_GATHER_BEHIND_MS": 0}
    assert gathering_for(60.0, waited=5.0) is None, "0 switches the measure of falling behind off"
    settings.OMNIDESK = {**settings.OMNIDESK, "INGEST_GATHER_BEHIND_MS": 100, "INGEST_GATHER_MS": 0}
    assert gathering_for(10_000.0, waited=5.0) is None, "no wait: no gathering at all"


@pytest.mark.django_db(transaction=True)  # each webhook's append commits on its own, as in production
def test_a_drain_reports_how_long_its_oldest_entry_waited_for_it(account):
    with ingest_mode("worker"):
        _post(account, 2, "waiting")
        time.sleep(0.4)
        report = journal.drain()
        assert report.entries == 2
        assert 0.4 <= report.waited < 30, "measured on the database's clock from the first entry's arrival"
        _post(account, 1, "fresh")
        assert journal.drain().waited < 0.4, "an entry drained right away waited only as long as its drain took"
        assert journal.drain().waited == 0.0, "nothing taken, nothing waited"


def _post(account, count: int, tag: str) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for n in range(count):
        assert post_sandbox(client, account, {"id": f"{tag}-{n}", "text": f"Bericht {tag} {n}"},
                            new_resident_id()).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_gathering_drain_waits_for_what_arrives_meanwhile_and_stores_it_in_the_same_batch(account):
    with ingest_mode("worker"):
        _post(account, 2, "early")
        reports: list[journal.DrainReport] = []

        def drain() -> None:
            try:
                reports.append(journal.drain(gathering=journal.Gathering(batch=50, wait=1.5)))
            finally:
                connection.close()

        draining = threading.Thread(target=drain)
        draining.start()
        time.sleep(0.3)  # the drain holds the lock and waits
        _post(account, 3, "late")
        draining.join(10)
    [report] = reports
    assert (report.entries, report.failed, report.stored.messages) == (5, 0, 5)
    assert not JournalEntry.objects.exists()
    assert Message.objects.count() == 5
    with ingest_mode("worker"):
        _post(account, 1, "next")
    assert JournalEntry.objects.get().pk == report.last_id + 1, "the report names the newest entry it took"


def test_a_drain_that_finds_a_full_batch_does_not_wait(account):
    with ingest_mode("worker"):
        _post(account, 4, "full")
        started = time.monotonic()
        report = journal.drain(gathering=journal.Gathering(batch=4, wait=30.0))
    assert report.entries == 4
    assert time.monotonic() - started < 15, "a batch already full is stored without the wait"


@contextmanager
def _listening() -> Iterator[tuple[JournalListener, threading.Event]]:
    """A real listener thread, and an event set once it was seen draining without notices (watched from a thread of
    its own: it may switch only once its drains have measured the load, on a busy machine after the last webhook)."""
    listener = JournalListener()
    listener.start()
    polled, done = threading.Event(), threading.Event()

    def watch() -> None:
        while not done.is_set():
            if listener.polling:
                polled.set()
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield listener, polled
    finally:
        done.set()
        watcher.join()
        listener.stop()


def _listens_again_and_stores_a_lone_webhook(listener: JournalListener, account) -> None:  # type: ignore[no-untyped-def]
    wait_until(lambda: not listener.polling, timeout=10, message="the listener to listen again")
    assert post_sandbox(Client(), account, {"id": "alone", "text": "Alleen"}, new_resident_id()).status_code == 200
    wait_until(lambda: Message.objects.filter(text="Alleen").exists(), timeout=5,
               message="a lone webhook to be stored on its notice once the drains keep up")
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_listener_drains_without_notices_during_a_burst_and_listens_again_when_it_ends(account, settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "INGEST_GATHER_RATE": 20, "INGEST_GATHER_BATCH": 10,
                         "INGEST_GATHER_MS": 20}
    with _listening() as (listener, polled), ingest_mode("worker"):
        client = Client()
        for n in range(120):  # a few hundred a second from this test: far above the 20/s set above
            assert post_sandbox(client, account, {"id": f"b-{n}", "text": f"Burst {n}"},
                                new_resident_id()).status_code == 200
        wait_until(lambda: Message.objects.count() == 120, timeout=20, message="the burst to be stored")
        assert polled.is_set(), "the listener stopped waiting for notices during the burst"
        _listens_again_and_stores_a_lone_webhook(listener, account)


@pytest.mark.django_db(transaction=True)
def test_a_listener_gathers_when_its_drains_fall_behind_at_a_low_rate(account, settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "INGEST_GATHER_RATE": 100_000, "INGEST_GATHER_BEHIND_MS": 100,
                         "INGEST_GATHER_BATCH": 10, "INGEST_GATHER_MS": 20}
    with _listening() as (listener, polled), ingest_mode("worker"):
        # Another drain holds the lock (a slow one, on a busy machine): what arrives meanwhile waits for it.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [journal.DRAIN_LOCK])
            for n in range(3):
                assert post_sandbox(Client(), account, {"id": f"late-{n}", "text": f"Laat {n}"},
                                    new_resident_id()).status_code == 200
            time.sleep(0.4)
        wait_until(lambda: Message.objects.count() == 3, timeout=20, message="the waiting webhooks to be stored")
        wait_until(polled.is_set, timeout=10, message="the listener to gather after a drain that fell behind")
        _listens_again_and_stores_a_lone_webhook(listener, account)
