"""Scale beyond one machine (issue #10), on this one: two ASGI server processes and a Celery worker share only
PostgreSQL and Redis, with no sticky sessions; what one process ingests reaches dashboards on the other.

See docs/realtime.md ("Several processes and machines") for the production shape this stands for.
"""
from __future__ import annotations

import json
from typing import Any

import requests
from django.conf import settings as django_settings

from omnidesk.realtime.models import Event
from omnidesk.tickets.models import Message, Ticket
from tests.conftest import new_resident_id, sandbox_headers, wait_until
from tests.test_realtime_delivery import asgi_server, dashboards, seqs


def _log_in(login_page: str, login_at: str, user: Any) -> requests.Session:
    """The login form from one process, submitted to the other: sessions and CSRF live in the shared database."""
    session = requests.Session()
    assert session.get(f"{login_page}/login/", timeout=10).status_code == 200
    response = session.post(f"{login_at}/login/", timeout=10, allow_redirects=False,
                            data={"username": user.username, "password": "correct-horse-battery"},
                            headers={"X-CSRFToken": session.cookies["csrftoken"]})
    assert response.status_code == 302, response.text[:500]
    return session


def _of_type(events: list[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == type]


def test_a_webhook_on_one_process_and_a_reply_via_the_other_reach_dashboards_on_both(
        transactional_db, tmp_path, municipality, agent, account, celery_worker_process) -> None:  # type: ignore[no-untyped-def]
    process_a, server_a = asgi_server(tmp_path / "a.log")
    process_b, server_b = asgi_server(tmp_path / "b.log")
    try:
        browser = _log_in(server_a, server_b, agent)
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={browser.cookies[django_settings.SESSION_COOKIE_NAME]}"
        with dashboards(server_a, municipality, agent, cookie=cookie) as on_a, \
                dashboards(server_b, municipality, agent, cookie=cookie) as on_b:
            # A resident writes in; the provider's webhook lands on process A.
            response = requests.post(f"{server_a}/webhooks/{account.public_id}/", timeout=10,
                                     data=json.dumps({"id": "mp-1", "text": "Mijn container is niet geleegd."}),
                                     headers={"Content-Type": "application/json", **sandbox_headers(new_resident_id())})
            assert response.status_code == 200, response.text
            wait_until(lambda: _of_type(on_b.events[0], "message.created"), timeout=15,
                       message="the webhook's message on the dashboard connected to process B")

            # The agent answers through process B; a worker process delivers and reports the new status.
            ticket = Ticket.objects.get(channel_account=account)
            answer = browser.post(f"{server_b}/tickets/{ticket.number}/reply/", timeout=10,
                                  data={"text": "We komen morgen langs."},
                                  headers={"X-CSRFToken": browser.cookies["csrftoken"], "Accept": "application/json"})
            assert answer.status_code == 200 and answer.json()["ok"], answer.text[:500]
            reply_id = answer.json()["message"]["id"]

            def delivered(events: list[dict[str, Any]]) -> bool:
                return any(e["data"]["message"]["id"] == reply_id and e["data"]["message"]["delivery_status"] ==
                           "delivered" for e in _of_type(events, "message.updated"))

            wait_until(lambda: delivered(on_a.events[0]) and delivered(on_b.events[0]), timeout=30,
                       message="the worker's delivery report on the dashboards of both processes")
            head = Event.objects.filter(municipality=municipality).count()
            wait_until(lambda: len(on_a.events[0]) == len(on_b.events[0]) == head, timeout=10,
                       message="both dashboards to have every event")
    finally:
        process_a.stop()
        process_b.stop()

    assert Message.objects.get(pk=reply_id).delivery_status == "delivered"
    # One stream, whichever process wrote an event or serves the dashboard.
    assert seqs(on_a.events[0]) == seqs(on_b.events[0]) == list(range(1, head + 1))
    assert [e["id"] for e in on_a.events[0]] == [e["id"] for e in on_b.events[0]]
    # Pushed through Redis across processes, not merely found later in the database by a catch-up.
    assert on_a.followers[0].stats.recovered == on_b.followers[0].stats.recovered == 0
    texts = [e["data"]["message"]["text"] for e in _of_type(on_b.events[0], "message.created")]
    assert texts == ["Mijn container is niet geleegd.", "We komen morgen langs."]
