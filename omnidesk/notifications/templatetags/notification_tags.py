"""Template state for the bell (_notifications.html) and the follow button (_follow.html)."""
from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from omnidesk.notifications.selectors import is_following, unread_count
from omnidesk.tenants.access import get_membership
from omnidesk.tickets.models import Ticket

register = template.Library()


def labels() -> dict[str, str]:
    """What the script writes itself, in the page's language (live notifications come without a request)."""
    return {
        "bell": _("Notifications (%(n)s unread)"),
        "mention": _("%(actor)s mentioned you in ticket #%(number)s"),
        "assigned": _("%(actor)s assigned ticket #%(number)s to you"),
        "assigned_system": _("Ticket #%(number)s was assigned to you"),
        "message": _("New message in ticket #%(number)s"),
        "channel_problem": _("Problem with channel %(account)s"),
        "unread": _("Unread"),
        "empty": _("No notifications yet."),
        "load_failed": _("The notifications could not be loaded."),
        "announce": _("New notification: %(text)s"),
        "desktop_unsupported": _("This browser cannot show desktop notifications."),
        "desktop_denied": _("Desktop notifications are blocked in this browser's settings for this site."),
    }


def count_text(unread: int) -> str:
    """The badge stays small; the button's name carries the exact number (as notifications.js does)."""
    return "99+" if unread > 99 else str(unread)


@register.simple_tag(takes_context=True)
def notification_config(context: template.Context) -> dict[str, Any]:
    """Urls, the unread count and the labels; empty outside a municipality (the bell then is not shown)."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {}
    membership = context.get("current_membership") or get_membership(request)
    if membership is None:
        return {}
    unread = unread_count(request.user, membership.municipality_id)
    texts = labels()
    return {
        "unread": unread,
        "bellLabel": texts["bell"] % {"n": unread},
        "countText": count_text(unread),
        "listUrl": reverse("notifications:list"),
        "readUrl": reverse("notifications:read"),
        "labels": texts,
    }


@register.simple_tag(takes_context=True)
def following(context: template.Context, ticket: Ticket) -> bool:
    request = context.get("request")
    return bool(request is not None and request.user.is_authenticated and is_following(ticket, request.user))
