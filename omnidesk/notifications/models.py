"""Who follows which ticket, and the notifications agents get about tickets they own, follow or are mentioned in."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Message, Ticket


class TicketFollower(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_tickets")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ticket follower")
        verbose_name_plural = _("ticket followers")
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="ticket_follower_unique")]

    def __str__(self) -> str:
        return f"{self.user} follows {self.ticket}"


class NotificationKind(models.TextChoices):
    MENTION = "mention", _("Mention")
    ASSIGNED = "assigned", _("Assigned")
    MESSAGE = "message", _("New message")
    CHANNEL_PROBLEM = "channel_problem", _("Channel problem")


class Notification(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    # A channel problem concerns an account, not a ticket.
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    channel_account = models.ForeignKey("channel_accounts.ChannelAccount", null=True, blank=True,
                                        on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    # None: the system did it (automatic assignment) or a resident wrote in.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient} on {self.ticket or self.channel_account}"
