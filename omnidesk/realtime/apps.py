from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "omnidesk.realtime"
    label = "realtime"
