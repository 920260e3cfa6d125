"""Every answer of the webhook endpoint, and that nothing but a 200 stores anything; redelivery stores once."""
from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from omnidesk.contacts.models import Contact
from omnidesk.realtime.models import Event
from omnidesk.tickets.models import Message, Ticket
from tests.conftest import new_resident_id, post_sandbox, sandbox_headers


def stored() -> tuple[int, int, int, int]:
    return Contact.objects.count(), Ticket.objects.count(), Message.objects.count(), Event.objects.count()


@pytest.fixture
def nothing_stored(db):
    before = stored()
    yield
    assert stored() == before, "a refused request stored something"


def test_unknown_account_is_404(client, nothing_stored):
    response = client.post("/webhooks/no-such-account/", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_account"


@pytest.mark.parametrize("headers", [
    {},  # no token at all
    {"X-Sandbox-Resident": "a" * 32, "X-Sandbox-Token": "0" * 64},  # wrong token
    {"X-Sandbox-Resident": "not-a-resident", "X-Sandbox-Token": "0" * 64},  # malformed resident
])
def test_failed_verification_is_403(client, account, nothing_stored, headers):
    response = client.post(f"/webhooks/{account.public_id}/", data=json.dumps({"id": "1", "text": "Hoi"}),
                           content_type="application/json", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "verification_failed"


def test_a_token_for_another_account_is_403(client, account, municipality, nothing_stored):
    from tests.factories import sandbox_account

    other = sandbox_account(municipality, name="Andere sandbox", signing_secret="another-secret")
    resident = new_resident_id()
    response = client.post(f"/webhooks/{other.public_id}/", data=json.dumps({"id": "1", "text": "Hoi"}),
                           content_type="application/json", headers=sandbox_headers(resident))
    assert response.status_code == 403


@pytest.mark.parametrize("body, problem", [
    (b"this is not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({"text": "Hoi"}).encode(), "`id`"),
    (json.dumps({"id": "1"}).encode(), "`text`"),
    (json.dumps({"id": "1", "text": "   "}).encode(), "`text`"),
    (json.dumps({"id": 5, "text": "Hoi"}).encode(), "`id`"),
    (json.dumps({"id": "1", "text": "Hoi", "sent_at": "gisteren"}).encode(), "`sent_at`"),
    (json.dumps({"id": "1", "text": "x" * 5000}).encode(), "longer than"),
])
def test_malformed_body_is_400_naming_the_problem(client, account, nothing_stored, body, problem):
    response = post_sandbox(client, account, body)
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_payload"
    assert problem in response.json()["detail"]


def test_oversize_body_is_413_before_reading(client, account, settings, nothing_stored):
    settings.OMNIDESK = {**settings.OMNIDESK, "WEBHOOK_MAX_BYTES": 200}
    response = post_sandbox(client, account, {"id": "1", "text": "x" * 300})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_other_methods_are_405(client, account, nothing_stored):
    response = client.put(f"/webhooks/{account.public_id}/", data="{}", content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


def test_a_disabled_channel_is_acknowledged_and_stores_nothing(client, account, nothing_stored):
    account.enabled = False
    account.save()
    response = post_sandbox(client, account, {"id": "1", "text": "Hoi"})
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": "channel_disabled"}


def test_redelivery_stores_once(client, account):
    resident = new_resident_id()
    payload = {"id": "m-1", "text": "Mijn container is niet geleegd"}
    first = post_sandbox(client, account, payload, resident)
    second = post_sandbox(client, account, payload, resident)
    assert (first.json()["messages"], first.json()["duplicates"]) == (1, 0)
    assert (second.json()["messages"], second.json()["duplicates"]) == (0, 1)
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_concurrent_redelivery_stores_once(transactional_db, account):
    """A provider that delivers the same webhook five times at once still gets one message."""
    resident = new_resident_id()
    body = json.dumps({"id": "burst", "text": "Vijf keer tegelijk"})
    answers: list[int] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        client = Client()
        barrier.wait()
        answers.append(client.post(f"/webhooks/{account.public_id}/", data=body, content_type="application/json",
                                   headers=sandbox_headers(resident)).status_code)
        connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [200] * 5
    assert Message.objects.count() == 1
    assert Contact.objects.count() == 1 and Ticket.objects.count() == 1


def test_first_messages_of_a_new_resident_at_once_open_one_ticket(transactional_db, account):
    resident = new_resident_id()
    barrier = threading.Barrier(4)

    def deliver(n: int) -> None:
        client = Client()
        barrier.wait()
        client.post(f"/webhooks/{account.public_id}/", data=json.dumps({"id": f"m{n}", "text": f"Bericht {n}"}),
                    content_type="application/json", headers=sandbox_headers(resident))
        connection.close()

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert Message.objects.count() == 4
    assert Ticket.objects.count() == 1 and Contact.objects.count() == 1
