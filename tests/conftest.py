"""Shared fixtures: tenants, signed sandbox webhooks, real server and worker processes, the browser."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from channels_plugins.sandbox.signing import resident_token
from omnidesk.tenants.models import Role
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account

# Playwright's sync API keeps an event loop running in the main thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def municipality(db):  # type: ignore[no-untyped-def]
    return MunicipalityFactory()


@pytest.fixture
def agent(municipality):  # type: ignore[no-untyped-def]
    return MembershipFactory(municipality=municipality).user


@pytest.fixture
def agent_client(client, agent):  # type: ignore[no-untyped-def]
    client.force_login(agent)
    return client


@pytest.fixture
def supervisor(municipality):  # type: ignore[no-untyped-def]
    return MembershipFactory(municipality=municipality, role=Role.SUPERVISOR).user


@pytest.fixture
def municipal_admin(municipality):  # type: ignore[no-untyped-def]
    """A municipality admin (role ADMIN), not Django staff."""
    return MembershipFactory(municipality=municipality, role=Role.ADMIN).user


@pytest.fixture
def municipal_admin_client(client, municipal_admin):  # type: ignore[no-untyped-def]
    client.force_login(municipal_admin)
    return client


@pytest.fixture
def account(municipality):  # type: ignore[no-untyped-def]
    return sandbox_account(municipality)


def new_resident_id() -> str:
    return uuid.uuid4().hex


def sandbox_headers(resident_id: str, secret: str = "s3cret-signing") -> dict[str, str]:
    return {"X-Sandbox-Resident": resident_id, "X-Sandbox-Token": resident_token(secret, resident_id)}


def post_sandbox(client, account, payload: Any, resident_id: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    """POST to the account's webhook as the resident simulator does."""
    resident_id = resident_id or new_resident_id()
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    all_headers = {**sandbox_headers(resident_id), **headers}
    return client.post(
        f"/webhooks/{account.public_id}/",
        data=body,
        content_type="application/json",
        headers=all_headers,
    )


