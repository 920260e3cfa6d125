"""The periodic tasks beat runs: the outbox sweep (nothing queued is lost), event pruning, and poll scheduling."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from omnidesk.inbound.tasks import schedule_polls
from omnidesk.outbound.services import stalled_message_ids
from omnidesk.outbound.tasks import requeue_stalled
from omnidesk.realtime.models import Event
from omnidesk.realtime.tasks import prune_events
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import reply_create
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import sandbox_account
from tests.test_polling import MAILBOX, polling_account, polling_plugin  # noqa: F401  (fixtures)


def _queued_reply(client, municipality, agent, httpserver) -> Message:  # type: ignore[no-untyped-def]
    account = sandbox_account(municipality, delivery_url=httpserver.url_for("/replies"))
    post_sandbox(client, account, {"id": "b1", "text": "Hallo"}, new_resident_id())
    return reply_create(ticket=Ticket.objects.get(channel_account=account), author=agent, text="Antwoord")


def test_a_reply_stuck_in_sending_or_overdue_is_queued_again(client, municipality, agent, httpserver, settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_STALL_SECONDS": 60}
    stuck = _queued_reply(client, municipality, agent, httpserver)
    long_ago = timezone.now() - timedelta(minutes=10)
    # A worker claimed it ten minutes ago and died.
    Message.objects.filter(pk=stuck.pk).update(delivery_status="sending", claimed_at=long_ago, created_at=long_ago)
    waiting = reply_create(ticket=stuck.ticket, author=agent, text="Nog een")
    # This one waits for its backoff, due in the future: the sweep must leave it alone.
    Message.objects.filter(pk=waiting.pk).update(created_at=long_ago, next_attempt_at=timezone.now() + timedelta(minutes=5))

    assert stalled_message_ids() == [stuck.pk]
    stuck.refresh_from_db()
    assert (stuck.delivery_status, stuck.claimed_at) == ("queued", None)


def test_the_sweep_delivers_what_the_broker_lost(client, municipality, agent, httpserver, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # run the re-enqueued delivery in-process
    settings.OMNIDESK = {**settings.OMNIDESK, "OUTBOUND_STALL_SECONDS": 60}
    httpserver.expect_request("/replies").respond_with_json({"id": "peer-99"}, status=201)
    lost = _queued_reply(client, municipality, agent, httpserver)  # queued, but its task never ran
    Message.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert requeue_stalled.apply().get() == 1
    lost.refresh_from_db()
    assert (lost.delivery_status, lost.provider_message_id) == ("sent", "peer-99")
    assert requeue_stalled.apply().get() == 0


def test_old_realtime_events_are_pruned(municipality, settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "REALTIME_EVENT_RETENTION_HOURS": 24}
    old = Event.objects.create(municipality=municipality, type="ticket.updated", payload={})
    recent = Event.objects.create(municipality=municipality, type="ticket.updated", payload={})
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert prune_events.apply().get() == 1
    assert list(Event.objects.values_list("pk", flat=True)) == [recent.pk]


def test_due_polling_accounts_are_polled(polling_account, settings):  # noqa: F811
    settings.CELERY_TASK_ALWAYS_EAGER = True
    MAILBOX.append((1, "inwoner@example.nl", "Via de mail"))
    assert schedule_polls.apply().get() == 1
    assert Message.objects.get().text == "Via de mail"
    assert schedule_polls.apply().get() == 0  # polled just now: not due again yet


def test_a_sunset_reply_whose_task_was_lost_is_sent_by_the_sweep(municipality, httpserver, settings):
    from omnidesk.channel_accounts.services import channel_account_set_enabled
    from omnidesk.sunset.models import SunsetContact
    from omnidesk.sunset.tasks import requeue_stalled_replies

    settings.CELERY_TASK_ALWAYS_EAGER = True  # run the re-enqueued send in-process
    httpserver.expect_request("/replies").respond_with_json({"id": "peer-7"}, status=201)
    account = sandbox_account(municipality, delivery_url=httpserver.url_for("/replies"))
    account.sunset_reply_nl = "We werken niet meer via dit kanaal."
    account.save(update_fields=["sunset_reply_nl"])
    channel_account_set_enabled(account=account, enabled=False)
    lost = SunsetContact.objects.create(municipality=municipality, channel_account=account, identity_kind="visitor",
                                        identity_value=new_resident_id(), provider_message_id="s-1",
                                        reply_status="queued")
    recent = SunsetContact.objects.create(municipality=municipality, channel_account=account, identity_kind="visitor",
                                          identity_value=new_resident_id(), provider_message_id="s-2",
                                          reply_status="queued")
    SunsetContact.objects.filter(pk=lost.pk).update(received_at=timezone.now() - timedelta(hours=3))

    assert requeue_stalled_replies.apply().get() == 1  # the recent one may still be waiting for its retry
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert (lost.reply_status, recent.reply_status) == ("sent", "queued")
    assert len(httpserver.log) == 1
    assert requeue_stalled_replies.apply().get() == 0
