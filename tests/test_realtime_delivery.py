"""Realtime delivery never drops silently (issue #10): every dashboard ends with every event, once, in order.

A real daphne process serves the dashboards; they follow protocol 2 with omnidesk.realtime.client (what
dashboard.js does). Pushes are lost for real: in the flood by the Redis channel layer's capacity, elsewhere by taking
the server's members out of the municipality's group for one push (as a full buffer would).
"""
from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client

from omnidesk.ops.benchmarks.load import lean_decode
from omnidesk.realtime.client import FollowersInThread, StreamCursor
from omnidesk.realtime.consumers import HEAD_TTL_SECONDS, WATERMARK_SECONDS
from omnidesk.realtime.models import Event, Stream
from omnidesk.realtime.relay import relay
from omnidesk.realtime.selectors import events_since, stream_head
from omnidesk.realtime.services import municipality_group, numbered_on_write, publish, publish_many
from omnidesk.realtime.viewers import start_viewing, stop_viewing, viewers_of
from omnidesk.tickets.models import Ticket
from tests.conftest import VENV_BIN, Process, free_port, post_sandbox, run_at_once, stack_env, wait_until
from tests.factories import MembershipFactory, MunicipalityFactory

pytestmark = pytest.mark.usefixtures("transactional_db")

# How long a dashboard may take to notice a dropped last push: two watermark checks (the first reads the position,
# the next announces it), a shared position up to HEAD_TTL_SECONDS old, the client's grace and a round trip.
NOTICE_WITHIN = 2 * WATERMARK_SECONDS + HEAD_TTL_SECONDS + 1.0


def asgi_server(log: Path, **env: str) -> tuple[Process, str]:
    """A daphne process on a free port with the test's database and Redis, started and answering."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = Process([str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "omnidesk.asgi:application"],
                      stack_env(OMNIDESK_PUBLIC_URL=base_url, **env), log)

    def answers() -> bool:
        assert process.popen.poll() is None, process.output()[-4000:]
        try:
            return requests.get(f"{base_url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(answers, timeout=60, message=f"daphne at {base_url}")
    except BaseException:
        process.stop()
        raise
    return process, base_url


@pytest.fixture(scope="module")
def daphne(django_db_setup, tmp_path_factory) -> Iterator[tuple[Process, str]]:  # type: ignore[no-untyped-def]
    """One daphne for the module; its consumers' buffers hold only 10 messages."""
    process, base_url = asgi_server(tmp_path_factory.mktemp("daphne") / "daphne.log", OMNIDESK_CHANNEL_CAPACITY="10")
    try:
        yield process, base_url
    finally:
        process.stop()


@pytest.fixture
def server(daphne) -> str:  # type: ignore[no-untyped-def]
    return daphne[1]


def dashboards(server: str, municipality: Any, user: Any, count: int = 1, cookie: str = "") -> FollowersInThread:
    """`count` dashboards of the municipality on `server`, logged in as `user` (or with the session `cookie`)."""
    if not cookie:
        client = Client()
        client.force_login(user)
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    url = server.replace("http://", "ws://") + f"/ws/dashboard/{municipality.pk}/"
    return FollowersInThread(url, headers={"Cookie": cookie, "Origin": server}, count=count)


