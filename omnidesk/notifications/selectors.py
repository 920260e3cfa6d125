"""Reads: a member's notifications and follows, always within one municipality."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from omnidesk.channel_accounts.models import ChannelAccount

from omnidesk.notifications.models import Notification, NotificationKind, TicketFollower
from omnidesk.tickets.models import Ticket
from omnidesk.tickets.presenters import user_name

LATEST = 30
EXCERPT_LENGTH = 140


def notifications_of(user: AbstractBaseUser, municipality_id: int) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user, municipality_id=municipality_id)


def latest_notifications(user: AbstractBaseUser, municipality_id: int, limit: int = LATEST) -> list[Notification]:
    return list(notifications_of(user, municipality_id).select_related("ticket", "message", "actor", "channel_account")
                .order_by("-created_at", "-id")[:limit])


def unread_count(user: AbstractBaseUser, municipality_id: int) -> int:
    return notifications_of(user, municipality_id).filter(read_at__isnull=True).count()


def is_following(ticket: Ticket, user: AbstractBaseUser) -> bool:
    return TicketFollower.objects.filter(ticket=ticket, user=user).exists()


def excerpt(text: str) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= EXCERPT_LENGTH else flat[: EXCERPT_LENGTH - 1] + "…"


def channel_settings_url(account: ChannelAccount | None) -> str:
    """Where an admin fixes the account: its settings page, else the channel list, else the inbox."""
    candidates: list[tuple[str, dict[str, Any]]] = [("settings:channels", {}), ("dashboard:inbox", {})]
    if account is not None:
        candidates.insert(0, ("settings:channel-edit", {"pk": account.pk}))
    for name, kwargs in candidates:
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return "/"


def notification_data(notification: Notification) -> dict[str, Any]:
    """Plain data for the bell's list and the realtime frame (JSON- and msgpack-safe: no datetimes).

    A ticket's notification names the ticket; a channel problem (no ticket) names the account and its problem.
    """
    common = {
        "id": notification.pk,
        "kind": notification.kind,
        "actor_name": user_name(notification.actor),
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }
    ticket = notification.ticket
    if ticket is None:
        account = notification.channel_account
        return {
            **common,
            "ticket_id": None,
            "ticket_number": None,
            "account_id": account.pk if account is not None else None,
            "account_name": account.name if account is not None else "",
            "url": channel_settings_url(account),
            # The problem as it stands now: empty once the account works again.
            "text": excerpt(account.problem if account is not None else ""),
        }
    message = notification.message
    # A note's own words; for an inbound message also its subject or files (the ticket's preview names them).
    text = (message.text or message.subject) if message is not None else ticket.preview
    if not text and notification.kind == NotificationKind.MESSAGE:
        text = ticket.preview
    return {
        **common,
        "ticket_id": ticket.pk,
        "ticket_number": ticket.number,
        "account_id": None,
        "account_name": "",
        "url": reverse("dashboard:ticket", kwargs={"number": ticket.number}),
        "text": excerpt(text),
    }
