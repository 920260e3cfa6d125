"""The README's run command works on a fresh data directory: `make run` on the embedded default.

No DATABASE_URL or REDIS_URL: SQLite, the in-memory channel layer and tasks run in-process. The command
migrates, seeds the demo municipality (printing its logins) and serves; /healthz must answer ok.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.stack

STARTUP_SECONDS = 120


def _embedded_env(data_dir: Path) -> dict[str, str]:
    """This process's environment without anything that selects the production shape or the test settings."""
    dropped_prefixes = ("OMNIDESK_", "DJANGO_", "CELERY_", "MAKE", "PYTEST_")
    dropped = {"DATABASE_URL", "REDIS_URL", "MFLAGS", "VENV", "HOST", "PORT"}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith(dropped_prefixes)}
    env["OMNIDESK_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


@pytest.mark.xdist_group("venv")  # `make run` checks the shared virtualenv that test_example_plugin installs into
def test_make_run_serves_the_demo_on_the_embedded_default(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "run", "HOST=127.0.0.1", f"PORT={port}"],
            cwd=ROOT, env=_embedded_env(data_dir), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            health = None
            deadline = time.monotonic() + STARTUP_SECONDS
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                try:
                    response = requests.get(f"{base_url}/healthz", timeout=2)
                except requests.RequestException:
                    time.sleep(0.5)
                    continue
                if response.status_code == 200:
                    health = response.json()
                    break
                time.sleep(0.5)
            output = log_path.read_text(errors="replace")
            assert health is not None, f"no healthy answer from `make run` within {STARTUP_SECONDS} s:\n{output[-4000:]}"
            assert health["status"] == "ok", health

            # The demo logins were printed, with passwords, and the resident page's address on this port.
            for username in ("anna", "bram", "sanne"):
                assert re.search(rf"^\s*Login \(\w+\s*\) {username} / \S{{8,}}$", output, re.M), output[-4000:]
            resident = re.search(rf"Play the resident:\s+({re.escape(base_url)}/channels/sandbox/\S+/)$", output, re.M)
            assert resident, output[-4000:]

            # It is the embedded default: its database is the SQLite file in the data directory.
            assert (data_dir / "omnidesk.sqlite3").is_file()
            # The printed addresses work: the resident page renders, the dashboard asks for a login.
            page = requests.get(resident.group(1), timeout=10)
            assert page.status_code == 200 and 'role="log"' in page.text
            login = requests.get(f"{base_url}/", timeout=10)
            assert login.status_code == 200 and "/login/" in login.url and 'name="password"' in login.text
        finally:
            _stop(process)
    assert process.poll() is not None
