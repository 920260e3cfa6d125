"""Drains the inbound journal the moment a webhook appends to it (worker mode, PostgreSQL).

A trigger NOTIFYs `omnidesk_inbound_journal` for every statement that appends (migration 0002), so appending costs
no extra round trip. Each Celery worker process runs one listener thread that LISTENs on a connection of its own
and drains when notified; drains run one at a time across all workers (inbound.journal's advisory lock). A listener
that loses its connection reconnects with backoff and drains first what arrived meanwhile; beat's drain every few
seconds covers any gap.

While webhooks arrive faster than OMNIDESK_INGEST_GATHER_RATE per second, or wait longer than
OMNIDESK_INGEST_GATHER_BEHIND_MS before their drain begins (the drains fall behind: a slower machine reaches that
point at a lower rate), drains gather larger batches (journal.Gathering): a few milliseconds more per message buy a
much lower cost per message when the machine is busy. The listener then stops listening and drains one batch after
the other (there is always work waiting), which spares PostgreSQL and the listener a notice per webhook; when the
drains keep up again it listens again. Otherwise every drain starts at once.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque

import psycopg
from django.conf import settings
from django.db import close_old_connections, connection

from omnidesk.inbound.journal import Gathering, drain_all
from omnidesk.ops.retry import backoff_seconds

logger = logging.getLogger(__name__)

CHANNEL = "omnidesk_inbound_journal"
WAIT_SECONDS = 1.0
# The append rate is measured over this many seconds of drains.
RATE_WINDOW = 1.0


class AppendRate:
    """Appends per second, from the journal ids drains took (ids are handed out in order by every web process, so
    the newest id a drain takes says how far appends have come, whichever listener drained before)."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self._seen: deque[tuple[float, int]] = deque()

    def note(self, last_id: int, at: float | None = None) -> None:
        if last_id:
            self._seen.append((time.monotonic() if at is None else at, last_id))

    def per_second(self, at: float | None = None) -> float:
        now = time.monotonic() if at is None else at
        while self._seen and now - self._seen[0][0] > self.window:
            self._seen.popleft()
        if len(self._seen) < 2:
            return 0.0
        (first_at, first_id), (last_at, last_id) = self._seen[0], self._seen[-1]
        return (last_id - first_id) / max(last_at - first_at, now - first_at, 1e-3)


# How much longer than INGEST_GATHER_MS a drain may gather when the drains are far behind.
MAX_GATHER_FACTOR = 4


def gathering_for(rate: float, waited: float = 0.0) -> Gathering | None:
    """Gather while appends come fast or drains fall behind (`waited`: seconds the last drain's oldest entry waited
    for it); None: every drain starts at once.

    The further behind, the longer a drain gathers: as long as its predecessor's oldest entry had waited (from
    INGEST_GATHER_MS up to MAX_GATHER_FACTOR times it). Larger batches cost less per message, so the drains catch
    up, and an entry delays at most as long again as entries already wait; as they catch up the wait shrinks.
    """
    options = settings.OMNIDESK
    least = options["INGEST_GATHER_MS"] / 1000
    fast = 0 < options["INGEST_GATHER_RATE"] <= rate
    behind = 0 < options["INGEST_GATHER_BEHIND_MS"] <= waited * 1000
    if not least or not (fast or behind):
        return None
    return Gathering(batch=options["INGEST_GATHER_BATCH"], wait=min(max(least, waited), MAX_GATHER_FACTOR * least))


def notify_listeners() -> None:
    """Wake the listeners without appending (entries an operator put back in line)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


class JournalListener:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rate = AppendRate()
        self._waited = 0.0  # how long the last drain's oldest entry had waited for it
        self._polling = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="omnidesk-journal-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def polling(self) -> bool:
        """True while appends come so fast that the listener drains without waiting for notices."""
        return self._polling

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as listening:
                        listening.execute(f"LISTEN {CHANNEL}")
                        self._polling = False
                        failures = 0
                        self._drain()  # what arrived while nobody listened
                        self._follow(listening)
                except Exception:  # noqa: BLE001  (the database went away: listen again after a pause)
                    failures += 1
                    logger.warning("journal listener lost its connection", exc_info=True)
                    self._stop.wait(backoff_seconds(failures))
        finally:
            connection.close()  # this thread's own connection for the drains: not left open when it ends

    def _follow(self, listening: psycopg.Connection) -> None:
        while not self._stop.is_set():
            gathering = gathering_for(self._rate.per_second(), self._waited)
            busy = gathering is not None
            if busy and not self._polling:
                # Appends come faster than drains end: every drain has work waiting, so drain one after the other
                # (each gathering its batch) and spare PostgreSQL and this thread a notice per webhook.
                listening.execute(f"UNLISTEN {CHANNEL}")
                self._polling = True
            elif not busy and self._polling:
                listening.execute(f"LISTEN {CHANNEL}")
                self._polling = False
                self._drain()  # what was appended before the LISTEN took effect
                continue
            if not self._polling:
                if not any(True for _ in listening.notifies(timeout=WAIT_SECONDS, stop_after=1)):
                    continue
                # Notices already queued are covered by this drain; one arriving during it wakes the next.
                for _ in listening.notifies(timeout=0):
                    pass
            if not self._drain(gathering) and self._polling:
                self._stop.wait(WAIT_SECONDS)  # a failing drain is not retried in a tight loop

    def _drain(self, gathering: Gathering | None = None) -> bool:
        try:
            report = drain_all(gathering=gathering)
            self._rate.note(report.last_id)
            self._waited = report.waited
            return True
        except Exception:  # noqa: BLE001  (the entries stay in the journal; the next notice or beat drains them)
            logger.exception("journal drain failed")
            return False
        finally:
            close_old_connections()
