"""A municipality's configured instance of a channel plugin."""
from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from omnidesk.tenants.models import Municipality


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
