"""Inbound webhooks: idempotent under redelivery (also concurrent), and every refusal stores nothing."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from django.test import Client

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.models import Contact, ContactIdentity
from omnidesk.inbound.services import InvalidEvent, ingest_events
from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundMessage
from omnidesk.realtime.models import Event
from omnidesk.tickets.models import Direction, Message, Ticket
from tests.conftest import new_resident_id, post_sandbox, run_at_once, sandbox_headers

OK_EMPTY = {"status": "ok", "messages": 0, "duplicates": 0, "statuses": 0, "profiles": 0, "reactions": 0, "consents": 0}


def counts() -> dict[str, int]:
    return {
        "contacts": Contact.objects.count(),
        "identities": ContactIdentity.objects.count(),
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
        "events": Event.objects.count(),
    }


@pytest.fixture
def unchanged(account):
    """Asserts at the end that the test's requests stored nothing at all."""
    # One message already stored, so "nothing more" is checked against a non-empty database.
    post_sandbox(Client(), account, {"id": "earlier", "text": "Eerder bericht"})
    before = counts()
    assert before["messages"] == 1
    yield
    assert counts() == before, "a refused request stored something"


def url(account: ChannelAccount) -> str:
    return f"/webhooks/{account.public_id}/"


# --- idempotency ---------------------------------------------------------------------------------
def test_a_message_is_stored_with_its_contact_ticket_and_provider_id(client, account):
    resident = new_resident_id()
    response = post_sandbox(client, account, {"id": "m-1", "text": "Mijn container is niet geleegd", "name": " Piet "},
                            resident)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {**OK_EMPTY, "messages": 1}
    message = Message.objects.get()
    assert message.provider_message_id == f"{resident}:m-1"
    assert message.direction == Direction.INBOUND
    assert message.ticket.channel_account == account
    assert message.ticket.municipality == account.municipality
    assert message.author_contact.display_name == "Piet"
    assert ContactIdentity.objects.get().value == f"sandbox-{resident}"
    assert message.ticket.preview == "Mijn container is niet geleegd"


def test_redelivery_of_the_same_message_stores_one_and_reports_a_duplicate(client, account):
    resident = new_resident_id()
    payload = {"id": "m-1", "text": "Hallo"}
    first = post_sandbox(client, account, payload, resident)
    before = counts()
    second = post_sandbox(client, account, payload, resident)
    third = post_sandbox(client, account, {**payload, "text": "Hallo (gewijzigd bij herhaling)"}, resident)
    assert first.json() == {**OK_EMPTY, "messages": 1}
    # A duplicate is still a 200, or the provider retries forever.
    assert second.status_code == third.status_code == 200
    assert second.json() == third.json() == {**OK_EMPTY, "duplicates": 1}
    assert counts() == before
    assert Message.objects.get().text == "Hallo"


def test_the_same_message_id_from_another_resident_or_account_is_a_new_message(client, account, municipality):
    from tests.factories import sandbox_account

    other_account = sandbox_account(municipality, name="Tweede sandbox")
    post_sandbox(client, account, {"id": "m-1", "text": "Een"}, new_resident_id())
    post_sandbox(client, account, {"id": "m-1", "text": "Twee"}, new_resident_id())
    response = post_sandbox(client, other_account, {"id": "m-1", "text": "Drie"}, new_resident_id())
    assert response.json()["messages"] == 1
    assert Message.objects.count() == 3
    assert Ticket.objects.count() == 3


def test_two_messages_of_one_resident_join_one_ticket(client, account):
    resident = new_resident_id()
    post_sandbox(client, account, {"id": "1", "text": "Eerste"}, resident)
    post_sandbox(client, account, {"id": "2", "text": "Tweede"}, resident)
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("text", flat=True)) == ["Eerste", "Tweede"]
    assert ticket.preview == "Tweede"
    assert Contact.objects.count() == 1


def _deliver_concurrently(account: ChannelAccount, bodies: list[str], resident: str) -> list[tuple[int, dict]]:
    """POST every body at once, each from its own thread and test client (its own database connection)."""

    def deliver(body: str) -> tuple[int, dict]:
        response = Client().post(url(account), data=body, content_type="application/json",
                                 headers=sandbox_headers(resident))
        return response.status_code, response.json()

    return run_at_once(deliver, [(body,) for body in bodies])


