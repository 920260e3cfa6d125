"""/settings/: a municipality admin's pages, one package per area. Every view is wrapped in role_required(ADMIN)."""
from django.urls import include, path

from omnidesk.administration import overview

app_name = "settings"
urlpatterns = [
    path("", overview.overview, name="overview"),
    path("channels/", include("omnidesk.administration.channels.urls")),
    path("people/", include("omnidesk.administration.people.urls")),
    path("hours/", include("omnidesk.administration.availability.urls")),
    path("workflow/", include("omnidesk.administration.workflow.urls")),
    path("sunset/", include("omnidesk.sunset.urls")),
]
