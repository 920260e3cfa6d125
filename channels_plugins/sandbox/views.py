"""The resident simulator page and its history endpoint."""
from __future__ import annotations

import uuid

from django.core.signing import BadSignature
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from omnidesk.plugin_api import AccountContext, IdentityKind, IdentityRef
from omnidesk.plugin_api.host import account_for, conversation_history

from channels_plugins.sandbox.adapter import SandboxAdapter, VISITOR_PREFIX
from channels_plugins.sandbox.parsing import RESIDENT_ID
from channels_plugins.sandbox.signing import resident_token

COOKIE_SALT = "omnidesk.sandbox.resident"
COOKIE_MAX_AGE = 365 * 24 * 3600


def _cookie_name(public_id: str) -> str:
    return f"sandbox_resident_{public_id[:12]}"


def _account_or_404(public_id: str) -> AccountContext:
    account = account_for(public_id, SandboxAdapter.key)
    if account is None:
        raise Http404("No sandbox channel here.")
    return account


def _resident_id(request: HttpRequest, public_id: str) -> str | None:
    try:
        value = request.get_signed_cookie(_cookie_name(public_id), salt=COOKIE_SALT)
    except (KeyError, BadSignature):
        return None
    return value if RESIDENT_ID.match(value) else None


def resident_page(request: HttpRequest, public_id: str) -> HttpResponse:
    account = _account_or_404(public_id)
    resident_id = _resident_id(request, public_id) or uuid.uuid4().hex
    context = {
        "account_name": account.name,
        "welcome_text": account.config.get("welcome_text", ""),
        "sandbox_config": {
            "residentId": resident_id,
            "token": resident_token(account.config["signing_secret"], resident_id),
            "webhook": reverse("inbound:webhook", kwargs={"public_id": public_id}),
            "history": reverse("sandbox-history", kwargs={"public_id": public_id}),
            "socket": f"/ws/channels/{SandboxAdapter.key}/{public_id}/",
            "youLabel": _("You"),
            "failedLabel": _("Not sent; it will be retried."),
            "liveLabel": _("Connected"),
            "offlineLabel": _("Reconnecting…"),
        },
    }
    response = render(request, "sandbox/resident.html", context)
    response.set_signed_cookie(
        _cookie_name(public_id), resident_id, salt=COOKIE_SALT, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax"
    )
    return response


def history(request: HttpRequest, public_id: str) -> JsonResponse:
    account = _account_or_404(public_id)
    resident_id = _resident_id(request, public_id)
    if resident_id is None:
        return JsonResponse({"messages": []})
    items = conversation_history(account, IdentityRef(IdentityKind.VISITOR, VISITOR_PREFIX + resident_id))
    return JsonResponse(
        {
            "messages": [
                {"id": item.id, "direction": item.direction, "text": item.text, "author_name": item.author_name,
                 "created_at": item.created_at.isoformat()}
                for item in items
            ]
        }
    )
