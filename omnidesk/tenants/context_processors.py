from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from omnidesk.tenants.access import get_membership
from omnidesk.tenants.selectors import memberships_of


def current_municipality(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"current_membership": get_membership(request), "all_memberships": memberships_of(request.user)}
