from django.apps import AppConfig


class WhatsAppConfig(AppConfig):
    name = "channels_plugins.whatsapp"
    label = "channels_whatsapp"
    verbose_name = "WhatsApp channel"
