from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from omnidesk.tenants.access import get_membership


class IsMunicipalityMember(BasePermission):
    """Authenticated and a member of a municipality; views then scope every query by it."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        membership = get_membership(request._request)
        request.membership = membership  # type: ignore[attr-defined]
        return membership is not None