def test_concurrent_redelivery_stores_exactly_one_message(transactional_db, account):
    resident = new_resident_id()
    body = json.dumps({"id": "burst", "text": "Zes keer tegelijk bezorgd"})
    answers = _deliver_concurrently(account, [body] * 6, resident)
    assert [status for status, _ in answers] == [200] * 6
    assert sum(data["messages"] for _, data in answers) == 1
    assert sum(data["duplicates"] for _, data in answers) == 5
    assert Message.objects.count() == 1
    assert Ticket.objects.count() == 1 and Contact.objects.count() == 1 and ContactIdentity.objects.count() == 1
    assert Ticket.objects.get().number == 1


def test_concurrent_first_messages_of_one_resident_open_one_ticket(transactional_db, account):
    resident = new_resident_id()
    bodies = [json.dumps({"id": f"m{n}", "text": f"Bericht {n}"}) for n in range(5)]
    answers = _deliver_concurrently(account, bodies, resident)
    assert sorted(data["messages"] for _, data in answers) == [1] * 5
    assert Message.objects.count() == 5
    assert Ticket.objects.count() == 1 and Contact.objects.count() == 1


# --- refusals store nothing ----------------------------------------------------------------------
def test_unknown_account_is_404_json(client, unchanged):
    response = client.post("/webhooks/does-not-exist/", data=json.dumps({"id": "1", "text": "Hoi"}),
                           content_type="application/json", headers=sandbox_headers(new_resident_id()))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "unknown_account"


