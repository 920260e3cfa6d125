"""Retention: finished tickets older than the municipality's retention period are deleted, with everything in them.

A ticket goes when it is resolved or closed and its last activity is older than `Municipality.retention_days`;
with it go its messages, attachments (the stored files too), delivery reports, followers and notifications. Then
residents who have no ticket left go, with their addresses, unless an address still carries an opt-out: a resident's
"STOP" must keep working, so that address (and its contact) is kept, without any conversation.

Deletion runs in batches, each in its own short transaction, and skips tickets another transaction holds (a message
arriving for it right now): a large first purge never blocks the inbox, and the next run picks up what was skipped.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, ProtectedError, QuerySet
from django.utils import timezone

from omnidesk.audit.services import audit_record
from omnidesk.contacts.models import Contact, ContactIdentity, OptOut
from omnidesk.notifications.models import Notification, TicketFollower
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Attachment, DeliveryEvent, Message, Status, Ticket

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
FINISHED = (Status.RESOLVED, Status.CLOSED)
MINIMUM_DAYS = 30  # the settings page refuses less, so a typo cannot wipe recent work


# --- reads ---------------------------------------------------------------------------------------------------------
def expired_tickets(municipality: Municipality, *, now: datetime | None = None,
                    days: int | None = None) -> QuerySet[Ticket]:
    """The tickets a retention of `days` (default: the municipality's setting) would delete now; none without one.

    A period below the minimum (possible through the Django admin) counts as the minimum.
    """
    days = municipality.retention_days if days is None else days
    if not days:
        return Ticket.objects.none()
    days = max(days, MINIMUM_DAYS)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return Ticket.objects.filter(municipality=municipality, status__in=FINISHED, last_activity_at__lt=cutoff)


def retention_count(municipality: Municipality, *, now: datetime | None = None, days: int | None = None) -> int:
    return expired_tickets(municipality, now=now, days=days).count()


def orphaned_contacts(municipality: Municipality, contact_ids: list[int]) -> QuerySet[Contact]:
    """Of these contacts, those with no ticket left, none of whose addresses a ticket uses or an opt-out keeps."""
    identity_in_use = ContactIdentity.objects.filter(contact=OuterRef("pk")).filter(
        Exists(Ticket.objects.filter(identity=OuterRef("pk"))) | Exists(OptOut.objects.filter(identity=OuterRef("pk")))
    )
    return (Contact.objects.filter(municipality=municipality, pk__in=contact_ids)
            .exclude(Exists(Ticket.objects.filter(contact=OuterRef("pk")))).exclude(Exists(identity_in_use)))


# --- writes --------------------------------------------------------------------------------------------------------
def _delete_files(names: list[str]) -> None:
    storage = Attachment._meta.get_field("file").storage  # type: ignore[attr-defined]
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            # The rows are gone already; a file left behind is logged (by name only) for an operator to remove.
            logger.exception("retention: could not delete stored file %s", name)


def _delete_ticket_batch(municipality: Municipality, now: datetime, batch_size: int) -> tuple[int, set[int]]:
    """Delete up to `batch_size` expired tickets; returns how many, and whose contacts they were."""
    with transaction.atomic():
        rows = list(expired_tickets(municipality, now=now).select_for_update(skip_locked=True)
                    .order_by("pk").values_list("pk", "contact_id")[:batch_size])
        if not rows:
            return 0, set()
        ids = [pk for pk, _contact in rows]
        messages = Message.objects.filter(ticket_id__in=ids)
        files = list(Attachment.objects.filter(message__in=messages).exclude(file="").values_list("file", flat=True))
        # Children first, each a single DELETE, so the ORM never loads thousands of messages to cascade.
        Attachment.objects.filter(message__in=messages).delete()
        # Reports never tied to their message (it was not sent yet) still name it by its provider id.
        DeliveryEvent.objects.filter(municipality=municipality, message__isnull=True, provider_message_id__in=(
            messages.exclude(provider_message_id="").values("provider_message_id"))).delete()
        DeliveryEvent.objects.filter(message__in=messages).delete()
        Notification.objects.filter(ticket_id__in=ids).delete()
        Notification.objects.filter(message__in=messages).delete()
        TicketFollower.objects.filter(ticket_id__in=ids).delete()
        Message.objects.filter(ticket_id__in=ids).only("pk").delete()
        Ticket.objects.filter(pk__in=ids).delete()
        # Files only once the rows are surely gone: a rolled-back batch keeps both.
        transaction.on_commit(lambda: _delete_files(files))
        return len(ids), {contact for _pk, contact in rows}


def _delete_orphaned_contacts(municipality: Municipality, contact_ids: list[int], batch_size: int) -> int:
    removed = 0
    for start in range(0, len(contact_ids), batch_size):
        try:
            with transaction.atomic():
                # Locked, skipping any a transaction holds: a resident writing in right now keeps their contact.
                ids = list(orphaned_contacts(municipality, contact_ids[start:start + batch_size])
                           .select_for_update(skip_locked=True).values_list("pk", flat=True))
                ContactIdentity.objects.filter(contact_id__in=ids).delete()
                Contact.objects.filter(pk__in=ids).delete()
        except (ProtectedError, IntegrityError):
            # A resident of this batch wrote in between the check and the delete (rare): the batch is kept.
            logger.warning("retention: contacts kept, a new ticket arrived meanwhile",
                           extra={"municipality_id": municipality.pk})
            continue
        removed += len(ids)
    return removed


def retention_apply(*, municipality: Municipality, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete the municipality's expired tickets (see the module's docstring); returns how many tickets went."""
    if not municipality.retention_days:
        return 0
    now = now or timezone.now()
    tickets, contact_ids = 0, set()
    while True:
        deleted, contacts_of_batch = _delete_ticket_batch(municipality, now, batch_size)
        tickets += deleted
        contact_ids |= contacts_of_batch
        if deleted < batch_size:
            break
    contacts = _delete_orphaned_contacts(municipality, sorted(contact_ids), batch_size)
    if tickets:
        audit_record(municipality=municipality, actor=None, action="retention.applied", target=municipality,
                     changes={"tickets_deleted": [None, tickets], "contacts_deleted": [None, contacts],
                              "retention_days": [None, municipality.retention_days]})
        logger.info("retention: %s tickets and %s contacts deleted", tickets, contacts,
                    extra={"municipality_id": municipality.pk})
    return tickets
