from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from omnidesk.tenants.access import get_membership, has_role
from omnidesk.tenants.models import Role
from omnidesk.tenants.selectors import memberships_of


def current_municipality(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = get_membership(request)
    return {
        "current_membership": membership,
        "all_memberships": memberships_of(request.user),
        # For navigation only; every view checks the role itself.
        "can_see_reports": bool(membership and has_role(membership, Role.SUPERVISOR)),
        "can_change_settings": bool(membership and has_role(membership, Role.ADMIN)),
    }