def in_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call in a thread of its own with its own database connection: once a browser test ran, the main thread
    holds Playwright's event loop, and async_to_sync (the channel layer's sync side) refuses to run beside it."""
    def call() -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=60)


class OpenTransaction:
    """A transaction in a thread of its own that publishes (`write`, its result kept as `result`), then stays open
    until `commit()`: an earlier id that commits late, or a drain holding its numbers."""

    def __init__(self, write: Callable[[], Any], *, numbering_on_write: bool = False) -> None:
        self.result: Any = None
        self._written, self._release = threading.Event(), threading.Event()
        self._write, self._numbering_on_write = write, numbering_on_write
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        assert self._written.wait(10), "the transaction did not write in time"

    def _run(self) -> None:
        try:
            with transaction.atomic(), numbered_on_write() if self._numbering_on_write else nullcontext():
                self.result = self._write()
                self._written.set()
                assert self._release.wait(30)
        finally:
            connection.close()

    def commit(self) -> None:
        self._release.set()
        self._thread.join(10)


def seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [frame["seq"] for frame in frames]


class MissedPush:
    """Takes every member out of the municipality's group and puts them back: what this process pushes meanwhile
    (its relay thread included) reaches no one."""

    def __init__(self, municipality_id: int) -> None:
        layer = get_channel_layer()
        self.group = municipality_group(municipality_id)
        key = f"{layer.prefix}:group:{self.group}"  # channels_redis's group key
        self.members = [name.decode() for name in redis.Redis.from_url(django_settings.REDIS_URL).zrange(key, 0, -1)]
        assert self.members, "the dashboards joined the group"

    async def _discard(self) -> None:
        for member in self.members:
            await get_channel_layer().group_discard(self.group, member)

    async def _add(self) -> None:
        for member in self.members:
            await get_channel_layer().group_add(self.group, member)

    def __enter__(self) -> None:
        in_thread(async_to_sync(self._discard))

    def __exit__(self, *exc: object) -> None:
        assert relay.drain()
        in_thread(async_to_sync(self._add))


# --- the bookkeeping, without I/O ----------------------------------------------------------------------------
def frame(seq: int) -> dict[str, Any]:
    return {"id": 1000 + seq, "seq": seq, "type": "ticket.updated", "data": {}}


def test_the_cursor_applies_in_order_once_and_waits_at_a_gap() -> None:
    stream = StreamCursor(cursor=4)
    assert seqs(stream.receive([frame(5), frame(7)])) == [5]
    assert stream.behind and 7 in stream.held, "7 waits for 6"
    assert seqs(stream.receive([frame(7), frame(5), frame(4)])) == [], "duplicates and old numbers are ignored"
    assert seqs(stream.receive([frame(6)])) == [6, 7]
    stream.watermark(9)
    assert stream.behind, "a watermark beyond the cursor: the last pushes were missed"
    caught = stream.caught_up({"events": [frame(8), frame(9)], "more": False, "head": 9})
    assert seqs(caught) == [8, 9] and not stream.behind and stream.gone == 0


def test_numbers_a_catch_up_settles_but_lacks_were_pruned() -> None:
    stream = StreamCursor(cursor=2)
    caught = stream.caught_up({"events": [frame(6), frame(7)], "more": False, "head": 7})
    assert seqs(caught) == [6, 7] and stream.cursor == 7 and stream.gone == 3
    fresh = StreamCursor()  # no cursor yet: the connect answer gives the start
    assert seqs(fresh.receive([frame(3)])) == []
    assert fresh.caught_up({"events": [], "more": False, "head": 3}) == [] and fresh.cursor == 3
    assert seqs(fresh.receive([frame(3), frame(4)])) == [4]


def test_the_benchmark_dashboards_read_the_protocol_and_the_text_and_skip_the_rest() -> None:
    message = {"id": 7, "text": "bench burst-1", "html": "", "attachments": [], "metadata": {"x": [1, 2]}}
    batch = json.dumps({"type": "batch", "frames": [
        {"id": 11, "seq": 5, "type": "message.created", "data": {"message": message, "ticket": {"id": 3}}},
        {"id": None, "type": "agent.typing", "data": {"ticket_id": 3, "on": True}}]})
    assert lean_decode(batch) == {"type": "batch", "frames": [
        {"id": 11, "seq": 5, "type": "message.created", "data": {"message": {"text": "bench burst-1"}}},
        {"id": None, "type": "agent.typing", "data": {}}]}
    caught = lean_decode(json.dumps({"type": "catch_up", "events": [frame(6)], "more": False, "head": 6}))
    assert seqs(StreamCursor(cursor=5).caught_up(caught)) == [6]
    assert lean_decode(b'{"type": "watermark", "seq": 9}') == {"type": "watermark", "seq": 9}
    odd = {"id": None, "type": "notification", "data": {"message": "Nieuw ticket"}}
    assert lean_decode(json.dumps(odd)) == odd, "another shape is read in full"


# --- numbering -----------------------------------------------------------------------------------------------
def test_numbers_are_per_municipality_without_gaps_in_commit_order(municipality) -> None:  # type: ignore[no-untyped-def]
    other = MunicipalityFactory()
    early_id = OpenTransaction(lambda: publish(municipality_id=municipality.pk, type="ticket.updated",
                                               payload={"n": "early"}))
    in_thread(publish, municipality_id=other.pk, type="ticket.updated", payload={})  # another municipality between
    later = in_thread(publish, municipality_id=municipality.pk, type="ticket.updated", payload={"n": "late"})
    assert relay.drain()  # numbered (by this process's relay thread) while the earlier id is still uncommitted
    early_id.commit()
    assert relay.drain()

    early, late = (Event.objects.get(pk=event.pk) for event in (early_id.result, later))
    assert early.pk < late.pk, "ids are taken in the order the rows were written"
    assert (late.seq, early.seq) == (1, 2), "numbers are given after commits, per municipality, without gaps"
    assert stream_head(municipality_id=municipality.pk) == 2 and Stream.objects.get(municipality=other).head == 1


class GroupMember:
    """A member of the municipality's group in this process: what the relay pushes, in the order it arrives."""

    def __init__(self, municipality_id: int) -> None:
        self.group = municipality_group(municipality_id)
        self.channel = in_thread(async_to_sync(get_channel_layer().new_channel))
        in_thread(async_to_sync(get_channel_layer().group_add), self.group, self.channel)

    def frames(self, count: int) -> list[dict[str, Any]]:
        async def receive() -> list[dict[str, Any]]:
            received: list[dict[str, Any]] = []
            while len(received) < count:
                received += (await get_channel_layer().receive(self.channel))["frames"]
            return received

        return in_thread(async_to_sync(receive))


