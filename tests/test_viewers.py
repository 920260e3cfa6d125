"""Who is viewing a ticket: only within the ticket's municipality, and gone again when they leave."""
from __future__ import annotations

from omnidesk.realtime.viewers import start_viewing, stop_viewing, viewers_of
from omnidesk.tickets.models import Ticket
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import MunicipalityFactory


def test_viewing_is_tracked_per_ticket_and_refused_across_municipalities(client, account, agent):
    post_sandbox(client, account, {"id": "v1", "text": "Hoi"}, new_resident_id())
    ticket = Ticket.objects.get()
    other = MunicipalityFactory()
    assert start_viewing(municipality_id=other.pk, ticket_id=ticket.pk, user_id=agent.pk, name="Eve") is False
    assert viewers_of(ticket.pk) == []
    assert start_viewing(municipality_id=ticket.municipality_id, ticket_id=ticket.pk, user_id=agent.pk, name="Anna")
    assert start_viewing(municipality_id=ticket.municipality_id, ticket_id=ticket.pk, user_id=agent.pk, name="Anna")
    assert viewers_of(ticket.pk) == [{"id": agent.pk, "name": "Anna"}]
    stop_viewing(municipality_id=ticket.municipality_id, ticket_id=ticket.pk, user_id=agent.pk)
    assert viewers_of(ticket.pk) == []
