"""Websocket routes: the dashboard's, and each plugin's own under ws/channels/<key>/."""
from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from channels.routing import URLRouter

from omnidesk.plugin_api.registry import get_registry
from omnidesk.realtime.consumers import DashboardConsumer


def _plugin_routes() -> list[URLPattern | URLResolver]:
    routes: list[URLPattern | URLResolver] = []
    for key, adapter in get_registry().adapters.items():
        patterns = adapter.websocket_urlpatterns()
        if patterns:
            routes.append(path(f"ws/channels/{key}/", URLRouter(patterns)))
    return routes


websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/dashboard/<int:municipality_id>/", DashboardConsumer.as_asgi()),
    *_plugin_routes(),
]
