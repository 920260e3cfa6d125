from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "omnidesk.ops"
    label = "ops"
