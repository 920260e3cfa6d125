"""Retention: old finished tickets go with everything in them; open, recent and other municipalities' ones stay."""
from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from omnidesk.audit.models import AuditEntry
from omnidesk.contacts.models import Contact, ContactIdentity, OptOut
from omnidesk.contacts.services import consent_record
from omnidesk.notifications.models import Notification, NotificationKind, TicketFollower
from omnidesk.plugin_api import DeliveryStatus as DS
from omnidesk.plugin_api import StatusUpdate
from omnidesk.plugin_api.events import InboundAttachment
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Attachment, DeliveryEvent, Message, Status, Ticket
from omnidesk.tickets.retention import expired_tickets, retention_apply, retention_count
from omnidesk.tickets.services import (
    delivery_status_record,
    message_receive,
    outbound_mark_sent,
    reply_create,
    ticket_set_status,
)
from omnidesk.tickets.tasks import apply_retention
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import MunicipalityFactory, sandbox_account

DAY = timedelta(days=1)


@pytest.fixture
def keep_90_days(municipality):  # type: ignore[no-untyped-def]
    Municipality.objects.filter(pk=municipality.pk).update(retention_days=90)
    municipality.refresh_from_db()
    return municipality


def ticket_from(account, resident: str | None = None, text: str = "Vraag") -> Ticket:  # type: ignore[no-untyped-def]
    """A resident writes in through the webhook; returns the ticket the message landed on."""
    response = post_sandbox(Client(), account, {"id": uuid.uuid4().hex, "text": text}, resident or new_resident_id())
    assert response.status_code == 200, response.content
    return Message.objects.filter(channel_account=account).latest("id").ticket


def age(ticket: Ticket, *, status: Status | None, days: int, actor=None) -> Ticket:  # type: ignore[no-untyped-def]
    """Finish the ticket (if `status`) and make its last activity `days` old."""
    if status is not None:
        ticket_set_status(ticket=ticket, status=status, actor=actor)
    Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=timezone.now() - days * DAY)
    return ticket


def exists(ticket: Ticket) -> bool:
    return Ticket.objects.filter(pk=ticket.pk).exists()


def test_only_old_finished_tickets_are_deleted(keep_90_days, account, agent):
    resolved = age(ticket_from(account), status=Status.RESOLVED, days=91, actor=agent)
    closed = age(ticket_from(account), status=Status.CLOSED, days=400, actor=agent)
    recent = age(ticket_from(account), status=Status.RESOLVED, days=89, actor=agent)
    old_open = age(ticket_from(account), status=None, days=500)
    old_pending = age(ticket_from(account), status=Status.PENDING, days=500, actor=agent)
    elsewhere = MunicipalityFactory(retention_days=90)
    other = age(ticket_from(sandbox_account(elsewhere)), status=Status.CLOSED, days=400, actor=agent)
    assert retention_count(keep_90_days) == 2
    assert retention_apply(municipality=keep_90_days) == 2
    assert not exists(resolved) and not exists(closed)
    assert all(exists(t) for t in (recent, old_open, old_pending, other))
    assert not Message.objects.filter(ticket_id__in=[resolved.pk, closed.pk]).exists()


def test_nothing_is_deleted_without_a_retention_period(municipality, account, agent):
    ticket = age(ticket_from(account), status=Status.CLOSED, days=5000, actor=agent)
    assert retention_count(municipality) == 0 and expired_tickets(municipality).count() == 0
    assert retention_apply(municipality=municipality) == 0
    assert exists(ticket) and not AuditEntry.objects.filter(action="retention.applied").exists()