# --- real processes ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(**extra: str) -> dict[str, str]:
    """Environment for a server or worker process that shares this test's database and Redis."""
    db = connection.settings_dict
    env = {
        **os.environ,
        # The test settings: same as production but for the fast password hasher the test users are made with.
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "OMNIDESK_REDIS_PREFIX": settings.REDIS_PREFIX,
        "OMNIDESK_DATA_DIR": str(settings.DATA_DIR),
        "OMNIDESK_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "OMNIDESK_TASKS_EAGER": "false",
        "OMNIDESK_TEST_ENV_FINAL": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(extra)
    return env


class Process:
    """A child process with its output in a file, stopped (and its children) at teardown."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._file = log.open("wb")
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output():
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} not seen; output:\n{self.output()[-4000:]}")

    def stop(self) -> None:
        import signal

        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        self._file.close()


# Backoff of 0.2 s doubling to at most 1 s, three attempts: retries happen within a test's patience.
WORKER_RETRY_ENV = {"OMNIDESK_OUTBOUND_BACKOFF_BASE": "0.2", "OMNIDESK_OUTBOUND_BACKOFF_CAP": "1",
                    "OMNIDESK_OUTBOUND_MAX_ATTEMPTS": "3"}


@pytest.fixture
def celery_worker_factory(transactional_db, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Start real Celery workers with extra environment: `celery_worker_factory(OMNIDESK_OUTBOUND_MAX_ATTEMPTS="4")`.

    The worker is a separate process, so settings reach it only through its environment; WORKER_RETRY_ENV is the
    default, and keyword arguments override it. Every worker started is stopped at teardown.
    """
    workers: list[Process] = []

    def start(**extra_env: str) -> Process:
        worker = Process(
            [str(VENV_BIN / "celery"), "-A", "omnidesk", "worker", "--loglevel", "INFO", "--concurrency", "2",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{uuid.uuid4().hex[:8]}@%h"],
            stack_env(**{**WORKER_RETRY_ENV, **extra_env}),
            tmp_path / (f"worker-{len(workers)}.log" if workers else "worker.log"),
        )
        workers.append(worker)
        worker.wait_for_output("ready.")
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def celery_worker_process(celery_worker_factory) -> Process:  # type: ignore[no-untyped-def]
    """A real Celery worker on the test database and Redis broker, with retries short enough for a test."""
    return celery_worker_factory()


def wait_until(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


def _answers(url: str, server: Process) -> bool:
    import requests

    if server.popen.poll() is not None:
        raise AssertionError(f"server exited:\n{server.output()[-4000:]}")
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def live_stack(transactional_db, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Daphne (ASGI) plus a Celery worker, the production shape, on a free port; yields the base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = stack_env(OMNIDESK_PUBLIC_URL=base_url)
    worker = Process(
        [str(VENV_BIN / "celery"), "-A", "omnidesk", "worker", "--loglevel", "INFO", "--concurrency", "2",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"stack-{uuid.uuid4().hex[:8]}@%h"],
        env,
        tmp_path / "worker.log",
    )
    server = Process(
        [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "omnidesk.asgi:application"],
        env,
        tmp_path / "daphne.log",
    )
    try:
        worker.wait_for_output("ready.")
        wait_until(lambda: _answers(f"{base_url}/healthz", server), timeout=60, message=f"daphne at {base_url}")
        yield base_url
    finally:
        server.stop()
        worker.stop()


# --- browser -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):  # type: ignore[no-untyped-def]
    """Debian's Chromium, without its attempts to reach the internet."""
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium"),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture(scope="session", autouse=True)
def _test_database_left_alone(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Before the test database is dropped, wait for other sessions on it to end: a server or worker process a test
    stopped may still be closing its connection (DROP DATABASE then fails with "being accessed by other users").
    What is still there after a few seconds was left open by a thread and is ended, named on stderr so it can be
    found."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        others: list[tuple[Any, ...]] = []
        for _attempt in range(50):
            cursor.execute("SELECT pid, application_name, state, left(query, 200) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            others = cursor.fetchall()
            if not others:
                return
            time.sleep(0.1)
        for pid, application, state, query in others:
            sys.stderr.write(f"\nsession {pid} ({application or 'no name'}, {state}) still open on the test "
                             f"database; its last statement: {query}\n")
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    """The per-run data directory (media, secret key) made by tests/settings.py goes with the run."""
    if str(settings.DATA_DIR).startswith(tempfile.gettempdir()) and "omnidesk-test-" in str(settings.DATA_DIR):
        shutil.rmtree(settings.DATA_DIR, ignore_errors=True)


def run_async(coroutine_function, *args):  # type: ignore[no-untyped-def]
    """Run an async test scenario in a thread of its own: Playwright keeps an event loop in the main thread
    once a browser test has run in this process, and async_to_sync refuses to run beside it."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import async_to_sync
    from channels.layers import channel_layers

    # Each scenario runs on an event loop of its own; a channel layer left from an earlier scenario holds locks
    # bound to that loop. (A server process has one loop for its life, so this concerns tests only.)
    channel_layers.backends.clear()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(async_to_sync(coroutine_function), *args).result(timeout=60)


def run_at_once(function, argument_lists, timeout: float = 60):  # type: ignore[no-untyped-def]
    """Call `function(*arguments)` for every argument list at the same moment, each in a thread with its own
    database connection; returns the results in order and re-raises the first error in the calling thread."""
    import threading

    from django.db import connection

    results: list[object] = [None] * len(argument_lists)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(argument_lists))

    def call(index: int, arguments) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=10)
            results[index] = function(*arguments)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the calling thread)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(i, args)) for i, args in enumerate(argument_lists)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a concurrent call hung"
    if errors:
        raise errors[0]
    return results
