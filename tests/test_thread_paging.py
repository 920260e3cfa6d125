"""A long thread opens at its latest messages; earlier ones come on request, in steps, with the inbox's filters kept
and the quotes of earlier messages still shown. The page's cost does not follow the thread's length."""
from __future__ import annotations

import re

from omnidesk.tickets.selectors import THREAD_PAGE, thread
from omnidesk.tickets.services import reply_create
from tests.test_query_counts import MESSAGE_ROW, fresh, inbound, page_queries, resident

EARLIER = re.compile(r'<p class="thread-earlier"><a href="([^"]+)">')


def long_thread(account, municipality, agent, count: int):  # type: ignore[no-untyped-def]
    identity = resident(municipality, "Priya Ramdin")
    first = inbound(account, identity, "Eerste vraag: mijn paspoort is verlopen.")
    for n in range(count - 2):
        inbound(account, identity, f"Aanvulling {n}")
    reply = reply_create(ticket=fresh(first.ticket), author=agent, text="U kunt een afspraak maken.", quote=first)
    return first, reply


def test_a_long_thread_shows_its_latest_messages_and_a_link_to_earlier_ones(agent_client, agent, municipality,
                                                                            account):
    first, reply = long_thread(account, municipality, agent, THREAD_PAGE + 10)
    path = f"/tickets/{first.ticket.number}/"
    page = agent_client.get(path, {"view": "all"}).content.decode()
    shown = [int(n) for n in re.findall(r'<li class="msg [^"]*" id="message-(\d+)"', page)]
    assert len(shown) == THREAD_PAGE and shown[-1] == reply.pk and first.pk not in shown
    assert shown == sorted(shown), "oldest first"
    [link] = EARLIER.findall(page)
    assert link == f"{path}?view=all&amp;show={2 * THREAD_PAGE}#message-{shown[0]}", "filters kept, back where it was"
    assert f'data-oldest-shown="{shown[0]}"' in page
    # The reply quotes the first message, which is not shown: its quote is.
    assert '<blockquote class="quoted">Eerste vraag: mijn paspoort is verlopen.</blockquote>' in page

    everything = agent_client.get(path, {"view": "all", "show": 2 * THREAD_PAGE}).content.decode()
    assert len(MESSAGE_ROW.findall(everything)) == THREAD_PAGE + 10
    assert not EARLIER.findall(everything) and "data-oldest-shown" not in everything


def test_a_short_thread_has_no_link_and_odd_lengths_are_bounded(agent_client, agent, municipality, account):
    first, _reply = long_thread(account, municipality, agent, 3)
    path = f"/tickets/{first.ticket.number}/"
    for show in ("", "abc", "-5", "0", "999999999"):
        page = agent_client.get(path, {"show": show}).content.decode()
        assert len(MESSAGE_ROW.findall(page)) == 3 and not EARLIER.findall(page)
    assert thread(first.ticket, 2).earlier and len(thread(first.ticket, 2).messages) == 2


def test_the_page_costs_the_same_queries_for_a_short_or_a_long_thread(agent_client, agent, municipality, account):
    short, _ = long_thread(account, municipality, agent, 3)
    long, _ = long_thread(account, municipality, agent, THREAD_PAGE + 30)
    few, rows = page_queries(agent_client, f"/tickets/{short.ticket.number}/", MESSAGE_ROW)
    many, more_rows = page_queries(agent_client, f"/tickets/{long.ticket.number}/", MESSAGE_ROW)
    assert (rows, more_rows) == (3, THREAD_PAGE)
    # The long one looks up the quoted first message, which is older than what it shows: one query more, at most.
    assert len(many) - len(few) <= 1
