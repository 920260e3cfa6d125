"""The settings start page: what the municipality offers now, and where to change it."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from omnidesk.channel_accounts.selectors import accounts_of, plugin_info
from omnidesk.tenants.access import role_required
from omnidesk.tenants.models import Role


@role_required(Role.ADMIN)
def overview(request: HttpRequest) -> HttpResponse:
    municipality = request.membership.municipality  # type: ignore[attr-defined]
    accounts = [(account, plugin_info(account.plugin_key)) for account in accounts_of(municipality).order_by("name")]
    return render(request, "administration/overview.html", {"municipality": municipality, "accounts": accounts})
