"""When a municipality (or one of its channel accounts) answers: weekly hours and its own closing days.

Dutch public holidays are computed (omnidesk.hours.holidays), never stored.
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.tenants.models import Municipality


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningHours(models.Model):
    """One opening period on a weekday. Rows with a channel account replace the municipality's hours for it;
    a municipality (or account) without rows is always open."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="opening_hours")
    channel_account = models.ForeignKey(ChannelAccount, null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="opening_hours", verbose_name=_("channel"))
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["weekday", "opens"]
        constraints = [models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")),
                                              name="opening_hours_close_after_open")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class ClosingDay(models.Model):
    """A day the municipality is closed besides the public holidays (e.g. the day after Ascension)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="closing_days")
    date = models.DateField(_("date"))
    name = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("closing day")
        verbose_name_plural = _("closing days")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["municipality", "date"], name="closing_day_unique_per_date")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"