def test_everything_in_a_ticket_goes_with_it(keep_90_days, account, agent, django_capture_on_commit_callbacks):
    ticket = ticket_from(account)
    message_receive(account=account, contact=ticket.contact, identity=ticket.identity, provider_message_id="photo-1",
                    text="Hierbij de foto", attachments=(InboundAttachment("foto.jpg", "image/jpeg", b"\xff\xd8jpeg"),))
    attachment = Attachment.objects.get(message__ticket=ticket)
    stored = Path(settings.MEDIA_ROOT) / attachment.file.name
    assert stored.read_bytes() == b"\xff\xd8jpeg"
    reply = reply_create(ticket=ticket, author=agent, text="Dank u wel")
    outbound_mark_sent(message=reply, provider_message_id="sent-1", status="sent")
    delivery_status_record(account=account, update=StatusUpdate(provider_message_id="sent-1", status=DS.DELIVERED,
                                                                occurred_at=timezone.now()))
    # A report that never met its message (it arrived for a provider id we stored only on the message).
    DeliveryEvent.objects.create(municipality=keep_90_days, channel_account=account, provider_message_id="sent-1",
                                 status=DS.READ.value, occurred_at=timezone.now())
    assert TicketFollower.objects.filter(ticket=ticket, user=agent).exists()  # who replies follows
    Notification.objects.create(municipality=keep_90_days, recipient=agent, ticket=ticket, kind=NotificationKind.MESSAGE,
                                message=ticket.messages.first())
    assert DeliveryEvent.objects.filter(message=reply).exists()
    age(ticket, status=Status.RESOLVED, days=100, actor=agent)

    with django_capture_on_commit_callbacks(execute=True):
        assert retention_apply(municipality=keep_90_days) == 1
    assert not stored.exists()  # the file itself, not only its row
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert not Message.objects.filter(ticket_id=ticket.pk).exists()
    assert not DeliveryEvent.objects.filter(provider_message_id="sent-1").exists()
    assert not TicketFollower.objects.filter(ticket_id=ticket.pk).exists()
    assert not Notification.objects.filter(ticket_id=ticket.pk).exists()
    # The resident had no other ticket: their contact and address go too.
    assert not Contact.objects.filter(pk=ticket.contact_id).exists()
    assert not ContactIdentity.objects.filter(pk=ticket.identity_id).exists()


def test_a_rolled_back_purge_keeps_the_files(keep_90_days, account, agent, django_capture_on_commit_callbacks):
    from django.db import transaction

    ticket = ticket_from(account)
    message_receive(account=account, contact=ticket.contact, identity=ticket.identity, provider_message_id="doc",
                    text="", attachments=(InboundAttachment("brief.pdf", "application/pdf", b"%PDF-1.4"),))
    stored = Path(settings.MEDIA_ROOT) / Attachment.objects.get(message__ticket=ticket).file.name
    age(ticket, status=Status.CLOSED, days=100, actor=agent)

    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Abort):
        with transaction.atomic():
            retention_apply(municipality=keep_90_days)
            raise Abort
    assert exists(ticket) and stored.exists()


def test_a_resident_with_another_ticket_is_kept(keep_90_days, account, agent):
    resident = new_resident_id()
    old = age(ticket_from(account, resident), status=Status.CLOSED, days=200, actor=agent)
    current = ticket_from(account, resident, "Nieuwe vraag")  # the old one is closed: a new ticket
    assert current.pk != old.pk and current.contact_id == old.contact_id
    assert retention_apply(municipality=keep_90_days) == 1
    assert not exists(old) and exists(current)
    assert Contact.objects.filter(pk=old.contact_id).exists()
    assert ContactIdentity.objects.filter(pk=old.identity_id).exists()


def test_an_opt_out_keeps_the_residents_address(keep_90_days, account, agent):
    ticket = age(ticket_from(account), status=Status.CLOSED, days=200, actor=agent)
    consent_record(channel_account=account, identity=ticket.identity, opted_out=True, keyword="STOP",
                   at=timezone.now())
    assert retention_apply(municipality=keep_90_days) == 1
    assert not exists(ticket)
    # Their "STOP" still holds: the address and its opt-out stay, without any conversation.
    assert OptOut.objects.filter(identity_id=ticket.identity_id).exists()
    assert Contact.objects.filter(pk=ticket.contact_id).exists()


