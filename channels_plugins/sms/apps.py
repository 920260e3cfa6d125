from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "channels_plugins.sms"
    label = "channels_sms"
    verbose_name = "SMS channel"
