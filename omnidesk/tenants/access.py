"""Who may act for which municipality. Every tenant-owned read and write starts from `get_membership`."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from omnidesk.tenants.models import Membership, Role
from omnidesk.tenants.selectors import memberships_of

SESSION_KEY = "omnidesk_municipality_id"
_CACHE_ATTR = "_omnidesk_membership"
ROLE_RANK = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


def get_membership(request: HttpRequest) -> Membership | None:
    """The membership the user works under in this request: the one chosen in the session, else the first."""
    if not hasattr(request, _CACHE_ATTR):
        memberships = memberships_of(request.user)
        wanted = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        chosen = next((m for m in memberships if m.municipality_id == wanted), memberships[0] if memberships else None)
        setattr(request, _CACHE_ATTR, chosen)
    return getattr(request, _CACHE_ATTR)


def switch_municipality(request: HttpRequest, municipality_id: int) -> bool:
    if any(m.municipality_id == municipality_id for m in memberships_of(request.user)):
        request.session[SESSION_KEY] = municipality_id
        if hasattr(request, _CACHE_ATTR):
            delattr(request, _CACHE_ATTR)
        return True
    return False


def has_role(membership: Membership, minimum: Role) -> bool:
    return ROLE_RANK[Role(membership.role)] >= ROLE_RANK[minimum]


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log-in required, and a membership; the view gets it as `request.membership`."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = get_membership(request)
        if membership is None:
            raise PermissionDenied("You are not a member of any municipality.")
        request.membership = membership  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def role_required(minimum: Role) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Like member_required, and the membership's role must be at least `minimum` (403 otherwise)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @member_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if ROLE_RANK[Role(request.membership.role)] < ROLE_RANK[minimum]:  # type: ignore[attr-defined]
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
