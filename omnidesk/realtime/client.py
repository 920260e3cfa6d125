"""A Python dashboard client for protocol 2 (docs/realtime.md): what static/omnidesk/dashboard.js does, for the
delivery tests and the benchmark.

`StreamCursor` is the bookkeeping without I/O: it applies events strictly in `seq` order, once each, holds back what
arrives beyond a gap, and says when to ask for a catch-up. `DashboardFollower` runs it over a real websocket,
reconnecting with `since=<cursor>`.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

# A gap may only be two transactions' pushes crossing in flight; wait this long before asking for it.
GRACE_SECONDS = 0.15
CLOSE_UNAUTHORISED = 4403

Frame = dict[str, Any]
Decode = Callable[[bytes | str], Frame]
# Fifty followers in one process (the benchmark) spend most of their time parsing frames: msgspec's parser, not json's.
_decode: Decode = msgspec.json.Decoder().decode


class StreamCursor:
    """Applies a municipality's events in order: `cursor` is the number up to which everything was applied."""

    def __init__(self, cursor: int | None = None) -> None:
        self.cursor = cursor
        self.head = cursor or 0  # the highest number known to exist
        self.held: dict[int, Frame] = {}  # received beyond a gap, waiting for it to fill
        self.gone = 0  # numbers the server no longer has (pruned while this client was away)

    @property
    def behind(self) -> bool:
        return self.cursor is not None and self.cursor < self.head

    def receive(self, frames: list[Frame]) -> list[Frame]:
        """Take events (live or caught up); returns those that can now be applied, in order."""
        applied: list[Frame] = []
        for frame in frames:
            seq = frame.get("seq")
            if seq is None or (self.cursor is not None and seq <= self.cursor) or seq in self.held:
                continue  # not numbered yet, or a duplicate
            if self.cursor is not None and seq == self.cursor + 1 and not self.held:
                self.cursor = seq  # the usual case, the next number with nothing waiting: applied at once
                applied.append(frame)
            else:
                self.held[seq] = frame
            self.head = max(self.head, seq)
        return applied + self._drain() if self.held else applied

    def watermark(self, seq: int) -> None:
        self.head = max(self.head, seq)

    def caught_up(self, frame: Frame) -> list[Frame]:
        """A catch-up answer: its events, and every number up to what it settles that it lacks no longer exists."""
        if self.cursor is None:  # the first answer gives a client without a cursor its start
            self.cursor = frame["head"]
            self.held = {seq: held for seq, held in self.held.items() if seq > self.cursor}
        applied = self.receive(frame["events"])
        self.head = max(self.head, frame["head"])
        settled = frame["events"][-1]["seq"] if frame["more"] and frame["events"] else frame["head"]
        while self.cursor is not None and self.cursor < settled:
            self.gone += 1
            self.cursor += 1
            applied += self._drain()
        return applied

    def _drain(self) -> list[Frame]:
        applied = []
        while self.cursor is not None and self.cursor + 1 in self.held:
            self.cursor += 1
            applied.append(self.held.pop(self.cursor))
        return applied


@dataclass
class FollowerStats:
    live: int = 0  # events first received in a pushed batch
    recovered: int = 0  # events first received in a catch-up: their push was dropped (or still on its way)
    catch_ups: int = 0  # catch-up answers received, the one on connect included
    watermarks: int = 0
    batches: int = 0
    reconnects: int = 0

    def reset(self) -> None:
        for item in fields(self):
            setattr(self, item.name, 0)


