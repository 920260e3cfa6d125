"""Round-robin assignment over online agents with a cap, and the assignee-only reply rule."""
from __future__ import annotations

import uuid

import pytest

from omnidesk.realtime.presence import mark_present
from omnidesk.tenants.models import Municipality, Role
from omnidesk.tickets.models import Ticket
from omnidesk.tickets.services import NotAllowed, note_create, reply_create, ticket_assign
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import MembershipFactory


@pytest.fixture
def write(client, account):  # type: ignore[no-untyped-def]
    def send() -> Ticket:
        assert post_sandbox(client, account, {"id": uuid.uuid4().hex, "text": "Vraag"},
                            new_resident_id()).status_code == 200
        return Ticket.objects.order_by("-id").first()

    return send


def test_new_tickets_go_round_robin_to_online_agents_up_to_their_cap(municipality, write):
    Municipality.objects.filter(pk=municipality.pk).update(auto_assign=True, auto_assign_cap=2)
    anna, bram = (MembershipFactory(municipality=municipality, role=Role.AGENT).user for _ in range(2))
    offline = MembershipFactory(municipality=municipality, role=Role.AGENT).user
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN).user
    for user in (anna, bram, admin):
        mark_present(municipality.pk, user.pk)
    assignees = [write().assignee for _ in range(5)]
    assert assignees[:4].count(anna) == 2 and assignees[:4].count(bram) == 2  # evenly, both at the cap
    assert assignees[4] is None  # everyone online is at the cap: it waits in "unassigned"
    assert offline not in assignees and admin not in assignees
    first = Ticket.objects.order_by("id").first()
    assert first.messages.filter(kind="event").get().metadata["event"] == "assigned"


def test_no_automatic_assignment_unless_switched_on_or_within_the_team(municipality, write):
    agent = MembershipFactory(municipality=municipality, role=Role.AGENT).user
    mark_present(municipality.pk, agent.pk)
    assert write().assignee is None
    Municipality.objects.filter(pk=municipality.pk).update(auto_assign=True)
    assert write().assignee == agent


def test_only_the_assignee_replies_when_the_municipality_says_so(municipality, write):
    anna, bram = (MembershipFactory(municipality=municipality).user for _ in range(2))
    ticket = write()
    ticket_assign(ticket=ticket, assignee=anna, actor=anna)
    reply_create(ticket=ticket, author=bram, text="Mag nog")  # the rule is off by default
    Municipality.objects.filter(pk=municipality.pk).update(assignee_only_replies=True)
    ticket.refresh_from_db()
    with pytest.raises(NotAllowed, match="mag antwoorden"):  # Dutch, the default language
        reply_create(ticket=ticket, author=bram, text="Nu niet meer")
    note_create(ticket=ticket, author=bram, text="Wel een notitie")
    reply_create(ticket=ticket, author=anna, text="De eigenaar wel")


def test_saving_a_stale_municipality_never_rewinds_ticket_numbers(municipality, write):
    stale = Municipality.objects.get(pk=municipality.pk)
    first = write()
    stale.name = "Gemeente Nieuwe Naam"
    stale.save()
    second = write()
    assert (first.number, second.number) == (1, 2)
    assert Municipality.objects.get(pk=municipality.pk).name == "Gemeente Nieuwe Naam"
