"""Publishing dashboard events: stored in the transaction, numbered and pushed to the municipality's group on commit.

The database is the source of truth and the websocket only a notification: the channel layer drops messages when a
receiver's buffer is full, so every event gets `seq`, its number in the municipality's stream, and dashboards fetch
what they have not seen (docs/realtime.md).

Why numbers are given after the commit: ids from the global sequence are taken when the row is written, so a
municipality's ids have gaps (other municipalities' events) and commit out of order (event 11 may be visible before
event 10). `sequence` numbers the committed, unnumbered events of one municipality in a short transaction of its own,
under the stream row's lock: numbering is serial per municipality, but only for that moment, never for the length of
the transactions that wrote the events, so ingest is not serialised. A number is therefore visible only after every
lower number is, and the numbers have no gaps. With a channel layer in Redis the numbering and the push run in the
process's relay thread (relay.py), so a commit only queues the municipality's id.

A journal drain is the exception (`numbered_on_write`): drains already run one at a time, so they number their
events as they write them, under the same stream lock held until their commit, and hand the relay frames ready to
push. That saves writing every event row twice and reading it back, which is most of what numbering costs.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from omnidesk.realtime.models import Event, Stream
from omnidesk.realtime.relay import relay

logger = logging.getLogger(__name__)

# Events numbered (and pushed) per round, so a sweep of many never makes one huge message.
SEQUENCE_BATCH = 200
# An event still unnumbered this long after it was written lost its numbering (a crash right after the commit).
ORPHAN_AFTER = timedelta(seconds=2)

_numbering_on_write: ContextVar[bool] = ContextVar("realtime_numbering_on_write", default=False)


@contextmanager
def numbered_on_write() -> Iterator[None]:
    """Events published inside are numbered as they are written (PostgreSQL; see the module's docstring).

    Only for work that already runs one at a time and commits soon after it publishes (a journal drain): from its
    first event until its commit it holds the municipality's stream lock, which every other numbering waits for.
    """
    token = _numbering_on_write.set(True)
    try:
        yield
    finally:
        _numbering_on_write.reset(token)


def municipality_group(municipality_id: int) -> str:
    return f"municipality-{municipality_id}"


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    # Round-trip now, so unserialisable data fails in the service, not later in the layer.
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def event_frame(event: Event) -> dict[str, Any]:
    return {"id": event.id, "seq": event.seq, "type": event.type, "data": event.payload}


def _group_send(municipality_id: int, message: dict[str, Any]) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(municipality_group(municipality_id), message)
    except Exception:  # the events are stored; dashboards catch up from the database
        logger.exception("realtime push failed", extra={"municipality_id": municipality_id})


def _relayed() -> bool:
    # The in-memory layer (embedded default, one process) must be used from the server's own event loop, which
    # async_to_sync reaches from a request; a channel layer in Redis is served by the relay thread.
    return not isinstance(get_channel_layer(), InMemoryChannelLayer)


def _lock_stream(municipality_id: int) -> int:
    """Take the stream row's lock (SQLite: the write lock) and return its head."""
    # A no-op UPDATE locks on every database; select_for_update does nothing on SQLite.
    if not Stream.objects.filter(municipality_id=municipality_id).update(head=F("head")):
        Stream.objects.bulk_create([Stream(municipality_id=municipality_id)], ignore_conflicts=True)
        Stream.objects.filter(municipality_id=municipality_id).update(head=F("head"))
    return Stream.objects.values_list("head", flat=True).get(municipality_id=municipality_id)


def sequence(municipality_id: int, event_ids: Collection[int] | None = None) -> list[dict[str, Any]]:
    """Number committed, unnumbered events of the municipality in id order: those of `event_ids`, or (a sweep)
    the first SEQUENCE_BATCH of all. Returns their frames."""
    pending = Event.objects.filter(municipality_id=municipality_id, seq__isnull=True).order_by("id")
    # By primary key when the ids are known: a scan for unnumbered rows wades through the dead index entries that
    # numbering leaves behind until vacuum, so only the rare sweep scans.
    pending = pending.filter(pk__in=event_ids) if event_ids is not None else pending[:SEQUENCE_BATCH]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Numberings wait for each other for milliseconds. Giving up well before PostgreSQL's deadlock check
            # (1 s) makes this transaction, not the other one, the loser when something locks both tables in the
            # other order (a test's flush); what it leaves unnumbered the watermark's sweep numbers.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '250ms'")
            # Rows another numbering holds are skipped by a sweep and waited for otherwise; either way they are
            # numbered once (FOR UPDATE re-reads `seq` after the wait).
            events = list(pending.select_for_update(skip_locked=event_ids is None))
            if not events:
                return []
            head = _lock_stream(municipality_id)
        else:  # SQLite: the write lock first, or two numberings that read first could both fail to take it
            head = _lock_stream(municipality_id)
            events = list(pending)
            if not events:
                return []
        for number, event in enumerate(events, start=head + 1):
            event.seq = number
        _store_numbers(events)
        Stream.objects.filter(municipality_id=municipality_id).update(head=events[-1].seq)
    return [event_frame(event) for event in events]


def _store_numbers(events: list[Event]) -> None:
    if connection.vendor != "postgresql":
        Event.objects.bulk_update(events, ["seq"])
        return
    # One UPDATE from two arrays: bulk_update's CASE per row costs more than the numbering itself.
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{Event._meta.db_table}" AS e SET seq = n.seq FROM unnest(%s::bigint[], %s::bigint[]) AS n(id, seq) '
            "WHERE e.id = n.id",
            [[event.pk for event in events], [event.seq for event in events]],
        )


