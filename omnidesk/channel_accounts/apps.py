from django.apps import AppConfig


class ChannelAccountsConfig(AppConfig):
    name = "omnidesk.channel_accounts"
    label = "channel_accounts"
