"""Reads: a member's notifications and follows, always within one municipality."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.urls import reverse

from omnidesk.notifications.models import Notification, NotificationKind, TicketFollower
from omnidesk.tickets.models import Ticket
from omnidesk.tickets.presenters import user_name

LATEST = 30
EXCERPT_LENGTH = 140


def notifications_of(user: AbstractBaseUser, municipality_id: int) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user, municipality_id=municipality_id)


def latest_notifications(user: AbstractBaseUser, municipality_id: int, limit: int = LATEST) -> list[Notification]:
    return list(notifications_of(user, municipality_id).select_related("ticket", "message", "actor")
                .order_by("-created_at", "-id")[:limit])


def unread_count(user: AbstractBaseUser, municipality_id: int) -> int:
    return notifications_of(user, municipality_id).filter(read_at__isnull=True).count()


def is_following(ticket: Ticket, user: AbstractBaseUser) -> bool:
    return TicketFollower.objects.filter(ticket=ticket, user=user).exists()


def excerpt(text: str) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= EXCERPT_LENGTH else flat[: EXCERPT_LENGTH - 1] + "…"


def notification_data(notification: Notification) -> dict[str, Any]:
    """Plain data for the bell's list and the realtime frame (JSON- and msgpack-safe: no datetimes)."""
    ticket = notification.ticket
    message = notification.message
    # A note's own words; for an inbound message also its subject or files (the ticket's preview names them).
    text = (message.text or message.subject) if message is not None else ticket.preview
    if not text and notification.kind == NotificationKind.MESSAGE:
        text = ticket.preview
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "ticket_id": ticket.pk,
        "ticket_number": ticket.number,
        "url": reverse("dashboard:ticket", kwargs={"number": ticket.number}),
        "text": excerpt(text),
        "actor_name": user_name(notification.actor),
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }
