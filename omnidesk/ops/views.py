from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from omnidesk.ops.health import run_checks
from omnidesk.plugin_api.adapter import API_VERSION
from omnidesk.plugin_api.registry import get_registry


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, checks = run_checks()
    return JsonResponse({"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503)


@staff_member_required
def channel_plugins(request: HttpRequest) -> HttpResponse:
    """Platform staff: which channel plugins loaded, and which were refused and why."""
    registry = get_registry()
    plugins = [
        {"key": key, "name": adapter.verbose_name, "api_version": adapter.api_version, "module": type(adapter).__module__,
         "capabilities": adapter.capabilities}
        for key, adapter in sorted(registry.adapters.items())
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("Channel plugins"),
        "plugins": plugins,
        "refused": sorted(registry.problems.items()),
        "api_version": API_VERSION,
    }
    return render(request, "admin/channel_plugins.html", context)
