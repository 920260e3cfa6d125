"""The inbound journal: a webhook's events become durable with one INSERT, and are stored in batches.

A webhook verifies and parses the request, appends the normalised events (`journal_append`) and answers 200: what
the provider was told we accepted is in PostgreSQL. Storing them as contacts, tickets, messages and dashboard
events costs some twenty statements per message one by one; `drain` stores a few hundred entries in one
transaction with set-based statements (inbound.services.ingest_batch) and deletes them in the same transaction.

Who drains (settings.OMNIDESK["INGEST"]):
- "worker": each Celery worker process's listener thread, woken by the NOTIFY a trigger sends for every append
  (inbound/listener.py), and beat's drain task every few seconds as the safety net. One drain runs at a time (an
  advisory lock), so one resident's messages are stored in the order they were accepted.
- "inline": the webhook's own request stores its entry right after appending it (the embedded default and most
  tests: the ticket exists when the 200 arrives). Same code, a batch of one.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.inbound.codec import decode_events, encode_events
from omnidesk.inbound.models import JournalEntry
from omnidesk.inbound.services import IngestReport, ingest_batch
from omnidesk.ops.retry import backoff_seconds
from omnidesk.plugin_api.events import InboundEvent
from omnidesk.realtime.services import numbered_on_write

logger = logging.getLogger(__name__)

# Entries per drain transaction: large enough to make per-statement costs vanish, small enough to keep the
# transaction (and the dashboards' wait for its events) short.
BATCH_SIZE = 200
MAX_ATTEMPTS = 5
# pg_advisory_xact_lock key: "omnidesk" journal drain.
DRAIN_LOCK = 0x6F6D6E69
# Transient: the database went away or gave up a lock; the whole batch is tried again, nobody is blamed.
TRANSIENT = (OperationalError, InterfaceError)


@dataclass
class DrainReport:
    entries: int = 0
    failed: int = 0
    stored: IngestReport = field(default_factory=IngestReport)
    last_id: int = 0  # the newest entry taken: how far appends had come (the listener's measure of the rate)
    # How long the oldest entry taken had been waiting when its drain began, in seconds: how far behind the drains
    # are (the listener gathers when they fall behind, whatever the rate).
    waited: float = 0.0


@dataclass(frozen=True)
class Gathering:
    """A drain that finds fewer than `batch` entries waits `wait` seconds for more before it stores them.

    Each batch has a fixed cost (some twenty statements and a commit); when webhooks arrive by the hundred per
    second, drains that run back to back with a few entries each spend most of the machine on that fixed cost. The
    listener only gathers while appends come faster than a set rate or entries wait too long for their drain
    (inbound/listener.py), so a lone webhook is never kept waiting. The wait holds the drain lock: no other drain
    takes a small batch meanwhile.
    """

    batch: int
    wait: float


def inline() -> bool:
    return settings.OMNIDESK["INGEST"] == "inline"


def journal_append(*, account: ChannelAccount, events: tuple[InboundEvent, ...], fingerprint: str = "") -> int | None:
    """Make a webhook's events durable (autocommit: committed when this returns) and return the entry's id; the
    insert wakes the listeners.

    With `fingerprint` (an account from the webhooks' cache, inbound/webhook_accounts.py) the row is written only if
    the account is still enabled and unchanged, in the same statement; None when it is not (nothing was written).
    """
    encoded = encode_events(events)
    if not fingerprint:
        return JournalEntry.objects.create(channel_account=account, events=encoded).pk
    # Every webhook runs this one statement: prepared once per connection (server-side binding), PostgreSQL neither
    # parses nor plans it again, which was as much work as running it.
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_append_checked_sql(), [encoded, account.pk, fingerprint], prepare=True)
        row = cursor.fetchone()
    return None if row is None else row[0]


@cache
def _append_checked_sql() -> str:
    from omnidesk.inbound.webhook_accounts import fingerprint_sql

    accounts = ChannelAccount._meta.db_table
    return (f'INSERT INTO "{JournalEntry._meta.db_table}" '
            f"(channel_account_id, received_at, events, attempts, available_at, last_error) "
            f"SELECT \"{accounts}\".id, now(), %s, 0, now(), '' FROM \"{accounts}\" "
            f'WHERE "{accounts}".id = %s AND "{accounts}".enabled AND {fingerprint_sql(accounts)} = %s '
            f"RETURNING id")


def drain_all(max_batches: int = 1_000, gathering: Gathering | None = None) -> DrainReport:
    """Drain until nothing is waiting (the listener, the beat task)."""
    total = DrainReport()
    for _ in range(max_batches):
        report = drain(gathering=gathering)
        total.entries += report.entries
        total.failed += report.failed
        total.stored.add(report.stored)
        total.last_id = max(total.last_id, report.last_id)
        total.waited = max(total.waited, report.waited)
        if report.entries < BATCH_SIZE:
            break
    return total


def drain(limit: int = BATCH_SIZE, gathering: Gathering | None = None) -> DrainReport:
    """Store up to `limit` waiting entries in one transaction, oldest first."""
    with transaction.atomic():
        bitmap_scans = ""
        began = timezone.now()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # The take reads the journal in id order. Drained entries stay behind as dead index entries until
                # vacuum; an index scan marks them and skips them cheaply from then on, but a bitmap scan (the
                # planner's choice for a table not analysed yet) visits every one of them again, each time.
                # The database's clock says when the drain began: entries are stamped with it too.
                cursor.execute("SELECT pg_advisory_xact_lock(%s), current_setting('enable_bitmapscan'), "
                               "set_config('enable_bitmapscan', 'off', true), clock_timestamp()", [DRAIN_LOCK])
                _lock, bitmap_scans, _off, began = cursor.fetchone()
        entries = _take(limit)
        waited = max(0.0, (began - min(e.available_at for e in entries)).total_seconds()) if entries else 0.0
        if gathering is not None and len(entries) < min(gathering.batch, limit):
            time.sleep(gathering.wait)
            entries += _take(limit - len(entries), after=entries[-1].pk if entries else 0)
        if bitmap_scans:  # the ingest's statements are planned as usual
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('enable_bitmapscan', %s, true)", [bitmap_scans])
        # Drains run one at a time (the lock above) and commit right after storing: their dashboard events are
        # numbered as they are written (realtime.services).
        with numbered_on_write():
            report = _store(entries)
        report.waited = waited
        return report


def _take(limit: int, after: int = 0) -> list[JournalEntry]:
    return list(
        JournalEntry.objects.select_for_update(skip_locked=True)
        .filter(failed_at__isnull=True, available_at__lte=timezone.now(), pk__gt=after).order_by("id")[:limit]
    )


def ingest_entry(entry_id: int) -> IngestReport | None:
    """Store one entry now (inline mode); None when it could not be (it waits for a drain, with its error noted).

    Entries that wait from earlier (set aside after an error, or left by a request the database dropped) get a drain
    of their own after this one: where no beat runs (the embedded default) the next webhook is what retries them.
    """
    with transaction.atomic():
        taken = list(JournalEntry.objects.select_for_update(skip_locked=True).filter(pk=entry_id, failed_at__isnull=True))
        report = _store(taken)
    if _others_waiting(entry_id):
        _drain_soon()
    return report.stored if report.entries and not report.failed else None


# An entry younger than this without attempts is most likely being stored by its own request right now.
IN_FLIGHT = timedelta(seconds=30)


def _others_waiting(entry_id: int) -> bool:
    now = timezone.now()
    return JournalEntry.objects.filter(failed_at__isnull=True, available_at__lte=now).filter(
        Q(attempts__gt=0) | Q(received_at__lt=now - IN_FLIGHT)).exclude(pk=entry_id).exists()


def _drain_soon() -> None:
    from omnidesk.inbound.tasks import drain_journal

    try:
        drain_journal.delay()
    except Exception:  # noqa: BLE001  (broker away: beat's drain, or the next webhook, tries again)
        logger.warning("journal drain not enqueued")


def journal_retry(entries: Sequence[JournalEntry]) -> int:
    """An operator's retry of dead letters: they wait again, with a fresh count of attempts."""
    from omnidesk.inbound.listener import notify_listeners

    count = JournalEntry.objects.filter(pk__in=[e.pk for e in entries]).update(
        failed_at=None, attempts=0, available_at=timezone.now())
    if count and not inline():
        transaction.on_commit(notify_listeners)
    return count


def _store(entries: list[JournalEntry]) -> DrainReport:
    """Store the entries' events and delete the entries; an entry that fails is set aside, the others go on."""
    report = DrainReport(entries=len(entries))
    if not entries:
        return report
    report.last_id = max(e.pk for e in entries)
    accounts = ChannelAccount.objects.select_related("municipality").in_bulk({e.channel_account_id for e in entries})
    try:
        with transaction.atomic():
            report.stored = ingest_batch([(accounts[e.channel_account_id], decode_events(e.events)) for e in entries])
        stored = entries
    except TRANSIENT:
        raise
    except Exception:  # noqa: BLE001  one entry is bad (or a bug): find it, store the rest
        stored = []
        for entry in entries:
            try:
                with transaction.atomic():
                    report.stored.add(ingest_batch([(accounts[entry.channel_account_id], decode_events(entry.events))]))
                stored.append(entry)
            except TRANSIENT:
                raise
            except Exception as exc:  # noqa: BLE001
                _set_aside(entry, exc)
                report.failed += 1
    JournalEntry.objects.filter(pk__in=[e.pk for e in stored]).delete()
    return report


def _set_aside(entry: JournalEntry, exc: Exception) -> None:
    entry.attempts += 1
    entry.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    if entry.attempts >= MAX_ATTEMPTS:
        entry.failed_at = now
        logger.error("inbound journal entry given up", extra={"entry": entry.pk, "error": type(exc).__name__})
    else:
        entry.available_at = now + timedelta(seconds=backoff_seconds(entry.attempts))
        logger.warning("inbound journal entry postponed", extra={"entry": entry.pk, "error": type(exc).__name__},
                       exc_info=not isinstance(exc, ValueError))
    entry.save(update_fields=["attempts", "last_error", "failed_at", "available_at"])
