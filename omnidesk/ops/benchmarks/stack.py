"""The production shape on one machine, as real processes: gunicorn (webhooks, pages), uvicorn (websockets) and a
Celery worker, all on the benchmark's database and Redis. Used by the pipeline benchmark."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Shape:
    web_workers: int = 2  # gunicorn sync workers for webhooks and pages
    ws_workers: int = 1  # uvicorn processes for websockets
    worker_pool: str = "threads"  # Celery pool: delivery waits on the provider's HTTP, so threads, not processes
    worker_concurrency: int = 16
    # Celery workers side by side, as replicas of the worker service: one per core, so a busy account's delivery
    # (Python, one core per process) can use both.
    worker_processes: int = 2

    def describe(self) -> str:
        workers = f"{self.worker_processes} x " if self.worker_processes > 1 else ""
        return (f"gunicorn {self.web_workers} sync workers (HTTP), uvicorn {self.ws_workers} process(es) (websockets), "
                f"Celery {workers}{self.worker_pool} x{self.worker_concurrency}")


@dataclass
class Stack:
    shape: Shape
    env: dict[str, str]
    web_port: int = 0
    ws_port: int = 0
    services: tuple[str, ...] = ("web", "ws", "worker")
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: Path = Path("/tmp")

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    def start(self) -> Stack:
        self.web_port, self.ws_port = free_port(), free_port()
        self.env["OMNIDESK_PUBLIC_URL"] = self.web_url
        if "web" in self.services:
            self._spawn("web", [str(BIN / "gunicorn"), "omnidesk.wsgi:application", "--workers",
                                str(self.shape.web_workers), "--worker-class", "sync", "--bind",
                                f"127.0.0.1:{self.web_port}", "--backlog", "2048", "--log-level", "warning"],
                        OMNIDESK_DB_CONN_MAX_AGE="600")
        if "ws" in self.services:
            self._spawn("ws", [str(BIN / "uvicorn"), "omnidesk.asgi:application", "--host", "127.0.0.1", "--port",
                               str(self.ws_port), "--workers", str(self.shape.ws_workers), "--no-access-log",
                               "--lifespan", "off", "--log-level", "warning"], OMNIDESK_DB_POOL="1")
        for index in range(self.shape.worker_processes if "worker" in self.services else 0):
            name = "worker" if index == 0 else f"worker{index + 1}"
            self._spawn(name, [str(BIN / "celery"), "-A", "omnidesk", "worker", "--pool", self.shape.worker_pool,
                               "--concurrency", str(self.shape.worker_concurrency), "--without-heartbeat",
                               "--without-mingle", "--without-gossip", "--loglevel", "WARNING", "-n",
                               f"{name}@%h"], OMNIDESK_DB_CONN_MAX_AGE="600",
                        # One drain of a busy account per worker process (docs/deploy.md).
                        OMNIDESK_OUTBOUND_DRAINS_PER_ACCOUNT=str(self.shape.worker_processes))
        try:
            if "web" in self.services:
                self._wait_tcp(self.web_port)
            if "ws" in self.services:
                self._wait_tcp(self.ws_port)
        except RuntimeError:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str], **extra: str) -> None:
        log = (self.logs / f"omnidesk-bench-{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(argv, env={**self.env, **extra}, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"the {name} process exited ({process.returncode}); see "
                                   f"{self.logs / f'omnidesk-bench-{name}.log'}")

    def _wait_tcp(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"port {port} did not open within {timeout:.0f} s")

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each part: the stack's processes (with their children), PostgreSQL, Redis,
        and the benchmark itself (load generator, dashboards, provider peer)."""
        import psutil

        def used(processes: list[psutil.Process]) -> float:
            total = 0.0
            for process in processes:
                try:
                    times = process.cpu_times()
                    total += times.user + times.system
                except psutil.Error:  # exited meanwhile
                    pass
            return total

        def tree(pid: int) -> list[psutil.Process]:
            try:
                root = psutil.Process(pid)
                return [root, *root.children(recursive=True)]
            except psutil.Error:
                return []

        figures = {name: used(tree(process.pid)) for name, process in self.processes.items()}
        ours = {p.pid for process in self.processes.values() for p in tree(process.pid)}
        figures["bench"] = used([p for p in tree(os.getpid()) if p.pid not in ours])
        servers = list(psutil.process_iter(["name"]))
        figures["postgres"] = used([p for p in servers if (p.info["name"] or "").startswith("postgres")])
        figures["redis"] = used([p for p in servers if (p.info["name"] or "").startswith("redis-server")])
        return figures

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