class DashboardFollower:
    """Follows ws/dashboard/<municipality>/ with protocol 2 until `stop()`; calls `on_event(frame)` once per event,
    in order, and `on_signal(frame)` for ephemeral frames."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None, since: int | None = None,
                 on_event: Callable[[Frame], None] | None = None, on_signal: Callable[[Frame], None] | None = None,
                 grace: float = GRACE_SECONDS, decode: Decode | None = None) -> None:
        """`decode`: how a websocket message becomes a frame; a client that reads only part of each event can skip
        the rest (the benchmark's 50 dashboards, see ops/benchmarks/load.py)."""
        self.url = url
        self.decode = decode or _decode
        self.headers = dict(headers or {})
        self.stream = StreamCursor(since)
        self.on_event = on_event or (lambda frame: None)
        self.on_signal = on_signal or (lambda frame: None)
        self.grace = grace
        self.stats = FollowerStats()
        self.connected = asyncio.Event()  # set once the first catch-up answer arrived
        self._socket: Any = None
        self._fetching = False
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False
        self._pushed: set[int] = set()  # numbers that arrived in a push and are not applied yet

    def _address(self) -> str:
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("v", "since")] + [("v", "2")]
        if self.stream.cursor is not None:
            query.append(("since", str(self.stream.cursor)))
        return urlunsplit(parts._replace(query=urlencode(query)))

    async def run(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        delay = 0.2
        while not self._stopped:
            try:
                async with connect(self._address(), additional_headers=self.headers, proxy=None, compression=None,
                                   max_size=None, open_timeout=30) as socket:
                    self._socket, self._fetching, delay = socket, True, 0.2  # the server answers with a catch-up
                    async for raw in socket:
                        await self._handle(self.decode(raw))
            except InvalidStatus as refused:
                if refused.response.status_code == 403:  # not a member (or not logged in): retrying cannot help
                    raise PermissionError("refused: not a member of this municipality") from refused
            except ConnectionClosed as closed:
                if closed.rcvd is not None and closed.rcvd.code == CLOSE_UNAUTHORISED:
                    raise PermissionError("not a member of this municipality") from closed
            except (OSError, asyncio.TimeoutError):
                pass
            finally:
                self._socket, self._fetching = None, False
                self._cancel_timer()
            if not self._stopped:
                self.stats.reconnects += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def stop(self) -> None:
        self._stopped = True
        self._cancel_timer()
        if self._socket is not None:
            asyncio.ensure_future(self._socket.close())

    async def _handle(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "batch":
            self.stats.batches += 1
            events = [f for f in frame["frames"] if f.get("seq") is not None]
            if len(events) < len(frame["frames"]):
                for signal in (f for f in frame["frames"] if f.get("seq") is None):
                    self.on_signal(signal)
            if self.stream.held or self._pushed:
                self._pushed.update(f["seq"] for f in events if f["seq"] > (self.stream.cursor or 0))
                self._apply(self.stream.receive(events))
            else:  # the usual case: nothing waits, so whatever this batch lets apply came in it, live
                applied = self.stream.receive(events)
                self._pushed.update(seq for seq in self.stream.held)
                self.stats.live += len(applied)
                for event in applied:
                    self.on_event(event)
        elif kind == "catch_up":
            self.stats.catch_ups += 1
            self._fetching = False
            self._apply(self.stream.caught_up(frame))
            self._pushed = {seq for seq in self._pushed if seq > (self.stream.cursor or 0)}
            self.connected.set()
            if frame["more"]:
                await self._ask()
        elif kind == "watermark":
            self.stats.watermarks += 1
            self.stream.watermark(frame["seq"])
        elif frame.get("id") is None:
            self.on_signal(frame)
        if self.stream.behind:
            self._schedule()

    def _apply(self, frames: list[Frame]) -> None:
        for frame in frames:
            if frame["seq"] in self._pushed:
                self._pushed.discard(frame["seq"])
                self.stats.live += 1
            else:
                self.stats.recovered += 1
            self.on_event(frame)

    def _schedule(self) -> None:
        if self._fetching or self._timer is not None:
            return
        self._timer = asyncio.get_running_loop().call_later(self.grace, self._grace_over)

    def _grace_over(self) -> None:
        self._timer = None
        if self.stream.behind and not self._fetching:
            asyncio.ensure_future(self._ask())

    async def _ask(self) -> None:
        if self._socket is None or self.stream.cursor is None:
            return
        self._fetching = True
        try:
            await self._socket.send(json.dumps({"type": "catch_up", "since": self.stream.cursor}))
        except Exception:  # closed: the reconnect catches up
            self._fetching = False

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class FollowersInThread:
    """`count` followers on an event loop in a thread of their own, for synchronous code such as tests.

    `events[i]` lists what follower i applied, in order. Use as a context manager: entering waits until every
    follower had its first catch-up answer; leaving stops them.
    """

    def __init__(self, url: str, *, headers: dict[str, str] | None = None, count: int = 1,
                 since: int | None = None, timeout: float = 30) -> None:
        import threading

        self.events: list[list[Frame]] = [[] for _ in range(count)]
        self.signals: list[list[Frame]] = [[] for _ in range(count)]
        self.followers = [DashboardFollower(url, headers=headers, since=since, on_event=self.events[i].append,
                                            on_signal=self.signals[i].append) for i in range(count)]
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="dashboard-followers", daemon=True)
        self.error: BaseException | None = None

    def _main(self) -> None:
        async def main() -> None:
            tasks = [asyncio.ensure_future(follower.run()) for follower in self.followers]
            ready = asyncio.ensure_future(asyncio.gather(*(f.connected.wait() for f in self.followers)))
            await asyncio.wait([ready, *tasks], return_when=asyncio.FIRST_COMPLETED)
            self._ready.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            self.error = next((r for r in results if isinstance(r, BaseException)), None)

        try:
            self._loop.run_until_complete(main())
        finally:
            self._ready.set()
            self._loop.close()

    def __enter__(self) -> FollowersInThread:
        self._thread.start()
        if not self._ready.wait(self._timeout) or not all(f.connected.is_set() for f in self.followers):
            self.__exit__()
            raise RuntimeError(f"the dashboards did not connect: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        for follower in self.followers:
            try:
                self._loop.call_soon_threadsafe(follower.stop)
            except RuntimeError:  # the loop already ended
                break
        self._thread.join(timeout=15)
