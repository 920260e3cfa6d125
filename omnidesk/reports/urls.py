from django.urls import URLPattern, path

from omnidesk.reports import views

app_name = "reports"
urlpatterns: list[URLPattern] = [
    path("", views.overview, name="overview"),
    path("export.csv", views.export, name="export"),
]
