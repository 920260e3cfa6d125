"""Writes: follows and notifications. Each new notification is pushed, after commit, to its recipient only.

Called from tickets.services (note_create, ticket_assign, message_receive, reply_create) inside their
transactions, so a rolled-back note notifies nobody; and from channel_accounts.services.channel_account_flag.
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.notifications.mentions import mentioned_users
from omnidesk.notifications.models import Notification, NotificationKind, TicketFollower
from omnidesk.notifications.selectors import notification_data
from omnidesk.tenants.models import Membership, Municipality, Role
from omnidesk.tickets.models import Direction, Kind, Message, Ticket

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """A user's own channel-layer group; realtime.consumers.DashboardConsumer joins it (same name there)."""
    return f"user-{user_id}"


# --- follows -----------------------------------------------------------------------------------------
def follow(ticket: Ticket, user: AbstractBaseUser) -> bool:
    """Follow the ticket; True when this started following. Repeats (and races) change nothing."""
    _, created = TicketFollower.objects.get_or_create(ticket=ticket, user=user)
    return created


def unfollow(ticket: Ticket, user: AbstractBaseUser) -> bool:
    deleted, _ = TicketFollower.objects.filter(ticket=ticket, user=user).delete()
    return deleted > 0


def notify_reply_author_follows(message: Message) -> None:
    """Whoever replies to a resident hears about the answer, even when the ticket is someone else's."""
    if message.author_user_id is not None:
        follow(message.ticket, message.author_user)


# --- notifications -----------------------------------------------------------------------------------
def _members(municipality_id: int, user_ids: Iterable[int]) -> list[int]:
    """Only current members: someone who left the municipality keeps no window into its tickets."""
    wanted = set(user_ids)
    if not wanted:
        return []
    return sorted(Membership.objects.filter(municipality_id=municipality_id, user_id__in=wanted)
                  .values_list("user_id", flat=True))


def _push(user_id: int, municipality_id: int, data: dict[str, Any]) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(
            user_group(user_id), {"type": "notification.push", "municipality_id": municipality_id, "data": data})
    except Exception:  # the notification is stored; the bell's list shows it on the next load
        logger.exception("notification push failed", extra={"notification_id": data["id"]})


def _notify(*, ticket: Ticket, recipient_ids: Iterable[int], kind: NotificationKind, message: Message | None = None,
            actor: AbstractBaseUser | None = None) -> list[Notification]:
    """Store one notification per recipient (already vetted as members) and push each after commit."""
    notifications = Notification.objects.bulk_create([
        Notification(municipality_id=ticket.municipality_id, recipient_id=user_id, ticket=ticket, message=message,
                     kind=kind, actor=actor)
        for user_id in dict.fromkeys(recipient_ids)
    ])
    for notification in notifications:
        data = notification_data(notification)
        transaction.on_commit(partial(_push, notification.recipient_id, ticket.municipality_id, data))
    return notifications


def notify_note(message: Message) -> list[Notification]:
    """An internal note's @mentions: each colleague mentioned is notified and follows the ticket from now on."""
    if message.kind != Kind.NOTE:
        return []
    ticket = message.ticket
    mentioned = [u for u in mentioned_users(message.text, ticket.municipality_id) if u.pk != message.author_user_id]
    for user in mentioned:
        follow(ticket, user)
    return _notify(ticket=ticket, recipient_ids=[u.pk for u in mentioned], kind=NotificationKind.MENTION,
                   message=message, actor=message.author_user)


def notify_assigned(ticket: Ticket, assignee: AbstractBaseUser | None, actor: AbstractBaseUser | None) -> list[Notification]:
    """The new assignee hears of it, unless they took the ticket themselves. `actor` None is the system."""
    if assignee is None or (actor is not None and actor.pk == assignee.pk):
        return []
    return _notify(ticket=ticket, recipient_ids=_members(ticket.municipality_id, [assignee.pk]),
                   kind=NotificationKind.ASSIGNED, actor=actor)


def notify_inbound(message: Message) -> list[Notification]:
    return notify_inbound_many([message])


def notify_inbound_many(messages: Sequence[Message]) -> list[Notification]:
    """Residents wrote: each ticket's assignee and followers hear of it (one query for all tickets' followers)."""
    messages = [m for m in messages if m.kind == Kind.MESSAGE and m.direction == Direction.INBOUND]
    if not messages:
        return []
    followers: dict[int, list[int]] = {}
    for ticket_id, user_id in TicketFollower.objects.filter(
            ticket_id__in={m.ticket_id for m in messages}).values_list("ticket_id", "user_id"):
        followers.setdefault(ticket_id, []).append(user_id)
    notifications: list[Notification] = []
    for message in messages:
        ticket = message.ticket
        candidates = followers.get(ticket.pk, []) + ([ticket.assignee_id] if ticket.assignee_id is not None else [])
        if candidates:
            notifications += _notify(ticket=ticket, recipient_ids=_members(ticket.municipality_id, candidates),
                                     kind=NotificationKind.MESSAGE, message=message)
    return notifications


def notify_channel_problem(account: ChannelAccount) -> list[Notification]:
    """A channel account was flagged (expired token, unreachable mailbox): the municipality's admins hear of it.

    An admin who has not yet read the notice about this account gets no second one: a flag that is set again
    on every failed poll must not flood the bell.
    """
    with transaction.atomic():
        # Two flags of one account at once (a poll and a send) wait for each other here, so each admin gets one.
        list(ChannelAccount.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True))
        unread = Notification.objects.filter(kind=NotificationKind.CHANNEL_PROBLEM, channel_account=account,
                                             read_at__isnull=True).values("recipient_id")
        admin_ids = (Membership.objects.filter(municipality_id=account.municipality_id, role=Role.ADMIN,
                                               user__is_active=True)
                     .exclude(user_id__in=unread).order_by("user_id").values_list("user_id", flat=True))
        notifications = Notification.objects.bulk_create([
            Notification(municipality_id=account.municipality_id, recipient_id=user_id, channel_account=account,
                         kind=NotificationKind.CHANNEL_PROBLEM)
            for user_id in admin_ids
        ])
        for notification in notifications:
            transaction.on_commit(partial(_push, notification.recipient_id, account.municipality_id,
                                          notification_data(notification)))
    return notifications


def mark_read(*, user: AbstractBaseUser, municipality: Municipality, ids: Collection[int] | None = None) -> int:
    """Mark the user's unread notifications in this municipality as read: those with `ids`, or all for None."""
    unread = Notification.objects.filter(recipient=user, municipality=municipality, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
