"""Tickets (one conversation with one resident over one channel account) and their messages."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.models import Contact, ContactIdentity
from omnidesk.plugin_api.events import DeliveryStatus as DeliveryStatusValue
from omnidesk.tenants.models import Municipality, Team


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Tag(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["municipality", "name"], name="tag_unique_name_per_municipality")]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    # Every inbound message writes a new version of its ticket's row, and with it an entry in each of the ticket's
    # indexes: an index of its own for a field that starts a composite index (municipality: ticket_inbox_idx,
    # ticket_unique_number; contact: ticket_thread_idx) would only add to that cost.
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="tickets", db_index=False)
    number = models.PositiveIntegerField(_("number"))
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    identity = models.ForeignKey(ContactIdentity, on_delete=models.PROTECT, related_name="tickets")
    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="tickets")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(_("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    # The ticket this one grew out of: e.g. someone else answered a resident's email thread.
    related_ticket = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups",
        verbose_name=_("related ticket"), db_index=False,  # ticket_related_idx: only the few that have one
    )
    preview = models.CharField(max_length=200, blank=True, editable=False)  # last message, for the inbox list
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField()  # ordered and filtered within a municipality: ticket_inbox_idx
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [models.UniqueConstraint(fields=["municipality", "number"], name="ticket_unique_number")]
        indexes = [
            models.Index(fields=["municipality", "-last_activity_at"], name="ticket_inbox_idx"),
            models.Index(fields=["contact", "channel_account", "-created_at"], name="ticket_thread_idx"),
            # The inbox's view and channel counts (active tickets only) as index-only scans.
            models.Index(fields=["municipality", "status", "channel_account", "assignee", "team"], include=["id"],
                         condition=Q(status__in=["new", "open", "pending"]), name="ticket_active_idx"),
            models.Index(fields=["related_ticket"], condition=Q(related_ticket__isnull=False),
                         name="ticket_related_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Kind(models.TextChoices):
    MESSAGE = "message", _("Message")
    NOTE = "note", _("Internal note")
    EVENT = "event", _("System event")


class DeliveryStatus(models.TextChoices):
    QUEUED = DeliveryStatusValue.QUEUED.value, _("Queued")
    SENDING = DeliveryStatusValue.SENDING.value, _("Sending")
    SENT = DeliveryStatusValue.SENT.value, _("Sent")
    DELIVERED = DeliveryStatusValue.DELIVERED.value, _("Delivered")
    READ = DeliveryStatusValue.READ.value, _("Read")
    FAILED = DeliveryStatusValue.FAILED.value, _("Failed")


class Message(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    # No index of its own: message_thread_idx (ticket, created_at) serves every lookup by ticket.
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", db_index=False)
    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MESSAGE)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)  # sanitised before it is stored
    quoted_text = models.TextField(blank=True, default="")  # the earlier conversation the sender quoted (email)
    subject = models.CharField(max_length=255, blank=True)
    # A message has one author: indexed where set (message_author_*_idx), not as NULL in the other's index.
    author_contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                       db_index=False)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    in_reply_to = models.CharField(max_length=255, blank=True, default="")
    delivery_status = models.CharField(max_length=16, choices=DeliveryStatus.choices, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)  # when a worker took it for sending
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # when a queued reply is due (retry backoff)
    metadata = models.JSONField(default=dict, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # the provider's time for inbound messages
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        constraints = [
            # Idempotent ingest: a provider's redelivery cannot create a second message.
            models.UniqueConstraint(
                fields=["channel_account", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="message_unique_provider_id",
            )
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_thread_idx"),
            # Replies only: inbound messages and notes have no delivery status.
            models.Index(fields=["delivery_status", "next_attempt_at"], condition=~Q(delivery_status=""),
                         name="message_outbox_idx"),
            models.Index(fields=["author_contact"], condition=Q(author_contact__isnull=False),
                         name="message_author_contact_idx"),
            models.Index(fields=["author_user"], condition=Q(author_user__isnull=False),
                         name="message_author_user_idx"),
            # The outbox drain (outbound/claims.py): an account's queued replies oldest first, and whether an earlier
            # reply of the same conversation is still pending. Partial, so they hold only the few replies in flight.
            models.Index(fields=["channel_account", "created_at", "id"], name="message_queued_idx",
                         condition=Q(delivery_status="queued")),
            models.Index(fields=["ticket", "created_at", "id"], name="message_pending_reply_idx",
                         condition=Q(direction="outbound", delivery_status__in=["queued", "sending"])),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.pk}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"attachments/{instance.municipality_id}/{instance.uuid}"


class Attachment(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    file = models.FileField(upload_to=attachment_path, max_length=300, blank=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    provider_media_id = models.CharField(max_length=255, blank=True)  # to fetch later, when not yet stored
    fetch_error = models.CharField(max_length=300, blank=True)  # why the provider's file could not be stored
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


class DeliveryEvent(models.Model):
    """A provider's status report, kept even when it arrives before we know the message it is about."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="+")
    provider_message_id = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices)
    occurred_at = models.DateTimeField()
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    client_reference = models.CharField(max_length=64, blank=True, default="")  # our message id, echoed
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="delivery_events")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel_account", "provider_message_id", "status"], name="delivery_event_unique"
            )
        ]
        indexes = [
            # Reports that arrived before their send was recorded, looked up by our id on a retry
            # (outbound.services._accepted_earlier) and when the send is recorded.
            models.Index(fields=["channel_account", "client_reference"], name="delivery_event_unadopted",
                         condition=models.Q(message__isnull=True) & ~models.Q(client_reference="")),
        ]


class RoutingRule(models.Model):
    """Applied to every new ticket, in `position` order: when the channel and a keyword match, set team, tag or
    priority. The first matching rule with a team decides the team; tags add up; the highest priority wins."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="routing_rules")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    # One keyword or phrase per line, matched case-insensitively as whole words; empty matches every message.
    keywords = models.TextField(_("keywords"), blank=True)
    channel_account = models.ForeignKey(ChannelAccount, null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="+", verbose_name=_("only for channel"))
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("route to team"))
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            verbose_name=_("add tag"))
    priority = models.CharField(_("set priority"), max_length=16, choices=Priority.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
