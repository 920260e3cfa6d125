"""The pipeline against this machine's own ceilings, measured in one run (docs/performance.md).

Shape: webhooks and pages on gunicorn (WSGI), websockets on uvicorn (ASGI), a Celery worker; PostgreSQL and Redis;
a local WhatsApp Graph API peer. Ceilings first (a one-INSERT view on the same server, PostgreSQL insert
transactions, channel-layer group sends, Celery no-op tasks), then inbound at full speed and paced with dashboards
connected, then outbound, then the one-INSERT view once more: the pipeline is compared with the mean of the view's
two rates, which bracket it in time. On a shared, noisy machine only the ratios within one run are comparable.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction

from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.ops.benchmarks import ceiling
from omnidesk.ops.benchmarks.load import Dashboards, DashboardSpec, LoadResult, Request, percentile, post_all
from omnidesk.ops.benchmarks.stack import Shape, Stack

Out = Callable[[str], None]
PREFIX = "bench "


@dataclass(frozen=True)
class Plan:
    inbound: int = 20_000
    concurrency: int = 32
    residents: int = 5_000
    dashboards: int = 50
    paced_rate: float = 100.0
    paced_seconds: float = 30.0
    outbound: int = 5_000
    ceiling_requests: int = 5_000
    settle_seconds: float = 10.0


@dataclass
class Row:
    what: str
    figure: str
    detail: str = ""
    ratio: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, what: str, figure: str, detail: str = "", ratio: str = "") -> None:
        self.rows.append(Row(what, figure, detail, ratio))

    def print(self, out: Out) -> None:
        widths = [max(len(getattr(r, f)) for r in [Row("what", "figure", "detail", "ratio to ceiling"), *self.rows])
                  for f in ("what", "figure", "ratio", "detail")]
        header = Row("what", "figure", "detail", "ratio to ceiling")
        for row in [header, None, *self.rows]:
            if row is None:
                out("-" * (sum(widths) + 6))
                continue
            out(f"{row.what:<{widths[0]}}  {row.figure:>{widths[1]}}  {row.ratio:>{widths[2]}}  {row.detail}")


class TimedPeer(GraphPeer):
    """The Graph API peer, noting when each of our messages arrived."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrived: dict[str, float] = {}

    def _on_messages(self, request: Any, version: str, number_id: str) -> Any:
        arrived = time.monotonic()
        response = super()._on_messages(request, version, number_id)
        body = request.get_json(silent=True) or {}
        text = (body.get("text") or {}).get("body", "")
        if text.startswith(PREFIX):
            self.arrived.setdefault(text, arrived)
        return response


# --- ceilings -----------------------------------------------------------------------------------
def insert_view_ceiling(env: dict[str, str], shape: Shape, plan: Plan) -> tuple[LoadResult, dict[str, float]]:
    """The view's rate, and the CPU seconds each part used meanwhile."""
    ceiling.create_table()
    with Stack(shape=shape, env={**env, "DJANGO_SETTINGS_MODULE": "omnidesk.ops.benchmarks.ceiling"},
               services=("web",)) as stack:
        body = json.dumps({"object": "whatsapp_business_account", "text": "x" * 300}).encode()
        requests_ = [Request("/insert", body, {"Content-Type": "application/json"}, "")] * plan.ceiling_requests
        post_all(stack.web_url, requests_[:200], concurrency=plan.concurrency)  # warm-up
        before = stack.cpu_seconds()
        load = post_all(stack.web_url, requests_, concurrency=plan.concurrency)
        after = stack.cpu_seconds()
        return load, _cpu_delta(before, after)


