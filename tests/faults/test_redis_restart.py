"""Redis restarted (and emptied) during inbound load: no webhook that got a 200 is lost, and replies queued while
the broker was away are still delivered, once each: the queued row in PostgreSQL is the outbox, and the sweep
(requeue_stalled, run by beat) enqueues again what the broker never got or lost. In worker mode a webhook's 200
means its events are in the journal (PostgreSQL); a drain the broker lost is made up by beat's drain.

The stack runs on a private redis-server; the shared one on 6379 is never touched.
"""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from werkzeug import Request, Response

from omnidesk.inbound.models import JournalEntry
from omnidesk.tickets.models import Message, Ticket
from tests.conftest import new_resident_id, sandbox_headers, wait_until
from tests.factories import sandbox_account
from tests.faults.conftest import DELIVERED, login, post_reply, wait_final

pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("faults")]


class Load:
    """Threads posting new resident messages to a webhook until stopped; remembers every answer."""

    def __init__(self, url: str, threads: int = 3) -> None:
        self.url = url
        self.answers: dict[tuple[str, str], int] = {}  # (resident, message id) -> last status (0: no answer)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def post(self, resident: str, message_id: str) -> int:
        try:
            status = requests.post(self.url, data=json.dumps({"id": message_id, "text": f"Vraag {message_id}"}),
                                   headers={"Content-Type": "application/json", **sandbox_headers(resident)},
                                   timeout=15).status_code
        except requests.RequestException:
            status = 0
        with self._lock:
            self.answers[(resident, message_id)] = status
        return status

    def _run(self, n: int) -> None:
        resident, count = new_resident_id(), 0
        while not self._stop.is_set():
            count += 1
            self.post(resident, f"t{n}-{count}")

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


@pytest.mark.parametrize("ingest", ["worker", "inline"])
def test_redis_restarted_under_inbound_load_loses_no_accepted_webhook_and_no_reply(stack, municipality, agent,
                                                                                    private_redis, httpserver, ingest):
    keys: list[str] = []

    def provider(request: Request) -> Response:
        keys.append(request.headers["Idempotency-Key"])
        return Response(json.dumps({"id": f"peer-{request.headers['Idempotency-Key']}"}), status=201,
                        content_type="application/json")

    httpserver.expect_request("/replies", method="POST").respond_with_handler(provider)
    account = sandbox_account(municipality, delivery_url=httpserver.url_for("/replies"))
    app = stack(REDIS_URL=private_redis.url, OMNIDESK_OUTBOUND_STALL_SECONDS="2", OMNIDESK_INGEST=ingest)
    app.start_server()
    worker = app.start_worker()
    url = f"{app.url}/webhooks/{account.public_id}/"
    resident = new_resident_id()
    assert requests.post(url, data=json.dumps({"id": "first", "text": "Hallo"}), timeout=15,
                         headers={"Content-Type": "application/json", **sandbox_headers(resident)}).status_code == 200
    ticket = wait_until(lambda: Ticket.objects.filter(identity__value=f"sandbox-{resident}").first(), timeout=30,
                        message="the first message stored")
    session = login(app.url, agent.username)

    with Load(url) as load:
        time.sleep(1.5)
        private_redis.stop()
        # The broker is away: the agent's replies are still accepted (they wait in the database)...
        answers = [post_reply(session, app.url, ticket, f"Antwoord {n}") for n in range(2)]
        time.sleep(0.5)
        private_redis.start()  # ...and Redis comes back empty: whatever it held is gone
        time.sleep(2)
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    replies = list(Message.objects.filter(ticket=ticket, direction="outbound").order_by("id"))
    assert len(replies) == 2

    # Worker mode: what the journal holds is stored by the next drain; beat's drain finds what a lost task left.
    app.send_task("omnidesk.inbound.tasks.drain_journal")
    wait_until(lambda: not JournalEntry.objects.exists(), timeout=60, message="the journal drained")
    accepted = [key for key, status in load.answers.items() if status == 200]
    refused = [key for key, status in load.answers.items() if status != 200]
    assert len(accepted) > 20, f"too little load to mean anything: {len(load.answers)} posts"
    for resident_id, message_id in accepted:
        assert Message.objects.filter(provider_message_id=f"{resident_id}:{message_id}").count() == 1, (
            f"{message_id} got a 200 but is not stored once")
    # What was refused during the outage, the provider sends again; each is then stored once.
    for resident_id, message_id in refused:
        wait_until(lambda: load.post(resident_id, message_id) == 200, timeout=30, interval=0.5,
                   message=f"{message_id} to be accepted on retry")
        wait_until(lambda: Message.objects.filter(provider_message_id=f"{resident_id}:{message_id}").exists(),
                   timeout=30, message=f"{message_id} stored")
        assert Message.objects.filter(provider_message_id=f"{resident_id}:{message_id}").count() == 1

    # Beat's sweep re-enqueues the replies the broker never got; the worker reconnected on its own.
    time.sleep(2)  # the sweep takes replies queued longer ago than OMNIDESK_OUTBOUND_STALL_SECONDS
    app.send_task("omnidesk.outbound.tasks.requeue_stalled")
    wait_final(replies, timeout=60, worker=worker, wanted=DELIVERED)
    assert sorted(keys) == sorted(str(r.pk) for r in replies), "each reply reached the provider exactly once"
