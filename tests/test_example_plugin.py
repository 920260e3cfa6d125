"""The worked third-party example (examples/omnidesk-telegram), installed with pip, works end to end."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from omnidesk.tickets.models import Message
from tests.conftest import ROOT, stack_env, wait_until
from tests.factories import MembershipFactory, MunicipalityFactory

EXAMPLE = ROOT / "examples" / "omnidesk-telegram"
TOKEN = "987654:EXAMPLE-token"
SECRET = "example-webhook-secret-token"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]


@pytest.fixture(scope="module")
def telegram_installed() -> Iterator[None]:
    subprocess.run([*PIP, "install", "--no-deps", "--no-build-isolation", "-e", str(EXAMPLE)], check=True, timeout=300)
    try:
        yield
    finally:
        subprocess.run([*PIP, "uninstall", "-y", "omnidesk-telegram"], check=True, timeout=120)


def manage(*args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=stack_env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def login(base_url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base_url}/login/", timeout=10)
    response = session.post(
        f"{base_url}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=10,
    )
    assert response.ok and "/login/" not in response.url, "login failed"
    return session


# Installing into the shared virtualenv: kept on one xdist worker with the other tests that start the product.
@pytest.mark.xdist_group("venv")
@pytest.mark.stack
def test_pip_installed_plugin_receives_and_replies(telegram_installed, live_stack, httpserver):
    municipality = MunicipalityFactory(slug="tg-town")
    membership = MembershipFactory(municipality=municipality)

    listed = json.loads(manage("channels", "--json"))
    assert "telegram" in {p["key"] for p in listed["plugins"]}
    assert listed["refused"] == {}

    peer = httpserver.url_for("").rstrip("/")
    added = json.loads(manage("addchannel", "tg-town", "telegram", "--name", "Telegram",
                              "--config-json", json.dumps({"bot_token": TOKEN, "webhook_secret_token": SECRET,
                                                           "api_base_url": peer})))
    webhook = f"{live_stack}/webhooks/{added['public_id']}/"
    update = (EXAMPLE / "omnidesk_telegram" / "fixtures" / "message__text.json").read_bytes()

    refused = requests.post(webhook, data=update, headers={"Content-Type": "application/json",
                                                            "X-Telegram-Bot-Api-Secret-Token": "wrong"}, timeout=10)
    assert refused.status_code == 403
    accepted = requests.post(webhook, data=update, headers={"Content-Type": "application/json",
                                                             "X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=10)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["messages"] == 1

    agent = login(live_stack, membership.user.username, "correct-horse-battery")
    inbox = agent.get(f"{live_stack}/", timeout=10).text
    assert "Sanne de Wit" in inbox and "Telegram" in inbox

    httpserver.expect_request(f"/bot{TOKEN}/sendMessage", method="POST").respond_with_json(
        {"ok": True, "result": {"message_id": 99, "chat": {"id": 5550001}}}
    )
    answer = agent.post(f"{live_stack}/tickets/1/reply/", data={"text": "We sturen een monteur."},
                        headers={"X-CSRFToken": agent.cookies["csrftoken"], "Accept": "application/json"}, timeout=10)
    assert answer.status_code == 200, answer.text

    reply = Message.objects.get(text="We sturen een monteur.")
    wait_until(lambda: Message.objects.get(pk=reply.pk).delivery_status == "sent", timeout=30, message="reply sent")
    assert Message.objects.get(pk=reply.pk).provider_message_id == "5550001:99"
    sent = [json.loads(request.data) for request, _ in httpserver.log if request.path.endswith("/sendMessage")]
    assert len(sent) == 1
    assert sent[0]["chat_id"] == "5550001" and sent[0]["text"] == "We sturen een monteur."
    assert sent[0]["reply_parameters"]["message_id"] == 17


@pytest.mark.xdist_group("venv")
def test_example_plugin_passes_the_contract_kit(telegram_installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER",
                                                            "PYTEST_XDIST_TESTRUNUID", "DJANGO_SETTINGS_MODULE")}
    env["OMNIDESK_DATA_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE)],
                            cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "9 passed" in result.stdout
