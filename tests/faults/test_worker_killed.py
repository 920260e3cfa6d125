"""A worker killed with SIGKILL mid-send and mid-poll: after a new worker starts nothing is lost and nothing doubled.

Tasks are acknowledged late, but a killed worker's unacknowledged tasks only return after the broker's visibility
timeout (an hour); what brings the work back sooner is the database: a reply claimed by a worker that never reported
is queued again by the outbox sweep (requeue_stalled), and a poll moves its cursor only in the transaction that stores
the mail, so a poll that died is simply done again.
"""
from __future__ import annotations

import pytest

from channels_plugins.whatsapp.peer import GraphPeer
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.tickets.models import DeliveryEvent, Message
from omnidesk.tickets.services import reply_create
from tests.conftest import wait_until
from tests.faults.conftest import DELIVERED, kill_hard, open_tickets, wait_final, webhook_url, whatsapp_account
from tests.faults.proxy import TcpProxy

pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("faults")]

STALL = {"OMNIDESK_OUTBOUND_STALL_SECONDS": "2"}


def test_a_worker_killed_mid_send_loses_no_reply_and_sends_none_twice(stack, municipality, agent):
    app = stack(**STALL)
    app.start_server()
    with GraphPeer(auto_statuses=True) as peer:
        account = whatsapp_account(municipality, peer)
        peer.webhook_url = webhook_url(app.url, account)
        # Two residents, two replies each: the first reply of each conversation goes out, the second waits for it.
        tickets = open_tickets(peer, peer.webhook_url, 2)
        first = app.start_worker()
        peer.send_delay = 3.0  # the provider takes the message at once but answers slowly: sends are in flight
        replies = [reply_create(ticket=ticket, author=agent, text=f"Antwoord {n}")
                   for n in range(2) for ticket in tickets]
        wait_until(lambda: peer.in_flight == 2, timeout=30, message="two sends in flight at the provider")

        kill_hard(first)
        in_flight = list(Message.objects.filter(pk__in=[r.pk for r in replies], delivery_status="sending"))
        assert len(in_flight) == 2, "the killed worker held two replies"
        assert {m.pk for m in in_flight} == {r.pk for r in replies[:2]}, "each conversation's first reply"
        # The provider took both and reports their statuses, echoing our ids; nobody is left to record the answer.
        wait_until(lambda: DeliveryEvent.objects.filter(client_reference__in=[str(m.pk) for m in in_flight],
                                                        status="read").count() == 2,
                   timeout=30, message="the provider's status reports for the sends in flight")

        peer.send_delay = 0.0
        second = app.start_worker()
        app.send_task("omnidesk.outbound.tasks.requeue_stalled")  # what beat does every minute
        done = wait_final(replies, timeout=60, worker=second, wanted=DELIVERED)

    for message in done:
        assert peer.accepted(str(message.pk)) == 1, f"reply {message.pk} reached the provider {peer.accepted(str(message.pk))} times"
        wamid = next(s["_wamid"] for s in peer.sent if s["biz_opaque_callback_data"] == str(message.pk))
        assert message.provider_message_id == wamid
    # Each conversation's replies reached the provider in the order they were written.
    order = [s["biz_opaque_callback_data"] for s in peer.sent]
    for ticket in tickets:
        written = [str(r.pk) for r in replies if r.ticket_id == ticket.pk]
        assert [c for c in order if c in written] == written
    # The two that were in flight took the provider's id from its report, and its statuses: read.
    assert {m.pk: m.delivery_status for m in done if m.pk in {x.pk for x in in_flight}} == {
        m.pk: "read" for m in in_flight}
    assert len(peer.sent) == 4


# --- polling ---------------------------------------------------------------------------------------------------
def _mail(n: int) -> bytes:
    from email.message import EmailMessage
    from email.utils import make_msgid

    mail = EmailMessage()
    mail["From"] = f"Inwoner {n} <inwoner{n}@example.nl>"
    mail["To"] = "info@gemeente-voorbeeld.nl"
    mail["Subject"] = f"Vraag {n}"
    mail["Message-ID"] = make_msgid(domain="example.nl")
    mail.set_content(f"Dit is vraag nummer {n}.")
    return mail.as_bytes()


@pytest.fixture
def dovecot():  # type: ignore[no-untyped-def]
    from channels_plugins.email.tests.servers import Dovecot

    with Dovecot() as server:
        yield server


def test_a_worker_killed_mid_poll_loses_and_doubles_no_mail(stack, municipality, dovecot):
    total = 60  # three batches of 25, 25 and 10: each batch is stored with its cursor in one transaction
    for n in range(total):
        dovecot.append(_mail(n))
    imap = TcpProxy(dovecot.host, dovecot.port).start()
    try:
        account = channel_account_create(municipality=municipality, plugin_key="email", name="Info", config={
            "imap_host": "127.0.0.1", "imap_port": imap.port, "imap_security": "none", "allow_insecure": True,
            "imap_username": dovecot.username, "imap_password": dovecot.password, "mailbox": "INBOX",
            "smtp_host": "127.0.0.1", "smtp_port": 2525, "smtp_security": "none",
            "from_address": "info@gemeente-voorbeeld.nl", "from_name": "Gemeente Voorbeeld", "initial_import_days": 3})
        app = stack()
        first = app.start_worker()
        # Each batch opens its own IMAP session; hold the second one's answer to its mail fetch.
        imap.hold_when(b"BODY.PEEK[]", connection=2)
        app.send_task("omnidesk.inbound.tasks.poll_channel_account", account.pk)
        assert imap.held.wait(timeout=60), f"the second batch never fetched:\n{first.output()[-3000:]}"

        kill_hard(first)
        stored = Message.objects.filter(channel_account=account)
        assert stored.count() == 25, "the first batch is stored, the one in flight is not"
        cursor_after_first = ChannelAccount.objects.get(pk=account.pk).poll_cursor
        assert cursor_after_first

        imap.release()
        second = app.start_worker()
        app.send_task("omnidesk.inbound.tasks.poll_channel_account", account.pk)
        wait_until(lambda: stored.count() >= total, timeout=60, message="every mail stored")
        # A later poll finds nothing new: the cursor moved with the mail.
        polled = ChannelAccount.objects.get(pk=account.pk).last_polled_at
        app.send_task("omnidesk.inbound.tasks.poll_channel_account", account.pk)
        wait_until(lambda: ChannelAccount.objects.get(pk=account.pk).last_polled_at != polled, timeout=30,
                   message=f"the extra poll to run:\n{second.output()[-2000:]}")
    finally:
        imap.stop()
    subjects = sorted(stored.values_list("subject", flat=True))
    assert subjects == sorted(f"Vraag {n}" for n in range(total)), "every mail once"
    assert stored.values("provider_message_id").distinct().count() == total
