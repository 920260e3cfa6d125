"""Fault tests: real server and worker processes that a test kills, a private Redis it restarts, a TCP proxy it cuts.

The shared PostgreSQL and Redis on their usual ports are never stopped (other tests run beside these): a test that
takes Redis away gets a private `redis-server` for its stack, and one that takes PostgreSQL away puts a proxy
(tests/faults/proxy.py) between its server and the database.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Message, Ticket
from tests.conftest import VENV_BIN, WORKER_RETRY_ENV, Process, free_port, stack_env, wait_until
from tests.faults.proxy import TcpProxy

FINAL = ("sent", "delivered", "read", "failed")
DELIVERED = ("sent", "delivered", "read")


# --- processes ---------------------------------------------------------------------------------------------------
def kill_hard(process: Process) -> None:
    """SIGKILL the process and its children (a worker's pool): nothing gets to clean up, as in a crash."""
    os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait(timeout=10)


class Stack:
    """Daphne and Celery workers on one environment (database, Redis, settings); every process is stopped at the end."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = stack_env(OMNIDESK_PUBLIC_URL=self.url, **{**WORKER_RETRY_ENV, **env})
        self.processes: list[Process] = []

    def _log(self, name: str) -> Path:
        return self.tmp_path / f"{name}-{len(self.processes)}.log"

    def start_server(self, *, wsgi_workers: int = 0) -> str:
        """Daphne (ASGI, the default), or gunicorn with this many sync worker processes: daphne runs Django's sync
        views in one thread, so only several processes really handle webhooks at the same moment."""
        if wsgi_workers:
            args = [str(VENV_BIN / "gunicorn"), "omnidesk.wsgi:application", "-b", f"127.0.0.1:{self.port}",
                    "--workers", str(wsgi_workers)]
        else:
            args = [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "omnidesk.asgi:application"]
        server = Process(args, self.env, self._log("server"))
        self.processes.append(server)

        def answers() -> bool:
            if server.popen.poll() is not None:
                raise AssertionError(f"server exited:\n{server.output()[-3000:]}")
            try:
                return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, timeout=60, interval=0.2, message=f"the server at {self.url}")
        return self.url

    def start_worker(self, **extra_env: str) -> Process:
        """A worker with concurrency 2, started through tests/faults/worker.py (same as `celery worker`)."""
        worker = Process(
            [sys.executable, "-m", "tests.faults.worker", "-A", "omnidesk", "worker", "--loglevel", "INFO",
             "--concurrency", "2", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"fault-{uuid.uuid4().hex[:8]}@%h"],
            {**self.env, **extra_env}, self._log("worker"),
        )
        self.processes.append(worker)
        worker.wait_for_output("ready.", timeout=60)
        return worker

    def send_task(self, name: str, *args: Any) -> None:
        """Put a task on this stack's broker, as beat would (the test process's own broker may be another Redis)."""
        from omnidesk import celery_app

        with celery_app.connection_for_write(self.env["REDIS_URL"]) as conn:
            celery_app.send_task(name, args=args, connection=conn)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture
def stack(transactional_db, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """`stack(**env)` makes a Stack on this test's database; its processes are stopped at teardown."""
    made: list[Stack] = []

    def make(**env: str) -> Stack:
        made.append(Stack(tmp_path, **env))
        return made[-1]

    yield make
    for one in made:
        one.stop()


# --- a private Redis and a proxy to PostgreSQL ----------------------------------------------------------------------
class RedisServer:
    """A throwaway redis-server on a free port, without persistence: a restart loses everything, as a crash would."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tmp_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        with open(self._dir / "redis.log", "ab") as log:
            self._process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self._dir)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_until(lambda: _pings(client), timeout=15, interval=0.05, message=f"redis on {self.port}")
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def pg_proxy(transactional_db) -> Iterator[TcpProxy]:  # type: ignore[no-untyped-def]
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)).start()
    yield proxy
    proxy.stop()


def database_url_via(proxy: TcpProxy) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}"


# --- WhatsApp ------------------------------------------------------------------------------------------------------
def whatsapp_account(municipality: Municipality, peer: GraphPeer, name: str = "WhatsApp") -> ChannelAccount:
    return channel_account_create(municipality=municipality, plugin_key="whatsapp", name=name,
                                  config=peer.account_config())


def open_ticket(peer: GraphPeer, webhook_url: str, wa_id: str = "31612345678") -> Ticket:
    """A resident writes in (over the real server, or in-process for a path), so replies are inside the 24-hour window."""
    payload = peer.inbound(wa_id, text="Mijn container is niet geleegd.", name="Sanne")
    if webhook_url.startswith("/"):
        from django.test import Client

        body, headers = peer.signed(payload)
        response = Client().post(webhook_url, data=body, content_type="application/json",
                                 headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]})
        assert response.status_code == 200, response.content
    else:
        answer = peer.deliver(payload, webhook_url)
        assert answer.status_code == 200, answer.text
    return Ticket.objects.get(identity__value=f"+{wa_id}", channel_account__config__phone_number_id=peer.phone_number_id)


def open_tickets(peer: GraphPeer, webhook_url: str, count: int) -> list[Ticket]:
    """`count` residents write in: replies to them are separate conversations, which may go out side by side (one
    conversation's replies go one after the other)."""
    return [open_ticket(peer, webhook_url, wa_id=f"316100000{n:02d}") for n in range(count)]


def webhook_url(stack_url: str, account: ChannelAccount) -> str:
    return f"{stack_url}/webhooks/{account.public_id}/"


def fresh(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


def wait_final(messages: list[Message], timeout: float = 60, worker: Process | None = None,
               wanted: tuple[str, ...] = FINAL) -> list[Message]:
    """Wait until every message reached one of `wanted`; the worker's log is shown when it does not."""
    ids = [m.pk for m in messages]

    def done() -> bool:
        return Message.objects.filter(pk__in=ids, delivery_status__in=wanted).count() == len(ids)

    try:
        wait_until(done, timeout=timeout, interval=0.1, message=f"messages {ids} to reach {wanted}")
    except AssertionError:
        states = list(Message.objects.filter(pk__in=ids).values_list("pk", "delivery_status", "error_code", "attempts"))
        log = worker.output()[-4000:] if worker else ""
        raise AssertionError(f"not final: {states}\n{log}") from None
    return [fresh(m) for m in messages]


def login(base_url: str, username: str, password: str = "correct-horse-battery") -> requests.Session:
    session = requests.Session()
    session.get(f"{base_url}/login/", timeout=10)
    response = session.post(f"{base_url}/login/", timeout=10, data={
        "username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert response.ok and "/login/" not in response.url, "login failed"
    return session


def post_reply(session: requests.Session, base_url: str, ticket: Ticket, text: str) -> requests.Response:
    return session.post(f"{base_url}/tickets/{ticket.number}/reply/", data={"text": text}, timeout=15,
                        headers={"X-CSRFToken": session.cookies["csrftoken"], "Accept": "application/json"})