def test_an_account_of_an_uninstalled_plugin_is_503_and_stores_nothing(client, municipality, unchanged):
    gone = ChannelAccount.objects.create(municipality=municipality, plugin_key="uninstalled", name="Weg")
    response = post_sandbox(client, gone, {"id": "1", "text": "Hoi"})
    assert response.status_code == 503
    assert response.json()["error"] == "plugin_unavailable"
    assert response["Retry-After"]


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no headers"),
    pytest.param({"X-Sandbox-Resident": "a" * 32}, id="no token"),
    pytest.param({"X-Sandbox-Resident": "a" * 32, "X-Sandbox-Token": ""}, id="empty token"),
    pytest.param({"X-Sandbox-Resident": "a" * 32, "X-Sandbox-Token": "f" * 64}, id="wrong token"),
    pytest.param({"X-Sandbox-Resident": "b" * 32, **{"X-Sandbox-Token": sandbox_headers("a" * 32)["X-Sandbox-Token"]}},
                 id="token of another resident"),
    pytest.param({"X-Sandbox-Resident": "A" * 32, "X-Sandbox-Token": "0" * 64}, id="malformed resident"),
])
def test_wrong_or_missing_token_is_403(client, account, unchanged, headers):
    response = client.post(url(account), data=json.dumps({"id": "1", "text": "Hoi"}),
                           content_type="application/json", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "verification_failed"
    assert response.json()["detail"]


def test_a_token_signed_with_another_accounts_secret_is_403(client, account, municipality, unchanged):
    from tests.factories import sandbox_account

    other = sandbox_account(municipality, name="Ander geheim", signing_secret="een-ander-geheim")
    response = post_sandbox(client, other, {"id": "1", "text": "Hoi"})  # signed with account's secret
    assert response.status_code == 403


def test_verification_runs_before_the_body_is_parsed(client, account, unchanged):
    response = client.post(url(account), data=b"not json", content_type="application/json",
                           headers={"X-Sandbox-Resident": "a" * 32, "X-Sandbox-Token": "0" * 64})
    assert response.status_code == 403


@pytest.mark.parametrize("body, problem", [
    pytest.param(b"dit is geen json", "body is not JSON", id="not json"),
    pytest.param(b"\xff\xfe\x00garbage", "body is not JSON", id="not utf-8"),
    pytest.param(b"", "body is not JSON", id="empty"),
    pytest.param(b"null", "JSON object", id="null"),
    pytest.param(b'"een string"', "JSON object", id="string"),
    pytest.param(b'[{"id": "1", "text": "Hoi"}]', "JSON object", id="list"),
    pytest.param(json.dumps({"id": "1"}).encode(), "`text`", id="missing text"),
    pytest.param(json.dumps({"id": "1", "text": ""}).encode(), "`text`", id="empty text"),
    pytest.param(json.dumps({"id": "1", "text": 42}).encode(), "`text`", id="text a number"),
    pytest.param(json.dumps({"id": "1", "text": ["Hoi"]}).encode(), "`text`", id="text a list"),
    pytest.param(json.dumps({"text": "Hoi"}).encode(), "`id`", id="missing id"),
    pytest.param(json.dumps({"id": 7, "text": "Hoi"}).encode(), "`id`", id="id a number"),
    pytest.param(json.dumps({"id": "", "text": "Hoi"}).encode(), "`id`", id="empty id"),
    pytest.param(json.dumps({"id": "x" * 101, "text": "Hoi"}).encode(), "`id`", id="id too long"),
    pytest.param(json.dumps({"id": "1", "text": "Hoi", "name": 3}).encode(), "`name`", id="name a number"),
    pytest.param(json.dumps({"id": "1", "text": "Hoi", "sent_at": "gisteren"}).encode(), "`sent_at`", id="bad date"),
    pytest.param(json.dumps({"id": "1", "text": "x" * 4097}).encode(), "longer than 4096", id="text too long"),
])
def test_malformed_body_is_400_json_naming_the_problem(client, account, unchanged, body, problem):
    response = post_sandbox(client, account, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "malformed_payload"
    assert problem in response.json()["detail"]


def test_body_over_the_limit_is_413(client, account, settings, unchanged):
    settings.OMNIDESK = {**settings.OMNIDESK, "WEBHOOK_MAX_BYTES": 100}
    body = json.dumps({"id": "1", "text": "x" * 200})
    response = post_sandbox(client, account, body)
    assert response.status_code == 413
    assert response.json() == {"error": "payload_too_large", "detail": "The body exceeds the limit of 100 bytes."}


def test_body_exactly_at_the_limit_is_accepted(client, account, settings):
    body = json.dumps({"id": "1", "text": "Precies op de grens"})
    settings.OMNIDESK = {**settings.OMNIDESK, "WEBHOOK_MAX_BYTES": len(body.encode())}
    assert post_sandbox(client, account, body).json()["messages"] == 1
    settings.OMNIDESK = {**settings.OMNIDESK, "WEBHOOK_MAX_BYTES": len(body.encode()) - 1}
    assert post_sandbox(client, account, body).status_code == 413
    assert Message.objects.count() == 1


@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
def test_unsupported_method_is_405(client, account, unchanged, method):
    response = getattr(client, method)(url(account), data=json.dumps({"id": "1", "text": "Hoi"}),
                                       content_type="application/json", headers=sandbox_headers("a" * 32))
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert response.json()["error"] == "method_not_allowed"


def test_get_is_refused_by_the_sandbox(client, account, unchanged):
    response = client.get(url(account), headers=sandbox_headers("a" * 32))
    assert response.status_code == 403


def test_a_disabled_account_is_acknowledged_as_ignored_and_stores_nothing(client, account, unchanged):
    account.enabled = False
    account.save(update_fields=["enabled"])
    response = post_sandbox(client, account, {"id": "new", "text": "Staat het kanaal uit?"})
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": "channel_disabled"}


# --- ingest is all or nothing --------------------------------------------------------------------
def _message(n: int, sender: IdentityRef) -> InboundMessage:
    return InboundMessage(provider_message_id=f"p-{n}", sender=sender, text=f"Bericht {n}",
                          sent_at=datetime(2026, 1, 5, 9, n, tzinfo=timezone.utc))


def test_one_bad_event_stores_none_of_the_batch(account):
    good = IdentityRef(IdentityKind.PHONE, "06 12345678")
    bad = IdentityRef(IdentityKind.PHONE, "geen nummer")
    before = counts()
    with pytest.raises(InvalidEvent, match="not a phone number"):
        ingest_events(account=account, events=(_message(1, good), _message(2, bad)))
    assert counts() == before


def test_a_batch_with_a_repeated_message_stores_it_once(account):
    sender = IdentityRef(IdentityKind.PHONE, "+31612345678")
    report = ingest_events(account=account, events=(_message(1, sender), _message(1, sender), _message(2, sender)))
    assert (report.messages, report.duplicates) == (2, 1)
    assert Message.objects.count() == 2
