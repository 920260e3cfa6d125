from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "omnidesk.outbound"
    label = "outbound"
