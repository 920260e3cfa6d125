from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "omnidesk.dashboard"
    label = "dashboard"
