from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SunsetConfig(AppConfig):
    name = "omnidesk.sunset"
    label = "sunset"
    verbose_name = _("Channel sunset")
