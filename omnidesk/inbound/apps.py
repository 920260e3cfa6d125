from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "omnidesk.inbound"
    label = "inbound"
