"""The inbound journal: webhooks accepted but not yet stored as tickets and messages."""
from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JournalEntry(models.Model):
    """The normalised events of one webhook, durable from the moment the provider got its 200.

    The ingest (inbound.journal.drain) stores entries in batches and deletes each in the same transaction that
    stores its events, so an entry is either waiting here or stored, never both and never neither. An entry whose
    events cannot be stored waits with backoff; after MAX_ATTEMPTS it is a dead letter (`failed_at`) that an
    operator inspects and retries from the admin.
    """

    channel_account = models.ForeignKey("channel_accounts.ChannelAccount", on_delete=models.CASCADE, related_name="+",
                                        verbose_name=_("channel account"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    events = models.BinaryField(_("events"))  # JSON, inbound.codec
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    available_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    failed_at = models.DateTimeField(_("given up"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound journal entry")
        verbose_name_plural = _("inbound journal")
        indexes = [
            models.Index(fields=["id"], name="journal_pending", condition=models.Q(failed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.channel_account_id})"
