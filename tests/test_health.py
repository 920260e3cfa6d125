"""/healthz: database, channel layer and broker, checked for real; 503 when one is unreachable."""
from __future__ import annotations

import pytest
from django.test import override_settings

from omnidesk import celery_app
from omnidesk.ops.health import run_checks
from tests.conftest import free_port

HEALTHY = {"status": "ok", "checks": {"database": "ok", "channel_layer": "ok", "broker": "ok"}}


@pytest.fixture
def closed_port() -> int:
    return free_port()  # bound and released: nothing listens there


def test_healthz_is_200_json_with_every_check_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == HEALTHY
    # Never cached by a proxy: a stale "ok" would hide an outage.
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthz_needs_no_login_and_uses_the_real_broker(client, db, settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    assert celery_app.conf.broker_url == settings.CELERY_BROKER_URL
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert client.get("/healthz").status_code == 200


def test_healthz_is_503_when_the_broker_is_unreachable_and_recovers(client, db, closed_port):
    unreachable = f"redis://:broker-password@127.0.0.1:{closed_port}/0"
    with override_settings(CELERY_BROKER_URL=unreachable):
        # Celery reads the Django setting lazily, so the health check really talks to the closed port.
        assert celery_app.conf.broker_url == unreachable
        response = client.get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "unavailable"
    assert data["checks"]["database"] == "ok" and data["checks"]["channel_layer"] == "ok"
    assert data["checks"]["broker"].startswith("error: ")
    # Only the kind of error is shown: no address, and never a credential.
    assert "broker-password" not in response.content.decode()
    assert str(closed_port) not in response.content.decode()
    # Restored: healthy again.
    assert celery_app.conf.broker_url != unreachable
    assert client.get("/healthz").json() == HEALTHY


def test_healthz_is_503_when_the_channel_layer_is_unreachable(client, db, closed_port, settings):
    layers = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{closed_port}/0", "socket_timeout": None}],
                   "prefix": "healthz-test"},
    }}
    with override_settings(CHANNEL_LAYERS=layers):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"].startswith("error: ")
    assert response.json()["checks"]["broker"] == "ok"
    assert client.get("/healthz").json() == HEALTHY


def test_eager_tasks_need_no_broker(client, db, settings, closed_port):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port}/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == "ok (in-process)"


def test_run_checks_reports_instead_of_raising(db, closed_port):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port}/0"):
        healthy, results = run_checks()
    assert healthy is False
    assert set(results) == {"database", "channel_layer", "broker"}
    assert results["broker"].startswith("error: ")
    assert run_checks() == (True, HEALTHY["checks"])
