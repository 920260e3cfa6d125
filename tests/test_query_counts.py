"""The dashboard's SQL queries per page do not grow with the rows it shows: 3 rows cost exactly as many as 40.

A page whose query count follows its rows (a lazy foreign key or reverse relation in a row's template) is fine in a
test with three tickets and falls over at a municipality's 100,000 (`manage.py benchmark inbox`, docs/benchmarks.md).
"""
from __future__ import annotations

import collections
import re
import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.models import ContactIdentity
from omnidesk.contacts.services import consent_record, identity_for
from omnidesk.plugin_api.events import IdentityKind, IdentityRef, InboundAttachment
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Message, Status, Ticket
from omnidesk.tickets.services import message_receive, note_create, reply_create, ticket_assign, ticket_set_status
from tests.factories import MembershipFactory, sandbox_account

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 64
# Rendered rows only: the page also holds empty <template>s of both for the live updates.
TICKET_ROW = re.compile(r'<li class="ticket-row[^"]*" data-ticket-id="\d+"')
MESSAGE_ROW = re.compile(r'<li class="msg [^"]*" id="message-\d+"')


def resident(municipality: Municipality, name: str) -> ContactIdentity:
    return identity_for(municipality=municipality, display_name=name,
                        identity=IdentityRef(IdentityKind.VISITOR, f"sandbox-{uuid.uuid4().hex}"))


def inbound(account: ChannelAccount, identity: ContactIdentity, text: str, files: int = 0) -> Message:
    attachments = tuple(InboundAttachment(filename=f"foto-{i}.jpg", content_type="image/jpeg", content=JPEG)
                        for i in range(files))
    return message_receive(account=account, contact=identity.contact, identity=identity,
                           provider_message_id=uuid.uuid4().hex, text=text, attachments=attachments)


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def page_queries(client: Client, path: str, rows: re.Pattern[str] = TICKET_ROW) -> tuple[list[str], int]:
    """The SQL of one request (after a warm-up request) and how many rows the page shows."""
    client.get(path)  # first-request work (sessions, caches) is not what is compared
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries], len(rows.findall(response.content.decode()))


def explain(few: list[str], many: list[str]) -> str:
    """On failure: the statements the larger page runs more often, so the guilty relation is plain to see."""
    def shape(sql: str) -> str:  # without the values (ids, times, cursor names) that differ between requests
        return re.sub(r"'[^']*'|\b\d+\b|_django_curs_\w+", "?", sql)

    extra = collections.Counter(map(shape, many)) - collections.Counter(map(shape, few))
    return "\n".join(f"{n}x {sql[:300]}" for sql, n in extra.most_common(5))


def test_the_inbox_costs_the_same_queries_for_3_or_40_tickets(agent_client, agent, municipality, account):
    colleagues: list[AbstractBaseUser | None] = [agent, *(MembershipFactory(municipality=municipality).user
                                                         for _ in range(3)), None]
    accounts = [account, sandbox_account(municipality, name="Website-chat")]

    def add_tickets(first: int, count: int) -> None:
        # Rows differ in everything a row shows: resident, channel, assignee, status.
        for n in range(first, first + count):
            ticket = inbound(accounts[n % len(accounts)], resident(municipality, f"Bewoner {n}"), f"Vraag {n}").ticket
            if colleagues[n % len(colleagues)] is not None:
                ticket_assign(ticket=fresh(ticket), assignee=colleagues[n % len(colleagues)], actor=agent)
            if n % 4 == 3:
                ticket_set_status(ticket=fresh(ticket), status=Status.PENDING, actor=agent)

    add_tickets(0, 3)
    few, rows = page_queries(agent_client, "/")
    assert rows == 3
    # More channels too: each has a row of its own in the views list and a resident link.
    accounts += [sandbox_account(municipality, name="WhatsApp"), sandbox_account(municipality, name="SMS")]
    add_tickets(3, 37)
    many, rows = page_queries(agent_client, "/")
    assert rows == 40
    assert len(few) == len(many), explain(few, many)

    # The same holds for filtered views of the inbox.
    for path in ("/?status=open", "/?assignee=me", "/?view=unassigned"):
        assert len(page_queries(agent_client, path)[0]) == len(many), path


def test_a_ticket_costs_the_same_queries_for_3_or_40_messages_attachments_and_notes(agent_client, agent, municipality,
                                                                                    account):
    colleagues = [agent, *(MembershipFactory(municipality=municipality).user for _ in range(3))]
    elsewhere = sandbox_account(municipality, name="Website-chat")
    identity = resident(municipality, "Fatima el Amrani")
    # An opt-out on another channel, in both cases: its badge is part of the contact panel.
    consent_record(channel_account=elsewhere, identity=identity, opted_out=True, keyword="STOP", at=timezone.now())
    first = inbound(account, identity, "Ik wil een parkeervergunning aanvragen.", files=1)
    ticket = first.ticket
    reply_create(ticket=fresh(ticket), author=agent, text="Dat kan online.", quote=first)
    note_create(ticket=fresh(ticket), author=colleagues[1], text="Bewoner belde eerder al.")
    path = f"/tickets/{ticket.number}/"
    few, rows = page_queries(agent_client, path, MESSAGE_ROW)
    assert rows == 3

    # Grow the thread to 40 items by every author and kind: residents' messages with one or two files, replies by
    # several agents (quoting), internal notes, and system events; plus the resident's tickets on other channels.
    n = 0
    while Message.objects.filter(ticket=ticket).count() < 40:  # each step adds one item
        author = colleagues[n % len(colleagues)]
        step = n % 5
        if step == 0:
            inbound(account, identity, f"Aanvulling {n}", files=1 + n % 2)
        elif step == 1:
            quoted = Message.objects.filter(ticket=ticket, direction="inbound").latest("id")
            reply_create(ticket=fresh(ticket), author=author, text=f"Antwoord {n}", quote=quoted)
        elif step == 2:
            note_create(ticket=fresh(ticket), author=author, text=f"Notitie {n}")
        elif step == 3:
            ticket_assign(ticket=fresh(ticket), assignee=author, actor=colleagues[(n + 1) % len(colleagues)])
        else:
            inbound(account, identity, f"Nog een vraag {n}")
        n += 1
    for name in ("WhatsApp", "SMS"):
        inbound(sandbox_account(municipality, name=name), identity, "Via een ander kanaal")
    many, rows = page_queries(agent_client, path, MESSAGE_ROW)
    assert rows == 40
    assert len(few) == len(many), explain(few, many)
