"""/settings/sunset/: who still writes to the municipality's switched-off channels (inside the "settings" namespace)."""
from django.urls import URLPattern, path

from omnidesk.sunset import views

urlpatterns: list[URLPattern] = [
    path("", views.sunset_contact_list, name="sunset-contacts"),
    path("export.csv", views.sunset_contact_export, name="sunset-export"),
]
