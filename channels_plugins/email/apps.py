from django.apps import AppConfig


class EmailChannelConfig(AppConfig):
    name = "channels_plugins.email"
    label = "channels_email"
    verbose_name = "Email channel"