def sequence_and_push(municipality_id: int, event_ids: Collection[int] | None = None) -> int:
    """Number what waits (see `sequence`) and push it, one group message per round; how many were numbered."""
    numbered = 0
    while True:
        frames = sequence(municipality_id, event_ids)
        if frames:
            numbered += len(frames)
            _group_send(municipality_id, {"type": "dashboard.events", "frames": frames})
        if event_ids is not None or len(frames) < SEQUENCE_BATCH:
            return numbered


def _after_commit(municipality_id: int, event_ids: Collection[int] | None) -> None:
    if _relayed():
        relay.number(municipality_id, event_ids)
        return
    try:
        sequence_and_push(municipality_id, event_ids)
    except Exception:  # stored and committed: the dashboards' watermark sweeps it up (watermark below)
        logger.exception("realtime numbering failed", extra={"municipality_id": municipality_id})


def watermark(municipality_id: int) -> int:
    """The stream position that dashboards' watermarks announce; first numbers (and pushes) orphaned events."""
    if Event.objects.filter(municipality_id=municipality_id, seq__isnull=True,
                            created_at__lt=timezone.now() - ORPHAN_AFTER).exists():
        _after_commit(municipality_id, None)
    return Stream.objects.filter(municipality_id=municipality_id).values_list("head", flat=True).first() or 0


def publish(*, municipality_id: int, type: str, payload: dict[str, Any]) -> Event:
    return publish_many(municipality_id=municipality_id, events=[(type, payload)])[0]


def publish_many(*, municipality_id: int, events: list[tuple[str, dict[str, Any]]]) -> list[Event]:
    """Store the events (type, payload) in order, in one statement; numbered and pushed after the commit (or
    numbered now, inside `numbered_on_write`). The payloads are encoded here, so unserialisable data fails in the
    service, not later in the layer."""
    if not events:
        return []
    now = timezone.now()
    documents = [(type, json.dumps(payload, cls=DjangoJSONEncoder)) for type, payload in events]
    if connection.vendor == "postgresql":
        first = _take_numbers(municipality_id, len(documents)) if _numbering_on_write.get() else None
        ids = _insert_events(municipality_id, documents, now, first)
        rows = [Event(pk=pk, municipality_id=municipality_id, type=type, payload=payload, created_at=now,
                      seq=None if first is None else first + index)
                for index, (pk, (type, payload)) in enumerate(zip(ids, events))]
        if first is not None:
            # Frames as a catch-up would read them back: the payloads as JSON has them.
            frames = [{"id": row.pk, "seq": row.seq, "type": type, "data": json.loads(document)}
                      for row, (type, document) in zip(rows, documents)]
            transaction.on_commit(lambda: _push_after_commit(municipality_id, frames))
            return rows
    else:
        rows = Event.objects.bulk_create([Event(municipality_id=municipality_id, type=type, payload=json.loads(document))
                                          for type, document in documents])
        ids = [row.pk for row in rows]
    transaction.on_commit(lambda: _after_commit(municipality_id, ids))
    return rows


def _take_numbers(municipality_id: int, count: int) -> int:
    """Reserve the next `count` numbers of the stream (locking its row until the commit); the first of them."""
    stream = Stream._meta.db_table
    with connection.cursor() as cursor:
        for _attempt in range(2):
            cursor.execute(f'UPDATE "{stream}" SET head = head + %s WHERE municipality_id = %s RETURNING head',
                           [count, municipality_id])
            row = cursor.fetchone()
            if row is not None:
                return int(row[0]) - count + 1
            Stream.objects.bulk_create([Stream(municipality_id=municipality_id)], ignore_conflicts=True)
    raise RuntimeError(f"no event stream for municipality {municipality_id}")


def _insert_events(municipality_id: int, documents: list[tuple[str, str]], now: Any, first: int | None) -> list[int]:
    # One INSERT … VALUES with the JSON as text: bulk_create sends the payloads as a jsonb[] array, whose quoting
    # psycopg does in Python, character by character: four times the cost of the whole insert.
    rows = ", ".join(["(%s, %s, %s::jsonb, %s, %s)"] * len(documents))
    params: list[Any] = []
    for index, (type, document) in enumerate(documents):
        params += [municipality_id, type, document, now, None if first is None else first + index]
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{Event._meta.db_table}" (municipality_id, type, payload, created_at, seq) '
                       f"VALUES {rows} RETURNING id", params)
        return [row[0] for row in cursor.fetchall()]


def _push_after_commit(municipality_id: int, frames: list[dict[str, Any]]) -> None:
    if _relayed():
        relay.push(municipality_id, frames)
    else:
        _group_send(municipality_id, {"type": "dashboard.events", "frames": frames})


def signal(*, municipality_id: int, type: str, payload: dict[str, Any]) -> None:
    """An ephemeral notice (someone is typing): pushed now, never stored or replayed; frames have id None."""
    frame = {"id": None, "type": type, "data": _jsonable(payload)}
    if _relayed():
        relay.signal(municipality_id, frame)
    else:
        _group_send(municipality_id, {"type": "dashboard.events", "frames": [frame]})
