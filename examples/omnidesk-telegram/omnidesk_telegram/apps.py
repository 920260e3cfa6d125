from django.apps import AppConfig


class TelegramConfig(AppConfig):
    name = "omnidesk_telegram"
    label = "omnidesk_telegram"
    verbose_name = "Telegram channel"
