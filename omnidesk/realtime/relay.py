"""Per process, one thread numbers the events that transactions committed and pushes them to the dashboards.

A request's commit then costs one queue entry instead of a numbering transaction and a channel-layer round trip
(in a sync process async_to_sync would also start an event loop and a Redis connection per call). Under load one
round numbers and pushes the events of many commits at once: fewer, larger group messages, and fewer for the layer
to drop. Events are committed before they are queued, so a process that dies with work queued loses no event: the
dashboards' watermark numbers what it left behind within seconds (services.watermark).
"""
from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Collection
from typing import Any

from channels.layers import get_channel_layer
from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

# Frames per group message: a sweep of thousands becomes several messages, none huge.
FRAMES_PER_MESSAGE = 200


class Relay:
    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # the parent's thread does not come along into a child

    def _reset(self) -> None:
        self._cond = threading.Condition()
        # Municipalities with committed, unnumbered events: their ids, or None for a sweep of all.
        self._wanted: dict[int, set[int] | None] = {}
        # Committed events numbered by their writer (services.numbered_on_write), and signals: frames to push.
        self._ready: list[tuple[int, list[dict[str, Any]]]] = []
        self._signals: list[tuple[int, dict[str, Any]]] = []
        self._busy = False
        self._thread: threading.Thread | None = None

    def number(self, municipality_id: int, event_ids: Collection[int] | None) -> None:
        """Committed events to number and push (None: whatever of the municipality waits)."""
        with self._cond:
            known = self._wanted.get(municipality_id, set())
            self._wanted[municipality_id] = None if known is None or event_ids is None else known | set(event_ids)
            self._start()
            self._cond.notify()

    def push(self, municipality_id: int, frames: list[dict[str, Any]]) -> None:
        """Committed, numbered events to push as they are."""
        with self._cond:
            self._ready.append((municipality_id, frames))
            self._start()
            self._cond.notify()

    def signal(self, municipality_id: int, frame: dict[str, Any]) -> None:
        with self._cond:
            self._signals.append((municipality_id, frame))
            self._start()
            self._cond.notify()

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far was pushed (tests; process exit)."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._wanted or self._ready or self._signals or self._busy),
                                       timeout)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="omnidesk-realtime-relay", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._wanted or self._ready or self._signals)
                wanted, ready, signals = self._wanted, self._ready, self._signals
                self._wanted, self._ready, self._signals, self._busy = {}, [], [], True
            frames: dict[int, list[dict[str, Any]]] = {}
            for municipality_id, numbered in ready:
                frames.setdefault(municipality_id, []).extend(numbered)
            for municipality_id, frame in signals:
                frames.setdefault(municipality_id, []).append(frame)
            if wanted:
                # A round is this thread's "request": the connection follows CONN_MAX_AGE like a request's does.
                connection.close_if_unusable_or_obsolete()
                for municipality_id, event_ids in wanted.items():
                    frames.setdefault(municipality_id, []).extend(self._numbered(municipality_id, event_ids))
                connection.close_if_unusable_or_obsolete()
            for municipality_id, batch in frames.items():
                for start in range(0, len(batch), FRAMES_PER_MESSAGE):
                    self._push(loop, municipality_id, batch[start:start + FRAMES_PER_MESSAGE])

    def _numbered(self, municipality_id: int, event_ids: set[int] | None) -> list[dict[str, Any]]:
        from omnidesk.realtime.services import SEQUENCE_BATCH, sequence

        numbered: list[dict[str, Any]] = []
        try:
            if event_ids is not None:
                ordered = sorted(event_ids)
                for start in range(0, len(ordered), SEQUENCE_BATCH):
                    numbered += sequence(municipality_id, ordered[start:start + SEQUENCE_BATCH])
                return numbered
            while True:  # a sweep
                frames = sequence(municipality_id)
                numbered += frames
                if len(frames) < SEQUENCE_BATCH:
                    return numbered
        except OperationalError as error:  # a lock wait given up, the database away: the watermark's sweep numbers
            logger.warning("realtime numbering postponed: %s", error, extra={"municipality_id": municipality_id})
            return numbered
        except Exception:  # committed all the same: the dashboards' watermark sweeps them up (services.watermark)
            logger.exception("realtime numbering failed", extra={"municipality_id": municipality_id})
            return numbered

    def _push(self, loop: asyncio.AbstractEventLoop, municipality_id: int, frames: list[dict[str, Any]]) -> None:
        from omnidesk.realtime.services import municipality_group

        try:
            loop.run_until_complete(get_channel_layer().group_send(
                municipality_group(municipality_id), {"type": "dashboard.events", "frames": frames}))
        except Exception:  # stored; dashboards catch up from the database
            logger.exception("realtime push failed", extra={"municipality_id": municipality_id})


relay = Relay()
atexit.register(relay.drain, 2.0)
