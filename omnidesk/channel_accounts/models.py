"""A municipality's configured instance of a channel plugin."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from omnidesk.tenants.models import Municipality, Team


def new_public_id() -> str:
    # Unguessable: the webhook URL is public, so the id must not be enumerable.
    # Hex, so it never starts with "-" and can be passed to a command line as is.
    return secrets.token_hex(20)


class ChannelAccount(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="channel_accounts")
    plugin_key = models.CharField(_("channel"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    enabled = models.BooleanField(_("enabled"), default=True)
    public_id = models.CharField(max_length=64, unique=True, default=new_public_id, editable=False)
    # Validated non-secret config. Secrets live encrypted in `encrypted_secrets`, never here.
    config = models.JSONField(default=dict, blank=True)
    encrypted_secrets = models.TextField(blank=True, default="", editable=False)
    # Opaque position of a polling plugin (e.g. an IMAP UID); advanced only after a commit.
    poll_cursor = models.TextField(blank=True, default="", editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    poll_failures = models.PositiveIntegerField(default=0, editable=False)  # in a row; polls back off meanwhile
    # Set when the provider says the account itself cannot work (expired token, restricted); shown to everyone.
    problem = models.CharField(_("problem"), max_length=300, blank=True, default="", editable=False)
    problem_since = models.DateTimeField(null=True, blank=True, editable=False)
    # New tickets from this account go to this team (routing rules may still override it).
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="routed_accounts",
                             verbose_name=_("team"))
    # Sunset: while the account is switched off, residents who still write get this answer (Dutch and English)
    # at most once per period; empty texts mean no answer.
    sunset_reply_nl = models.TextField(_("sunset reply (Dutch)"), blank=True)
    sunset_reply_en = models.TextField(_("sunset reply (English)"), blank=True)
    sunset_period_days = models.PositiveIntegerField(_("answer a resident again after (days)"), default=30)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("channel account")
        verbose_name_plural = _("channel accounts")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "name"], name="channel_account_unique_name_per_municipality")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.plugin_key})"


class ChannelSchedule(models.Model):
    """A planned switch: the account is switched on or off at `at` (by the beat task `apply_channel_schedules`)."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="schedules")
    at = models.DateTimeField(_("at"))
    enable = models.BooleanField(_("switch on"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("scheduled switch")
        verbose_name_plural = _("scheduled switches")
        ordering = ["at"]
        indexes = [models.Index(fields=["at"], name="channel_schedule_due_idx",
                                condition=models.Q(applied_at__isnull=True, cancelled_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.account} {'on' if self.enable else 'off'} @ {self.at:%Y-%m-%d %H:%M}"