def _drain_like(municipality_id: int, texts: list[str], rolled_back: list[str]) -> list[int | None]:
    """A transaction that numbers as it writes, as a journal drain does, with a savepoint that fails midway; the
    numbers its events had when written."""
    def written(batch: list[str]) -> list[Event]:
        return publish_many(municipality_id=municipality_id, events=[("message.created", {"t": t}) for t in batch])

    with transaction.atomic(), numbered_on_write():
        events = written(texts[:2])
        try:
            with transaction.atomic():
                written(rolled_back)
                raise RuntimeError("this part is rolled back")
        except RuntimeError:
            pass
        events += written(texts[2:])
    return [event.seq for event in events]


def test_events_numbered_as_written_take_no_number_when_rolled_back_and_are_pushed_as_stored(
        municipality) -> None:  # type: ignore[no-untyped-def]
    member = GroupMember(municipality.pk)
    in_thread(publish, municipality_id=municipality.pk, type="ticket.updated", payload={"t": "before"})
    assert relay.drain()
    assert in_thread(_drain_like, municipality.pk, ["a", "b", "c"], rolled_back=["lost", "lost too"]) == [2, 3, 4]
    in_thread(publish, municipality_id=municipality.pk, type="ticket.updated", payload={"t": "after"})
    assert relay.drain()

    stored = events_since(municipality_id=municipality.pk, since=0).events
    assert [(e["seq"], e["data"]["t"]) for e in stored] == [(1, "before"), (2, "a"), (3, "b"), (4, "c"), (5, "after")]
    assert stream_head(municipality_id=municipality.pk) == 5, "the rolled-back events took no numbers"
    pushed = sorted(member.frames(5), key=lambda f: f["seq"])
    assert pushed == stored, "what the dashboards are pushed is what a catch-up reads back"


def test_a_numbering_waits_for_a_transaction_that_numbers_as_it_writes(municipality) -> None:  # type: ignore[no-untyped-def]
    drain = OpenTransaction(lambda: publish(municipality_id=municipality.pk, type="message.created",
                                            payload={"t": "drain"}), numbering_on_write=True)
    # Committed while the drain still holds its number: the relay's numbering waits for the drain's commit.
    in_thread(publish, municipality_id=municipality.pk, type="ticket.updated", payload={"t": "agent"})
    time.sleep(0.1)
    drain.commit()
    assert relay.drain()
    stored = events_since(municipality_id=municipality.pk, since=0).events
    assert [(e["seq"], e["data"]["t"]) for e in stored] == [(1, "drain"), (2, "agent")]


def test_http_catch_up_by_number(municipality, agent) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        in_thread(publish, municipality_id=municipality.pk, type="ticket.updated", payload={"n": n})
    assert relay.drain()
    member = Client()
    member.force_login(agent)
    answer = member.get("/events/?since=2").json()
    assert seqs(answer["events"]) == [3, 4, 5] and answer["head"] == 5 and answer["more"] is False
    assert [e["data"]["n"] for e in answer["events"]] == [2, 3, 4]
    assert member.get("/events/?since=x").status_code == 400