def postgres_ceiling(seconds: float = 3.0, clients: int = 4) -> float:
    """Single-row INSERT transactions per second with `clients` connections (synchronous commit, as configured)."""
    params = connection.get_connection_params()
    dsn = {k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port") and v}
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        with psycopg.connect(**dsn, autocommit=True) as conn:
            while time.monotonic() < stop:
                conn.execute(f"INSERT INTO {ceiling.TABLE} (body) VALUES ('x')")
                counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def group_send_ceiling(sends: int = 5_000) -> float:
    """channels-redis group_send per second from one sender to a group with one member that keeps reading."""
    from channels.layers import get_channel_layer

    async def run() -> float:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("bench-ceiling", channel)
        received = 0

        async def drain() -> None:
            nonlocal received
            while received < sends:
                await layer.receive(channel)
                received += 1

        reader = asyncio.create_task(drain())
        started = time.monotonic()
        for i in range(sends):
            await layer.group_send("bench-ceiling", {"type": "bench", "i": i})
        elapsed = time.monotonic() - started
        try:
            await asyncio.wait_for(reader, timeout=5)
        except asyncio.TimeoutError:
            reader.cancel()
        await layer.group_discard("bench-ceiling", channel)
        return sends / elapsed

    return asyncio.run(run())


def celery_ceiling(tasks: int = 3_000, timeout: float = 120) -> float:
    """No-op tasks completed per second by the running worker (each counts itself in Redis)."""
    from django.core.cache import cache

    from omnidesk.ops.tasks import bench_tick

    key = f"bench-tick-{os.getpid()}-{time.monotonic_ns()}"
    cache.set(key, 0, timeout=600)
    started = time.monotonic()
    for _ in range(tasks):
        bench_tick.delay(key)
    deadline = started + timeout
    while (cache.get(key) or 0) < tasks and time.monotonic() < deadline:
        time.sleep(0.02)
    return (cache.get(key) or 0) / (time.monotonic() - started)


# --- the pipeline -------------------------------------------------------------------------------
def _setup(peer: TimedPeer) -> tuple[Any, Any, Any]:
    from omnidesk.channel_accounts.services import channel_account_create
    from omnidesk.ops.benchmarks.inbox import reset
    from omnidesk.tenants.models import Role
    from omnidesk.tenants.services import agent_create, municipality_create

    reset()
    municipality = municipality_create(slug="bench", name="Gemeente Bench")
    account = channel_account_create(municipality=municipality, plugin_key="whatsapp", name="WhatsApp",
                                     config=peer.account_config())
    agent, _password = agent_create(municipality=municipality, username="bench-agent", role=Role.AGENT)
    return municipality, account, agent


def _session_cookie(user: Any) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _webhooks(peer: GraphPeer, account: Any, plan: Plan, count: int, tag: str) -> list[Request]:
    requests_ = []
    for i in range(count):
        resident = f"3161{(i % plan.residents):07d}"
        text = f"{PREFIX}{tag}-{i}"
        body = json.dumps(peer.inbound(resident, text=text, name=f"Inwoner {i % plan.residents}")).encode()
        digest = hmac.new(peer.app_secret.encode(), body, hashlib.sha256).hexdigest()
        requests_.append(Request(f"/webhooks/{account.public_id}/", body,
                                 {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}, text))
    return requests_


@dataclass
class Delivery:
    latencies_ms: list[float]
    expected: int
    received: int
    recovered: int
    catch_ups: int

    @property
    def lost(self) -> int:
        return self.expected - self.received


def _delivery(load: LoadResult, collected: dict[str, Any], clients: int) -> Delivery:
    latencies = []
    received = 0
    for arrivals in collected["arrivals"]:
        for marker, at in arrivals.items():
            sent = load.sent_at.get(marker)
            if sent is not None:
                latencies.append((at - sent) * 1000)
                received += 1
    return Delivery(latencies, expected=len(load.latencies_ms) * clients, received=received,
                    recovered=collected["recovered"], catch_ups=collected["catch_ups"])


def _wait_settled(dashboards: Dashboards, load: LoadResult, clients: int, settle: float) -> dict[str, Any]:
    deadline = time.monotonic() + settle
    while True:
        collected = dashboards.collect()
        if _delivery(load, collected, clients).lost <= 0 or time.monotonic() > deadline:
            return collected
        time.sleep(0.5)


def _count_messages(municipality: Any) -> int:
    from omnidesk.tickets.models import Direction, Message

    return Message.objects.filter(municipality=municipality, direction=Direction.INBOUND).count()


def _stored_per_second(municipality: Any, before: int, load: LoadResult, timeout: float = 300) -> tuple[int, float]:
    """Messages stored (not only accepted) per second, from the first POST to the moment the last one is stored."""
    wanted = len(load.latencies_ms)
    deadline = time.monotonic() + timeout
    stored = _count_messages(municipality) - before
    while stored < wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        stored = _count_messages(municipality) - before
    return stored, stored / max(1e-9, time.monotonic() - load.started)


def _outbound(municipality: Any, agent: Any, peer: TimedPeer, count: int, on_queued: Callable[[], None],
              timeout: float = 300) -> tuple[float, list[float], int]:
    """Queue `count` replies in one transaction and wait for the peer to have them; `on_queued` runs at the commit.
    Returns deliveries per second from the commit, queue-to-provider latencies (ms) and how many never arrived."""
    from omnidesk.tickets.models import Ticket
    from omnidesk.tickets.services import reply_create

    tickets = list(Ticket.objects.filter(municipality=municipality).select_related(
        "channel_account", "municipality", "identity")[:count])
    if not tickets:
        raise RuntimeError("no tickets to reply to: the inbound phase stored nothing")
    queued_at: dict[str, float] = {}
    with transaction.atomic():
        # The replies are handed to the broker when this commits; the clock starts there, before the first hand-over.
        transaction.on_commit(lambda: (queued_at.setdefault("t", time.monotonic()), on_queued()))
        for i in range(count):
            text = f"{PREFIX}out-{i}"
            reply_create(ticket=tickets[i % len(tickets)], author=agent, text=text)
    started = queued_at["t"]
    deadline = started + timeout
    while len(peer.arrived) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    arrivals = sorted(peer.arrived.values())
    finished = arrivals[-1] if arrivals else time.monotonic()
    latencies = [(at - started) * 1000 for at in arrivals]
    return len(arrivals) / max(1e-9, finished - started), latencies, count - len(arrivals)


def _cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds each part used between two readings of Stack.cpu_seconds."""
    return {name: after[name] - before.get(name, 0.0) for name in after}


def _cpu_used(before: dict[str, float], after: dict[str, float], seconds: float) -> tuple[str, str]:
    """("N% of all cores", "part share …"): where the machine's time went while it ran."""
    used = _cpu_delta(before, after)
    capacity = seconds * (os.cpu_count() or 1)
    parts = ", ".join(f"{name} {value / capacity:.0%}" for name, value in
                      sorted(used.items(), key=lambda item: -item[1]))
    return f"{sum(used.values()) / capacity:.0%}", f"of {os.cpu_count()} cores for {seconds:.1f} s: {parts}"


def _cpu_each(used: dict[str, float], count: int, unit: str) -> tuple[str, str]:
    """("N ms", "part ms …"): CPU time per request or message, all parts together and each, to compare across runs
    and with the ceiling (a busier machine lowers rates more than it changes these)."""
    count = max(count, 1)
    parts = ", ".join(f"{name} {value * 1000 / count:.2f}" for name, value in
                      sorted(used.items(), key=lambda item: -item[1]) if value * 1000 / count >= 0.005)
    return f"{sum(used.values()) * 1000 / count:.2f} ms", f"per {unit}: {parts}"


def _ms(values: list[float]) -> str:
    return (f"p50 {percentile(values, .5):.0f} / p95 {percentile(values, .95):.0f} / p99 {percentile(values, .99):.0f}"
            f" / max {max(values):.0f} ms") if values else "no samples"


def run(*, plan: Plan, shape: Shape, out: Out) -> Report:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the peer's access log, one line per send
    report = Report()
    env = {**os.environ, "OMNIDESK_TASKS_EAGER": "0", "OMNIDESK_LOG_LEVEL": "WARNING", "OMNIDESK_DEBUG": "0",
           "OMNIDESK_INGEST": "worker"}
    env["DJANGO_SETTINGS_MODULE"] = "omnidesk.settings"

    out(f"Shape: {shape.describe()}; {os.cpu_count()} CPUs")
    out("Ceiling: one-INSERT view …")
    view_first, view_first_cpu = insert_view_ceiling(env, shape, plan)
    out("Ceiling: PostgreSQL inserts, channel layer …")
    pg = postgres_ceiling()
    layer = group_send_ceiling()
    report.add("ceiling: PostgreSQL 1-row tx", f"{pg:,.0f}/s", "4 clients, synchronous commit")
    report.add("ceiling: group_send", f"{layer:,.0f}/s", "one sender, one member")

    with TimedPeer(keep_alive=True) as peer:
        municipality, account, agent = _setup(peer)
        with Stack(shape=shape, env=env) as stack:
            out("Ceiling: Celery no-op tasks …")
            tasks = celery_ceiling()
            report.add("ceiling: Celery no-op tasks", f"{tasks:,.0f}/s", f"{shape.worker_pool} x{shape.worker_concurrency}")
            spec = DashboardSpec(url=f"{stack.ws_url}/ws/dashboard/{municipality.pk}/", cookie=_session_cookie(agent),
                                 origin=stack.web_url, clients=plan.dashboards, prefix=PREFIX)
            with Dashboards(spec) as dashboards:
                out(f"Inbound: {plan.inbound:,} webhooks at {plan.concurrency} concurrent, "
                    f"{plan.dashboards} dashboards …")
                before = _count_messages(municipality)
                cpu_before = stack.cpu_seconds()
                load = post_all(stack.web_url, _webhooks(peer, account, plan, plan.inbound, "burst"),
                                concurrency=plan.concurrency)
                stored, stored_rate = _stored_per_second(municipality, before, load)
                cpu_after = stack.cpu_seconds()
                burst_cpu = _cpu_used(cpu_before, cpu_after, time.monotonic() - load.started)
                burst_each = _cpu_each(_cpu_delta(cpu_before, cpu_after), stored, "message")
                delivery = _delivery(load, _wait_settled(dashboards, load, plan.dashboards, plan.settle_seconds),
                                     plan.dashboards)
                report.add("inbound, full speed", f"{stored_rate:,.0f}/s",
                           f"stored; {stored:,} of {plan.inbound:,} ({load.failures} failed); accepted "
                           f"{load.per_second:,.0f}/s, POST {_ms(load.latencies_ms)}")
                inbound_row = report.rows[-1]  # its ratio once the view was measured again
                report.add("  to dashboards", f"{delivery.received:,}",
                           f"of {delivery.expected:,}; lost {delivery.lost}; {_ms(delivery.latencies_ms)}; "
                           f"{delivery.catch_ups} catch-ups recovered {delivery.recovered}")
                report.add("  CPU during the burst", burst_cpu[0], burst_cpu[1])
                report.add("  CPU", *burst_each)

                dashboards.reset()
                paced_count = int(plan.paced_rate * plan.paced_seconds)
                out(f"Inbound paced: {plan.paced_rate:.0f}/s for {plan.paced_seconds:.0f} s …")
                before = _count_messages(municipality)
                paced = post_all(stack.web_url, _webhooks(peer, account, plan, paced_count, "paced"),
                                 concurrency=plan.concurrency, rate=plan.paced_rate)
                paced_stored, paced_rate = _stored_per_second(municipality, before, paced)
                paced_delivery = _delivery(paced, _wait_settled(dashboards, paced, plan.dashboards, plan.settle_seconds),
                                           plan.dashboards)
                deliveries_per_second = plan.paced_rate * plan.dashboards
                report.add(f"inbound paced {plan.paced_rate:.0f}/s", f"{paced_rate:,.0f}/s",
                           f"stored; {paced_stored:,} of {paced_count:,}; POST {_ms(paced.latencies_ms)}")
                report.add("  to dashboards", f"{paced_delivery.received:,}",
                           f"of {paced_delivery.expected:,}; lost {paced_delivery.lost}; "
                           f"{_ms(paced_delivery.latencies_ms)}",
                           f"{deliveries_per_second / layer:.0%} of group_send")

            out(f"Outbound: {plan.outbound:,} replies …")
            # CPU from the commit on: queueing the replies (the agents' side, in the web process in real life) is the
            # benchmark's own work here and comes before.
            at_commit: dict[str, Any] = {}

            def queued() -> None:
                at_commit.update(cpu=stack.cpu_seconds(), started=time.monotonic())

            rate, latencies, missing = _outbound(municipality, agent, peer, plan.outbound, on_queued=queued)
            cpu_before, started, cpu_after = at_commit["cpu"], at_commit["started"], stack.cpu_seconds()
            outbound_cpu = _cpu_used(cpu_before, cpu_after, time.monotonic() - started)
            outbound_each = _cpu_each(_cpu_delta(cpu_before, cpu_after), plan.outbound - missing, "reply")
            report.add("outbound", f"{rate:,.0f}/s",
                       f"{plan.outbound - missing:,} of {plan.outbound:,} delivered; queue-to-provider {_ms(latencies)}",
                       f"{rate / tasks:.0%} of Celery")
            report.add("  CPU during delivery", outbound_cpu[0], outbound_cpu[1])
            report.add("  CPU", *outbound_each)
    # The machine's speed drifts over minutes on a shared host: the view is measured before and after the pipeline,
    # and the pipeline compared with the mean of the two.
    out("Ceiling: one-INSERT view again …")
    view_last, view_last_cpu = insert_view_ceiling(env, shape, plan)
    view_rate = (view_first.per_second + view_last.per_second) / 2
    inbound_row.ratio = f"{stored_rate / view_rate:.0%} of view"
    requests_ = len(view_first.latencies_ms) + len(view_last.latencies_ms)
    view_cpu = {name: view_first_cpu.get(name, 0.0) + view_last_cpu.get(name, 0.0)
                for name in {*view_first_cpu, *view_last_cpu}}
    report.rows[:0] = [
        Row("ceiling: one-INSERT view", f"{view_rate:,.0f}/s",
            f"mean of {view_first.per_second:,.0f}/s before the pipeline and {view_last.per_second:,.0f}/s after; "
            f"{len(view_first.latencies_ms):,} requests at {plan.concurrency} concurrent each; "
            f"{_ms(view_first.latencies_ms + view_last.latencies_ms)}"),
        Row("  CPU", *_cpu_each(view_cpu, requests_, "request")),
    ]
    out("")
    report.print(out)
    out("")
    out(f"Targets: inbound >= 50% of the view ceiling; paced p99 to dashboards < 100 ms with 0 lost; "
        f"outbound >= 500/s. Medians of POST latency: {statistics.median(load.latencies_ms):.0f} ms burst.")
    return report
