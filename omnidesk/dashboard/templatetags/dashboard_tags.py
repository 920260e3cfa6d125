from __future__ import annotations

from typing import Any

from django import template

from omnidesk.dashboard.i18n import describe_event as _describe
from omnidesk.tickets.presenters import user_name

register = template.Library()


@register.filter
def describe_event(metadata: dict[str, Any]) -> str:
    return _describe(metadata)


@register.filter
def person(user: Any) -> str:
    """A colleague's display name (full name, else username); empty for nobody."""
    return user_name(user)
