from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdministrationConfig(AppConfig):
    """The municipality admin's settings pages (/settings/). No models: each page writes through its domain's services."""

    name = "omnidesk.administration"
    label = "administration"
    verbose_name = _("Settings")
