"""Ticket lifecycle: reopening, new tickets and numbering, replies, assignment and status events, delivery status."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.utils import timezone as dj_timezone

from omnidesk.plugin_api import DeliveryStatus as DS
from omnidesk.plugin_api import StatusUpdate
from omnidesk.realtime.models import Event
from omnidesk.tickets.delivery import next_status
from omnidesk.tickets.models import DeliveryEvent, DeliveryStatus, Direction, Kind, Message, Status, Ticket
from omnidesk.tickets.services import (
    delivery_status_record,
    outbound_mark_sent,
    reply_create,
    ticket_assign,
    ticket_set_status,
)
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account

AT = datetime(2026, 4, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def resident():
    return new_resident_id()


@pytest.fixture
def write(client, account, resident):
    """The resident writes a message; returns the ticket it landed on."""
    counter = iter(range(1000))

    def send(text: str = "Hallo") -> Ticket:
        response = post_sandbox(client, account, {"id": f"m{next(counter)}", "text": text}, resident)
        assert response.json()["messages"] == 1, response.content
        return Message.objects.filter(direction=Direction.INBOUND).latest("id").ticket

    return send


def events_of(ticket: Ticket) -> list[dict]:
    return [m.metadata for m in ticket.messages.filter(kind=Kind.EVENT).order_by("id")]


# --- which ticket an inbound message joins -------------------------------------------------------
def test_a_message_on_a_resolved_ticket_within_the_window_reopens_it(write, agent):
    ticket = write("Eerste vraag")
    ticket_set_status(ticket=ticket, status=Status.RESOLVED, actor=agent)
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None
    # Resolved six days ago: still within the default seven-day window.
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=dj_timezone.now() - timedelta(days=6))
    again = write("Toch nog een vraag")
    assert again.pk == ticket.pk
    again.refresh_from_db()
    assert again.status == Status.OPEN
    assert again.resolved_at is None
    assert again.preview == "Toch nog een vraag"
    assert Ticket.objects.count() == 1


def test_a_message_after_the_window_starts_a_new_ticket_with_the_next_number(write, agent, municipality):
    ticket = write("Eerste vraag")
    ticket_set_status(ticket=ticket, status=Status.RESOLVED, actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(
        resolved_at=dj_timezone.now() - timedelta(days=municipality.reopen_window_days, minutes=1)
    )
    new = write("Nieuwe vraag, weken later")
    assert new.pk != ticket.pk
    assert new.number == ticket.number + 1
    assert new.status == Status.NEW
    assert new.contact_id == ticket.contact_id
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED  # the old one stays resolved
    # The next message joins the new, active ticket.
    assert write("Aanvulling").pk == new.pk
    assert list(new.messages.values_list("text", flat=True)) == ["Nieuwe vraag, weken later", "Aanvulling"]


def test_the_reopen_window_is_per_municipality(write, agent, municipality):
    municipality.reopen_window_days = 1
    municipality.save()
    ticket = write()
    ticket_set_status(ticket=ticket, status=Status.RESOLVED, actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=dj_timezone.now() - timedelta(days=2))
    assert write().number == 2


def test_a_message_on_a_closed_ticket_starts_a_new_ticket(write, agent):
    ticket = write("Eerste vraag")
    ticket_set_status(ticket=ticket, status=Status.CLOSED, actor=agent)
    new = write("Nog een vraag, meteen erna")
    assert new.pk != ticket.pk and new.number == 2 and new.status == Status.NEW
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert Event.objects.filter(type="ticket.created").count() == 2


@pytest.mark.parametrize("status", [Status.NEW, Status.OPEN, Status.PENDING])
def test_a_message_on_an_active_ticket_joins_it_without_changing_its_status(write, agent, status):
    ticket = write()
    if status != Status.NEW:
        ticket_set_status(ticket=ticket, status=status, actor=agent)
    assert write("Nog iets").pk == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == status


def test_numbering_is_per_municipality(client, db):
    first, second = MunicipalityFactory(), MunicipalityFactory()
    a, b = sandbox_account(first), sandbox_account(second)
    numbers = []
    for account in (a, b, a, b, b):
        post_sandbox(client, account, {"id": "1", "text": "Hoi"}, new_resident_id())
        numbers.append(Ticket.objects.latest("id").number)
    assert numbers == [1, 1, 2, 2, 3]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.last_ticket_number, second.last_ticket_number) == (2, 3)


def test_each_channel_account_of_a_resident_has_its_own_ticket_with_shared_numbering(client, municipality, resident):
    a, b = sandbox_account(municipality, name="A"), sandbox_account(municipality, name="B")
    post_sandbox(client, a, {"id": "1", "text": "Via A"}, resident)
    post_sandbox(client, b, {"id": "1", "text": "Via B"}, resident)
    assert sorted(Ticket.objects.values_list("channel_account__name", "number")) == [("A", 1), ("B", 2)]


# --- agents' actions -----------------------------------------------------------------------------
def test_replying_sets_first_response_and_opens_the_ticket(agent_client, write, agent):
    ticket = write()
    assert ticket.status == Status.NEW and ticket.first_response_at is None
    response = agent_client.post(f"/tickets/{ticket.number}/reply/", {"text": "Wij kijken ernaar."},
                                 headers={"Accept": "application/json"})
    assert response.status_code == 200, response.content
    assert response.json()["message"]["delivery_status"] == DeliveryStatus.QUEUED
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.first_response_at is not None
    assert ticket.last_outbound_at == ticket.first_response_at
    first = ticket.first_response_at
    reply = ticket.messages.get(direction=Direction.OUTBOUND, kind=Kind.MESSAGE)
    assert (reply.text, reply.author_user, reply.delivery_status) == ("Wij kijken ernaar.", agent, DeliveryStatus.QUEUED)
    # A second reply keeps the first response time.
    reply_create(ticket=ticket, author=agent, text="Nog een antwoord")
    ticket.refresh_from_db()
    assert ticket.first_response_at == first
    assert ticket.last_outbound_at > first


def test_replying_keeps_a_pending_ticket_pending(write, agent):
    ticket = write()
    ticket_set_status(ticket=ticket, status=Status.PENDING, actor=agent)
    reply_create(ticket=ticket, author=agent, text="Antwoord")
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING and ticket.first_response_at is not None


def test_an_empty_reply_is_refused(agent_client, write):
    ticket = write()
    response = agent_client.post(f"/tickets/{ticket.number}/reply/", {"text": "  "},
                                 headers={"Accept": "application/json", "Accept-Language": "en"})
    assert response.status_code == 400
    assert response.json()["errors"] == "Write a message or add a file."
    assert not ticket.messages.filter(direction=Direction.OUTBOUND).exists()


def test_assigning_creates_system_events(agent_client, write, agent, municipality):
    colleague = MembershipFactory(municipality=municipality).user
    ticket = write()
    agent_client.post(f"/tickets/{ticket.number}/assign/", {"assignee": "me"})
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == Status.OPEN
    agent_client.post(f"/tickets/{ticket.number}/assign/", {"assignee": str(colleague.pk)})
    agent_client.post(f"/tickets/{ticket.number}/assign/", {"assignee": str(colleague.pk)})  # no change, no event
    agent_client.post(f"/tickets/{ticket.number}/assign/", {"assignee": ""})
    ticket.refresh_from_db()
    assert ticket.assignee is None
    events = events_of(ticket)
    assert [e["event"] for e in events] == ["took", "assigned", "unassigned"]
    assert events[1]["assignee"] == (colleague.get_full_name() or colleague.username)
    assert all(e["actor"] == (agent.get_full_name() or agent.username) for e in events)
    system = ticket.messages.filter(kind=Kind.EVENT)
    assert all(m.author_user == agent and m.direction == Direction.OUTBOUND for m in system)


def test_status_changes_create_system_events_and_set_resolved_at(agent_client, write):
    ticket = write()
    for status in ("pending", "resolved", "resolved", "open", "closed"):
        response = agent_client.post(f"/tickets/{ticket.number}/status/", {"status": status},
                                     headers={"Accept": "application/json"})
        assert response.json()["ticket"]["status"] == status
        ticket.refresh_from_db()
        assert (ticket.resolved_at is not None) == (status in ("resolved", "closed"))
    assert [(e["event"], e["status"]) for e in events_of(ticket)] == [
        ("status", "pending"), ("status", "resolved"), ("status", "open"), ("status", "closed")
    ]


def test_an_unknown_status_is_refused(agent_client, write):
    ticket = write()
    response = agent_client.post(f"/tickets/{ticket.number}/status/", {"status": "deleted"},
                                 headers={"Accept": "application/json"})
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and events_of(ticket) == []


def test_service_level_assign_and_status_publish_events(write, agent):
    ticket = write()
    before = Event.objects.count()
    ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    ticket_set_status(ticket=ticket, status=Status.RESOLVED, actor=agent)
    types = list(Event.objects.order_by("id").values_list("type", flat=True)[before:])
    assert types == ["message.created", "ticket.updated", "message.created", "ticket.updated"]


# --- delivery status -----------------------------------------------------------------------------
@pytest.mark.parametrize("current, incoming, expected", [
    ("", "sent", "sent"),
    ("queued", "sending", "sending"),
    ("sending", "sent", "sent"),
    ("sent", "delivered", "delivered"),
    ("delivered", "read", "read"),
    # never backwards
    ("delivered", "sent", "delivered"),
    ("read", "delivered", "read"),
    ("read", "sent", "read"),
    ("sent", "queued", "sent"),
    ("delivered", "sending", "delivered"),
    # failed wins over not-yet-delivered states
    ("queued", "failed", "failed"),
    ("sending", "failed", "failed"),
    ("sent", "failed", "failed"),
    # a late failure cannot undo proof of delivery
    ("delivered", "failed", "delivered"),
    ("read", "failed", "read"),
    # failed then delivered/read: the later evidence wins; failed then sent/queued stays failed
    ("failed", "delivered", "delivered"),
    ("failed", "read", "read"),
    ("failed", "sent", "failed"),
    ("failed", "queued", "failed"),
    ("failed", "failed", "failed"),
])
def test_next_status_precedence(current, incoming, expected):
    assert next_status(current, incoming) == expected


def test_next_status_never_moves_backwards_over_any_sequence():
    ranks = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}
    order = list(ranks)
    for a in order:
        for b in order:
            result = next_status(a, b)
            assert ranks[result] == max(ranks[a], ranks[b]), (a, b, result)


def _queued_reply(ticket: Ticket, agent) -> Message:  # type: ignore[no-untyped-def]
    return reply_create(ticket=ticket, author=agent, text="Uw container wordt morgen geleegd.")


def _status(provider_id: str, status: DS, minute: int, **extra: str) -> StatusUpdate:
    return StatusUpdate(provider_message_id=provider_id, status=status, occurred_at=AT + timedelta(minutes=minute),
                        **extra)


def test_a_status_before_the_provider_id_is_known_is_kept_and_applied_on_send(write, agent, account):
    message = _queued_reply(write(), agent)
    assert delivery_status_record(account=account, update=_status("prov-1", DS.DELIVERED, 2)) is None
    kept = DeliveryEvent.objects.get()
    assert (kept.provider_message_id, kept.status, kept.message_id) == ("prov-1", "delivered", None)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.QUEUED
    # The send's answer arrives later, with the provider id: the early report is applied and attached.
    outbound_mark_sent(message=message, provider_message_id="prov-1", status="sent")
    message.refresh_from_db()
    assert message.provider_message_id == "prov-1"
    assert message.delivery_status == DeliveryStatus.DELIVERED
    assert DeliveryEvent.objects.get().message_id == message.pk


def test_early_failed_then_delivered_reports_end_delivered(write, agent, account):
    message = _queued_reply(write(), agent)
    # Arriving out of order: delivered (minute 3) before failed (minute 1).
    delivery_status_record(account=account, update=_status("prov-2", DS.DELIVERED, 3))
    delivery_status_record(account=account, update=_status("prov-2", DS.FAILED, 1, error_code="131047",
                                                            error_message="Re-engagement message"))
    outbound_mark_sent(message=message, provider_message_id="prov-2", status="sent")
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.DELIVERED
    assert DeliveryEvent.objects.filter(message=message).count() == 2


def test_a_failure_report_after_the_send_marks_the_message_failed_with_the_reason(write, agent, account):
    message = _queued_reply(write(), agent)
    outbound_mark_sent(message=message, provider_message_id="prov-3", status="sent")
    updated = delivery_status_record(account=account, update=_status("prov-3", DS.FAILED, 1, error_code="30003",
                                                                      error_message="Unreachable handset"))
    assert updated is not None and updated.pk == message.pk
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code, message.error_message) == (
        DeliveryStatus.FAILED, "30003", "Unreachable handset")
    # Later proof of delivery wins over the failure.
    delivery_status_record(account=account, update=_status("prov-3", DS.DELIVERED, 2))
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.DELIVERED
    # A repeated report changes nothing and is stored once.
    assert delivery_status_record(account=account, update=_status("prov-3", DS.DELIVERED, 2)) is None
    assert DeliveryEvent.objects.filter(status="delivered").count() == 1


def test_read_before_the_send_answer_ends_read(write, agent, account):
    message = _queued_reply(write(), agent)
    delivery_status_record(account=account, update=_status("prov-4", DS.READ, 5))
    delivery_status_record(account=account, update=_status("prov-4", DS.DELIVERED, 4))
    outbound_mark_sent(message=message, provider_message_id="prov-4", status="sent")
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.READ


def test_a_status_for_another_account_is_not_applied(write, agent, account, municipality):
    message = _queued_reply(write(), agent)
    other = sandbox_account(municipality, name="Andere")
    delivery_status_record(account=other, update=_status("prov-5", DS.FAILED, 1))
    outbound_mark_sent(message=message, provider_message_id="prov-5", status="delivered")
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.DELIVERED
    assert DeliveryEvent.objects.get().message_id is None


def test_concurrent_first_messages_of_different_residents_get_distinct_numbers(transactional_db):
    import json
    from django.test import Client

    from tests.conftest import run_at_once, sandbox_headers

    account = sandbox_account(MunicipalityFactory())

    def deliver() -> None:
        response = Client().post(f"/webhooks/{account.public_id}/", data=json.dumps({"id": "1", "text": "Hoi"}),
                                 content_type="application/json", headers=sandbox_headers(new_resident_id()))
        assert response.status_code == 200, response.content

    run_at_once(deliver, [()] * 6)
    assert sorted(Ticket.objects.values_list("number", flat=True)) == [1, 2, 3, 4, 5, 6]
    account.municipality.refresh_from_db()
    assert account.municipality.last_ticket_number == 6
