from __future__ import annotations

from typing import Any

from django import template

from omnidesk.dashboard.i18n import describe_event as _describe

register = template.Library()


@register.filter
def describe_event(metadata: dict[str, Any]) -> str:
    return _describe(metadata)
