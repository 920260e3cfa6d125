from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from omnidesk.dashboard.i18n import describe_event as _describe
from omnidesk.tickets.failures import failure_reason as _failure_reason
from omnidesk.tickets.presenters import user_name

register = template.Library()


@register.filter
def describe_event(metadata: dict[str, Any]) -> str:
    return _describe(metadata)


@register.filter
def when(value: Any) -> str:
    """A list timestamp: the time today, otherwise the day (a bare "14:31" from last week misleads)."""
    if not value:
        return ""
    local = timezone.localtime(value)
    return date_format(local, "H:i" if local.date() == timezone.localdate() else "j M")


IDENTITY_KINDS = {"phone": _("Phone"), "email": _("Email"), "visitor": _("Web visitor"), "user_id": _("User id")}


@register.filter
def identity_kind(kind: str) -> str:
    """How an agent reads an identity's kind (the stored value is a code)."""
    return str(IDENTITY_KINDS.get(kind, kind))


@register.filter
def person(user: Any) -> str:
    """A colleague's display name (full name, else username); empty for nobody."""
    return user_name(user)


@register.filter
def failure_reason(message: Any) -> str:
    """A failed reply's reason in the agent's language where core gave it, else the provider's own words."""
    return _failure_reason(message.error_code, message.error_message)
