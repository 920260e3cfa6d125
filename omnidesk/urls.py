"""Root URLs. Plugin pages are mounted under /channels/<plugin key>/ from the registry."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from omnidesk.ops.views import channel_plugins, healthz
from omnidesk.plugin_api.registry import get_registry
from omnidesk.dashboard.views import signed_file
from omnidesk.realtime.views import catch_up


def _plugin_urls() -> list[URLPattern | URLResolver]:
    return [
        path(f"channels/{key}/", include(adapter.urlpatterns()))
        for key, adapter in get_registry().adapters.items()
        if adapter.urlpatterns()
    ]


urlpatterns = [
    path("webhooks/", include("omnidesk.inbound.urls")),  # first: the busiest path, resolved without trying the rest
    path("", include("omnidesk.dashboard.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("events/", catch_up, name="events"),
    path("responses/", include("omnidesk.responses.urls")),
    path("notifications/", include("omnidesk.notifications.urls")),
    path("audit/", include("omnidesk.audit.urls")),
    path("settings/", include("omnidesk.administration.urls")),
    path("invitations/", include("omnidesk.administration.people.invitation_urls")),
    path("reports/", include("omnidesk.reports.urls")),
    path("files/<str:token>/", signed_file, name="signed-file"),
    path("api/v1/", include("omnidesk.api.urls")),
    path("admin/channel-plugins/", channel_plugins, name="channel-plugins"),
    path("admin/", admin.site.urls),
    *_plugin_urls(),
]
