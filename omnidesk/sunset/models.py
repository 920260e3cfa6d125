"""Residents who still write to a channel the municipality switched off, and the answer they got."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.tenants.models import Municipality


class ReplyStatus(models.TextChoices):
    NONE = "", _("Not answered")  # no sunset text, or already answered within the period
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class SunsetContact(models.Model):
    """One message received on a switched-off account: counted, never turned into a ticket."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="sunset_contacts")
    identity_kind = models.CharField(max_length=16)
    identity_value = models.CharField(_("resident"), max_length=320)
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    reply_status = models.CharField(_("answer"), max_length=8, choices=ReplyStatus.choices, blank=True, default="")
    reply_error = models.CharField(max_length=300, blank=True, default="")
    reply_attempts = models.PositiveIntegerField(default=0)
    # The resident's consent in this message: True for STOP, False for START, None for anything else. A closed
    # channel makes no contacts, so its opt-outs live here until it is switched on again (sunset.services).
    opted_out = models.BooleanField(null=True, blank=True, default=None)

    class Meta:
        verbose_name = _("sunset contact")
        verbose_name_plural = _("sunset contacts")
        ordering = ["-received_at", "-id"]
        constraints = [
            # A webhook delivered twice counts once.
            models.UniqueConstraint(fields=["channel_account", "provider_message_id"], condition=~Q(provider_message_id=""),
                                    name="sunset_contact_unique_provider_id"),
        ]
        indexes = [models.Index(fields=["channel_account", "identity_value", "-received_at"],
                                name="sunset_contact_resident_idx")]

    def __str__(self) -> str:
        return f"{self.identity_value} → {self.channel_account} @ {self.received_at:%Y-%m-%d %H:%M}"
