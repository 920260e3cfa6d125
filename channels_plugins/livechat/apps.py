from django.apps import AppConfig


class LivechatConfig(AppConfig):
    name = "channels_plugins.livechat"
    label = "channels_livechat"
    verbose_name = "Livechat channel"
