"""PostgreSQL unavailable: webhooks answer 503 with Retry-After so the provider retries, nothing is half-written,
/healthz says so, and the server recovers by itself; the retried webhooks are then stored once. A webhook whose
events reached the journal before the cut got its 200: a drain stores it once the database is back.

The server reaches the database through a TCP proxy (tests/faults/proxy.py) that the test cuts and restores: the
shared PostgreSQL keeps running for everyone else.
"""
from __future__ import annotations

import json
import threading

import pytest
import requests

from omnidesk.contacts.models import ContactIdentity
from omnidesk.inbound.journal import drain_all
from omnidesk.tickets.models import Message, Ticket
from tests.conftest import new_resident_id, sandbox_headers, wait_until
from tests.factories import sandbox_account
from tests.faults.conftest import database_url_via

pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("faults")]


def _post(url: str, resident: str, message_id: str) -> requests.Response:
    return requests.post(url, data=json.dumps({"id": message_id, "text": f"Bericht {message_id}"}), timeout=30,
                         headers={"Content-Type": "application/json", **sandbox_headers(resident)})


def _stored(resident: str) -> dict[str, int]:
    """Everything ingest writes for a resident's first message, counted."""
    return {
        "identities": ContactIdentity.objects.filter(value=f"sandbox-{resident}").count(),
        "tickets": Ticket.objects.filter(identity__value=f"sandbox-{resident}").count(),
        "messages": Message.objects.filter(provider_message_id__startswith=f"{resident}:").count(),
    }


NOTHING = {"identities": 0, "tickets": 0, "messages": 0}
ONCE = {"identities": 1, "tickets": 1, "messages": 1}


def test_webhooks_answer_503_while_the_database_is_away_and_are_stored_once_when_retried(stack, municipality, pg_proxy):
    account = sandbox_account(municipality)
    app = stack(DATABASE_URL=database_url_via(pg_proxy))
    app.start_server()
    url = f"{app.url}/webhooks/{account.public_id}/"
    residents = [new_resident_id() for _ in range(4)]
    assert _post(url, residents[0], "m0").status_code == 200

    # The database goes away in the middle of an ingest: contact and ticket are written, the message is not yet.
    pg_proxy.hold_when(b'INSERT INTO "tickets_message"')
    answers: list[requests.Response] = []
    caught = threading.Thread(target=lambda: answers.append(_post(url, residents[1], "m1")))
    caught.start()
    assert pg_proxy.held.wait(timeout=30), "the ingest never reached the message insert"
    pg_proxy.cut()
    pg_proxy.release()
    caught.join(timeout=30)
    # While it is away, every webhook is refused in a way the provider retries.
    answers += [_post(url, resident, f"m{n}") for n, resident in enumerate(residents[2:], start=2)]
    caught_answer, *refused = answers
    # Caught after its events were journaled: accepted (durable), only storing them waits for the database.
    assert caught_answer.status_code == 200 and caught_answer.json() == {"status": "accepted"}, caught_answer.text
    for answer in refused:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "unavailable"
        assert int(answer.headers["Retry-After"]) > 0
    for resident in residents[1:]:
        assert _stored(resident) == NOTHING, "nothing half-written"
    health = requests.get(f"{app.url}/healthz", timeout=10)
    assert health.status_code == 503
    assert health.json()["checks"]["database"].startswith("error: ")
    assert str(pg_proxy.port) not in health.text, "the kind of error only, never an address"

    # Back: the same server process answers again without a restart, and the provider's retries are stored once.
    pg_proxy.restore()
    wait_until(lambda: requests.get(f"{app.url}/healthz", timeout=10).status_code == 200, timeout=30,
               message="/healthz to recover")
    assert drain_all().stored.messages == 1, "beat's drain stores the accepted webhook"
    for n, resident in enumerate(residents):
        retried = _post(url, resident, f"m{n}")
        assert retried.status_code == 200, retried.text
        assert retried.json()["messages"] + retried.json()["duplicates"] == 1
    for resident in residents:
        assert _stored(resident) == ONCE
    assert pg_proxy.connections > 3, "the server really went through the proxy"
