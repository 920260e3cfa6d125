"""Inbox pages read from the other end past the middle hold exactly the rows OFFSET paging would give them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.paginator import Paginator
from django.utils import timezone

from omnidesk.dashboard.paging import TwoEndedPaginator
from omnidesk.tickets.models import Ticket
from omnidesk.tickets.search import sorted_tickets
from tests.conftest import new_resident_id, post_sandbox


@pytest.fixture
def tickets(client, account):  # type: ignore[no-untyped-def]
    for n in range(11):
        assert post_sandbox(client, account, {"id": f"p{n}", "text": f"Vraag {n}"}, new_resident_id()).status_code == 200
    base = timezone.now() - timedelta(days=1)
    for n, ticket in enumerate(Ticket.objects.order_by("id")):
        # Ties on the sort column (pairs share a time) and some residents waiting: both orderings get exercised.
        Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=base + timedelta(minutes=n // 2),
                                                   last_outbound_at=None if n % 3 else base)
    return Ticket.objects.filter(channel_account=account)


@pytest.mark.parametrize("sort", ["activity", "waiting"])
@pytest.mark.parametrize("per_page", [2, 3, 4, 11, 20])
def test_every_page_holds_the_same_rows_as_offset_paging(tickets, sort, per_page):
    ordered = sorted_tickets(tickets, sort)
    plain, two_ended = Paginator(ordered, per_page), TwoEndedPaginator(ordered, per_page)
    assert two_ended.num_pages == plain.num_pages
    seen = []
    for number in plain.page_range:
        expected = [t.pk for t in plain.page(number)]
        got = two_ended.page(number)
        assert [t.pk for t in got] == expected, (sort, per_page, number)
        assert (got.has_next(), got.has_previous(), got.start_index()) == (
            plain.page(number).has_next(), plain.page(number).has_previous(), plain.page(number).start_index())
        seen += expected
    assert sorted(seen) == sorted(t.pk for t in tickets), "every ticket on exactly one page"


def test_an_ordering_without_the_primary_key_is_paged_the_usual_way(tickets):
    ordered = tickets.order_by("-last_activity_at")  # ties: the two ends could disagree, so no reversal
    assert not TwoEndedPaginator(ordered, 2)._reversible()
    assert TwoEndedPaginator(sorted_tickets(tickets, "activity"), 2)._reversible()


def test_the_inbox_shows_the_last_page_in_order(agent_client, tickets, monkeypatch):
    from omnidesk.dashboard import views

    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    last = agent_client.get("/?page=999")  # past the end: the last page
    expected = [t.number for t in sorted_tickets(tickets, "activity")][8:]
    assert [row.number for row in last.context["page"]] == expected
