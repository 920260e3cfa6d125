"""Load for the pipeline benchmark: HTTP requests at a concurrency or a pace (aiohttp), and dashboards that follow
the realtime protocol over real websockets in a process of their own (so their timing is not skewed by the load)."""
from __future__ import annotations

import asyncio
import math
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import aiohttp
import msgspec


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: dict[str, str]
    marker: str  # what the dashboards will see of it ("" when nothing)


@dataclass
class LoadResult:
    sent_at: dict[str, float]  # marker -> monotonic time the POST started
    latencies_ms: list[float]  # POST to response
    failures: int
    started: float
    finished: float

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / max(1e-9, self.finished - self.started)


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def _run(base_url: str, requests_: Sequence[Request], concurrency: int, rate: float | None) -> LoadResult:
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[Request | None] = asyncio.Queue()
    for item in requests_:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    started = time.monotonic()

    async def worker(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal failures
        while True:
            item = queue.get_nowait() if not queue.empty() else None
            if item is None:
                return
            if rate:  # paced: request k starts at k / rate
                due = started + (len(requests_) - queue.qsize() - 1) / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            begin = time.monotonic()
            if item.marker:
                sent_at[item.marker] = begin
            try:
                async with session.post(base_url + item.path, data=item.body, headers=item.headers) as response:
                    await response.read()
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            if ok:
                latencies.append((time.monotonic() - begin) * 1000)
            else:
                failures += 1

    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(worker(session, i) for i in range(concurrency)))
    return LoadResult(sent_at=sent_at, latencies_ms=latencies, failures=failures, started=started,
                      finished=time.monotonic())


def post_all(base_url: str, requests_: Sequence[Request], *, concurrency: int, rate: float | None = None) -> LoadResult:
    """POST every request, `concurrency` at a time; with `rate`, start them at that many per second."""
    return asyncio.run(_run(base_url, requests_, concurrency, rate))


# --- dashboards -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DashboardSpec:
    url: str  # ws://…/ws/dashboard/<municipality id>/
    cookie: str
    origin: str
    clients: int
    prefix: str  # message texts that start with this are the benchmark's


# What the benchmark's dashboards read of a websocket message: the protocol's fields and each message's text. They
# receive and check every event like the dashboard does, but a browser parses its frames on the agent's computer,
# while these 50 parse theirs on the machine being measured: building every other field as Python objects was half
# their CPU. Fields not named here are skipped by the parser.
class _LeanMessage(TypedDict, total=False):
    text: str


class _LeanData(TypedDict, total=False):
    message: _LeanMessage


class _LeanFrame(TypedDict, total=False):
    id: int | None
    seq: int | None
    type: str
    data: _LeanData


class _LeanEnvelope(_LeanFrame, total=False):  # a frame on its own (protocol 1, signals, a watermark's seq), or:
    frames: list[_LeanFrame]  # a batch
    events: list[_LeanFrame]  # a catch-up
    more: bool
    head: int


_lean = msgspec.json.Decoder(_LeanEnvelope).decode
_full = msgspec.json.Decoder().decode


def lean_decode(raw: bytes | str) -> dict[str, Any]:
    """A websocket message with only what the benchmark reads; anything of another shape (a signal whose data has a
    `message` that is not a message) is parsed in full."""
    try:
        return _lean(raw)
    except msgspec.ValidationError:
        return _full(raw)


def _dashboard_main(spec: DashboardSpec, connection: Any) -> None:
    """Child process: connect the clients, report ready, record arrivals until told to stop, send them back."""
    from omnidesk.realtime.client import DashboardFollower

    async def main() -> None:
        arrivals: list[dict[str, float]] = [{} for _ in range(spec.clients)]

        def on_event(index: int, frame: dict[str, Any]) -> None:
            if frame.get("type") != "message.created":
                return
            text = (frame.get("data") or {}).get("message", {}).get("text", "")
            if text.startswith(spec.prefix) and text not in arrivals[index]:
                arrivals[index][text] = time.monotonic()

        followers = [DashboardFollower(spec.url, headers={"Cookie": spec.cookie, "Origin": spec.origin},
                                       on_event=lambda frame, i=i: on_event(i, frame), decode=lean_decode)
                     for i in range(spec.clients)]
        tasks = [asyncio.create_task(f.run()) for f in followers]
        await asyncio.gather(*(f.connected.wait() for f in followers))
        loop = asyncio.get_running_loop()
        connection.send("ready")
        while True:
            command = await loop.run_in_executor(None, connection.recv)
            if command == "stop":
                break
            if command == "reset":
                for arrival in arrivals:
                    arrival.clear()
                for follower in followers:
                    follower.stats.reset()
                connection.send("reset")
            if command == "collect":
                connection.send({"arrivals": arrivals, "recovered": sum(f.stats.recovered for f in followers),
                                 "catch_ups": sum(f.stats.catch_ups for f in followers)})
        for follower in followers:
            follower.stop()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


class Dashboards:
    """`clients` websocket dashboards in a child process."""

    def __init__(self, spec: DashboardSpec) -> None:
        self.spec = spec
        context = multiprocessing.get_context("spawn")
        self._here, there = context.Pipe()
        self._process = context.Process(target=_dashboard_main, args=(spec, there), daemon=True)

    def __enter__(self) -> Dashboards:
        self._process.start()
        if not self._here.poll(60) or self._here.recv() != "ready":
            raise RuntimeError("the dashboards did not connect within 60 s")
        return self

    def reset(self) -> None:
        self._here.send("reset")
        self._here.recv()

    def collect(self) -> dict[str, Any]:
        self._here.send("collect")
        return self._here.recv()

    def __exit__(self, *exc: object) -> None:
        try:
            self._here.send("stop")
        except (BrokenPipeError, OSError):
            pass
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
