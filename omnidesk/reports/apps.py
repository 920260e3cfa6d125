from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Figures for supervisors (/reports/): volumes, response times, sunset contacts. Reads only."""

    name = "omnidesk.reports"
    label = "reports"
    verbose_name = _("Reports")
