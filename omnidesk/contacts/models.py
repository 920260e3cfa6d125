"""Residents and the addresses they write from."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api.events import IdentityKind
from omnidesk.tenants.models import Municipality


class Contact(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="contacts")
    display_name = models.CharField(_("name"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.display_name or str(_("Unknown resident"))


class ContactIdentity(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=16, choices=[(k.value, k.value) for k in IdentityKind])
    value = models.CharField(_("address"), max_length=320)  # normalised: E.164, lower-case email, visitor id
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact identity")
        verbose_name_plural = _("contact identities")
        constraints = [
            models.UniqueConstraint(fields=["municipality", "kind", "value"], name="identity_unique_per_municipality")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class OptOut(models.Model):
    """A resident asked one of our numbers to stop messaging them (e.g. SMS STOP). Sending there is refused."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    channel_account = models.ForeignKey("channel_accounts.ChannelAccount", on_delete=models.CASCADE, related_name="+")
    identity = models.ForeignKey(ContactIdentity, on_delete=models.CASCADE, related_name="opt_outs")
    keyword = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        constraints = [models.UniqueConstraint(fields=["channel_account", "identity"], name="opt_out_unique")]