def test_a_follow_up_ticket_loses_only_its_link(keep_90_days, account, agent):
    old = age(ticket_from(account), status=Status.CLOSED, days=200, actor=agent)
    follow_up = ticket_from(account)
    Ticket.objects.filter(pk=follow_up.pk).update(related_ticket=old)
    assert retention_apply(municipality=keep_90_days) == 1
    follow_up.refresh_from_db()
    assert follow_up.related_ticket is None


def test_large_purges_run_in_batches_and_are_audited_once(keep_90_days, account, agent):
    tickets = [age(ticket_from(account), status=Status.RESOLVED, days=120, actor=agent) for _ in range(7)]
    assert retention_apply(municipality=keep_90_days, batch_size=3) == 7
    assert not Ticket.objects.filter(pk__in=[t.pk for t in tickets]).exists()
    entry = AuditEntry.objects.get(action="retention.applied")
    assert entry.actor is None and entry.municipality == keep_90_days
    assert entry.changes["tickets_deleted"] == [None, 7] and entry.changes["contacts_deleted"] == [None, 7]


def test_retention_is_idempotent(keep_90_days, account, agent):
    age(ticket_from(account), status=Status.RESOLVED, days=120, actor=agent)
    kept = age(ticket_from(account), status=Status.RESOLVED, days=10, actor=agent)
    assert retention_apply(municipality=keep_90_days) == 1
    assert retention_apply(municipality=keep_90_days) == 0
    assert exists(kept)
    assert AuditEntry.objects.filter(action="retention.applied").count() == 1  # nothing deleted: no entry


def test_the_beat_task_applies_each_municipalitys_own_period(account, municipality, agent):
    assert apply_retention.name == "omnidesk.tickets.tasks.apply_retention"
    Municipality.objects.filter(pk=municipality.pk).update(retention_days=30)
    strict = age(ticket_from(account), status=Status.CLOSED, days=40, actor=agent)
    lenient_town = MunicipalityFactory(retention_days=365)
    lenient = age(ticket_from(sandbox_account(lenient_town)), status=Status.CLOSED, days=40, actor=agent)
    forever_town = MunicipalityFactory()
    forever = age(ticket_from(sandbox_account(forever_town)), status=Status.CLOSED, days=4000, actor=agent)
    assert apply_retention() == 1
    assert not exists(strict) and exists(lenient) and exists(forever)
    assert AuditEntry.objects.filter(action="retention.applied").get().municipality_id == municipality.pk


def test_the_task_is_scheduled_hourly():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values()
                 if e["task"] == "omnidesk.tickets.tasks.apply_retention")
    assert entry["schedule"] == 3600.0


def test_a_period_below_the_minimum_counts_as_the_minimum(municipality, account, agent):
    Municipality.objects.filter(pk=municipality.pk).update(retention_days=1)  # e.g. through the Django admin
    municipality.refresh_from_db()
    young = age(ticket_from(account), status=Status.CLOSED, days=20, actor=agent)
    old = age(ticket_from(account), status=Status.CLOSED, days=31, actor=agent)
    assert retention_apply(municipality=municipality) == 1
    assert exists(young) and not exists(old)


def test_a_ticket_another_transaction_holds_is_skipped_not_waited_for(transactional_db):
    """A message arriving for an old ticket locks it; retention passes it by instead of blocking the inbox."""
    import threading

    from django.db import connection, transaction

    town = MunicipalityFactory(retention_days=30)
    account = sandbox_account(town)
    held = age(ticket_from(account), status=Status.CLOSED, days=60)
    free = age(ticket_from(account), status=Status.CLOSED, days=60)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        assert retention_apply(municipality=town) == 1  # returns at once: no waiting for the lock
        assert exists(held) and not exists(free)
    finally:
        release.set()
        holder.join(timeout=30)
    assert retention_apply(municipality=town) == 1  # the next run takes it
    assert not exists(held)