# --- over a real server --------------------------------------------------------------------------------------
PUBLISHER = """
import threading
from django.db import connection, transaction
from omnidesk.realtime.relay import relay
from omnidesk.realtime.services import publish

def run(thread):
    try:
        n = 0
        for size in {sizes}:  # transactions of one event and big ones: the relay pushes bursts
            with transaction.atomic():
                for _ in range(size):
                    publish(municipality_id={municipality_id}, type="ticket.updated",
                            payload={{"p": "{name}", "t": thread, "n": n}})
                    n += 1
    finally:
        connection.close()

threads = [threading.Thread(target=run, args=(i,)) for i in range({threads})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert relay.drain(60)
print("published")
"""


def test_a_flood_loses_pushes_and_every_dashboard_still_ends_with_every_event(
        daphne, municipality, agent, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server, url = daphne
    processes, threads, sizes, clients = 4, 2, [1] * 50 + [200, 150], 5
    total = processes * threads * sum(sizes)
    # Several processes (each with its own relay, as web and worker processes have) push at once, and only one
    # message may wait per receiving process. The server stalls (SIGSTOP, as under a CPU or GC pause) for the first
    # half, so the layer drops for certain; the second half is pushed while it runs.
    env = stack_env(OMNIDESK_CHANNEL_CAPACITY="1", OMNIDESK_LOG_LEVEL="INFO")
    publishers: list[Process] = []
    with dashboards(url, municipality, agent, count=clients) as followers:
        server.popen.send_signal(signal.SIGSTOP)
        try:
            publishers = [Process([str(VENV_BIN / "python"), "manage.py", "shell", "-c", PUBLISHER.format(
                sizes=sizes, municipality_id=municipality.pk, name=f"p{i}", threads=threads)], env,
                tmp_path / f"publisher-{i}.log") for i in range(processes)]
            wait_until(lambda: stream_head(municipality_id=municipality.pk) >= total // 2, timeout=60,
                       message="half the flood while the server stalls")
        finally:
            server.popen.send_signal(signal.SIGCONT)
        try:
            for publisher in publishers:
                assert publisher.popen.wait(120) == 0, publisher.output()[-3000:]
        finally:
            for publisher in publishers:
                publisher.stop()
        assert stream_head(municipality_id=municipality.pk) == total
        wait_until(lambda: all(len(events) >= total for events in followers.events), timeout=60,
                   message="every dashboard to have every event")
        time.sleep(0.5)  # anything applied twice would show up now

    output = "".join(publisher.output() for publisher in publishers)
    assert output.count("published") == processes
    assert "over capacity" in output, "the layer dropped pushes in the flood (otherwise this proves nothing)"
    expected = dict(Event.objects.filter(municipality=municipality).values_list("seq", "id"))
    assert sorted(expected) == list(range(1, total + 1))
    for events, follower in zip(followers.events, followers.followers):
        assert seqs(events) == list(range(1, total + 1)), "every event exactly once, in order"
        assert {e["seq"]: e["id"] for e in events} == expected
        assert follower.stats.recovered > 0, "this dashboard missed pushes and caught up"
        assert follower.stats.batches < follower.stats.live, "pushes were coalesced into fewer frames"


def test_a_commit_after_a_later_id_with_its_push_lost_still_arrives(server, municipality, agent) -> None:  # type: ignore[no-untyped-def]
    with dashboards(server, municipality, agent) as followers:
        early = OpenTransaction(lambda: publish(municipality_id=municipality.pk, type="ticket.updated",
                                                payload={"n": "A"}))
        late = in_thread(publish, municipality_id=municipality.pk, type="ticket.updated", payload={"n": "B"})
        wait_until(lambda: len(followers.events[0]) == 1, timeout=10, message="the later id, live")
        missed = MissedPush(municipality.pk)
        with missed:  # the earlier id commits now, and its push reaches no one
            early.commit()
        started = time.monotonic()
        wait_until(lambda: len(followers.events[0]) == 2, timeout=NOTICE_WITHIN + 5, message="the earlier id")
        noticed_after = time.monotonic() - started

    events = followers.events[0]
    assert early.result.pk < late.pk
    assert [(e["id"], e["seq"]) for e in events] == [(late.pk, 1), (early.result.pk, 2)]
    assert followers.followers[0].stats.recovered == 1, "the earlier id came by catch-up: its push was lost"
    assert noticed_after < NOTICE_WITHIN


def test_a_lost_last_push_is_noticed_within_the_watermark_interval(server, municipality, agent) -> None:  # type: ignore[no-untyped-def]
    with dashboards(server, municipality, agent, count=2) as followers:
        for n in range(3):
            in_thread(publish, municipality_id=municipality.pk, type="ticket.updated", payload={"n": n})
        wait_until(lambda: all(len(events) == 3 for events in followers.events), timeout=10, message="live events")
        with MissedPush(municipality.pk):
            last = in_thread(publish, municipality_id=municipality.pk, type="ticket.updated", payload={"n": "last"})
        started = time.monotonic()
        wait_until(lambda: all(len(events) == 4 for events in followers.events), timeout=NOTICE_WITHIN + 5,
                   message="the last event")
        noticed_after = time.monotonic() - started

    assert noticed_after < NOTICE_WITHIN
    for events, follower in zip(followers.events, followers.followers):
        assert [e["id"] for e in events][-1] == last.pk and seqs(events) == [1, 2, 3, 4]
        assert follower.stats.watermarks >= 1 and follower.stats.recovered == 1


def test_an_event_whose_numbering_was_lost_is_numbered_and_delivered(server, municipality, agent) -> None:  # type: ignore[no-untyped-def]
    """A process that died between the commit and the numbering leaves an unnumbered event; the dashboards'
    watermark sweeps it up."""
    with dashboards(server, municipality, agent) as followers:
        orphan = Event.objects.create(municipality=municipality, type="ticket.updated", payload={"n": "orphan"})
        wait_until(lambda: followers.events[0], timeout=NOTICE_WITHIN + 5, message="the orphan")
    assert [(e["id"], e["seq"]) for e in followers.events[0]] == [(orphan.pk, 1)]


def test_dashboards_opening_a_ticket_at_once_all_count_as_viewers(municipality, account) -> None:  # type: ignore[no-untyped-def]
    """Read-modify-write of the viewers entry is serialised: none of eight simultaneous openers is forgotten (a
    forgotten one would leave the others seeing a colleague who has long gone)."""
    assert post_sandbox(Client(), account, {"id": "v-1", "text": "Wie kijkt er mee?"}).status_code == 200
    ticket = Ticket.objects.get(channel_account=account)
    users = [MembershipFactory(municipality=municipality).user for _ in range(8)]
    run_at_once(lambda user: start_viewing(municipality_id=municipality.pk, ticket_id=ticket.pk, user_id=user.pk,
                                           name=user.username), [(user,) for user in users])
    assert sorted(viewer["id"] for viewer in viewers_of(ticket.pk)) == sorted(user.pk for user in users)
    run_at_once(lambda user: stop_viewing(municipality_id=municipality.pk, ticket_id=ticket.pk, user_id=user.pk),
                [(user,) for user in users[:4]])
    assert sorted(viewer["id"] for viewer in viewers_of(ticket.pk)) == sorted(user.pk for user in users[4:])


# --- coalescing ----------------------------------------------------------------------------------------------
def test_batches_go_out_every_short_tick_at_ordinary_rates_and_less_often_in_a_burst() -> None:
    from omnidesk.realtime.consumers import BUSY_TICK_SECONDS, TICK_SECONDS, Pace

    def ticks(pace: Pace, start: float, seconds: float, every: float, frames: int) -> list[float]:
        """Batches of `frames` every `every` seconds for `seconds`: the tick after each."""
        return [pace.after_batch(frames, start + n * every) for n in range(1, int(seconds / every) + 1)]

    pace = Pace(0.0)
    assert pace.after_batch(1, 10.0) == TICK_SECONDS, "a lone event after a quiet spell"
    # 100 events a second, as drains commit them: 7 at a time every 70 ms (7 in the last short tick "looks" like 280/s).
    assert set(ticks(pace, 10.0, 2.0, 0.07, 7)) == {TICK_SECONDS}
    burst = ticks(pace, 12.0, 2.0, 0.025, 10)  # 400 a second
    assert burst[0] == TICK_SECONDS and burst[-1] == BUSY_TICK_SECONDS, "a burst is noticed within the rate window"
    assert set(ticks(pace, 14.0, 0.6, 0.1, 30)) == {BUSY_TICK_SECONDS}, "the burst goes on"
    calm = ticks(pace, 14.6, 2.0, 0.1, 5)  # 50 a second
    assert calm[-1] == TICK_SECONDS, "it is over: back to the short tick"