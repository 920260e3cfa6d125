"""What a server or worker process does once it has loaded the project."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import stack_env


def _frozen_after(code: str) -> int:
    result = subprocess.run([sys.executable, "-c", code + "\nimport gc; print(gc.get_freeze_count())"],
                            env=stack_env(), capture_output=True, text=True, timeout=120, check=True)
    return int(result.stdout.strip().splitlines()[-1])


def test_the_wsgi_and_asgi_applications_hide_what_they_loaded_from_the_cyclic_collector() -> None:
    assert _frozen_after("import django") == 0
    assert _frozen_after("import omnidesk.wsgi") > 10_000, "settings, apps, URL patterns and models are frozen"
    assert _frozen_after("import omnidesk.asgi") > 10_000, "and the websocket server's too"


def test_a_celery_worker_freezes_what_it_loaded_when_it_is_ready() -> None:
    code = ("import django; django.setup()\nfrom celery.signals import worker_ready\nfrom omnidesk.celery import app\n"
            "worker_ready.send(sender=None)")
    assert _frozen_after(code) > 10_000
