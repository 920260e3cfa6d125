"""Municipalities (the tenants) and who works for them in which role."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Municipality(models.Model):
    slug = models.SlugField(_("slug"), unique=True, max_length=64)
    name = models.CharField(_("name"), max_length=200)
    # A resolved ticket is reopened by a new message within this many days; later, a new ticket starts.
    reopen_window_days = models.PositiveIntegerField(_("reopen window (days)"), default=7)
    # Round robin: a new ticket goes to the online agent with the fewest open tickets, below the cap.
    auto_assign = models.BooleanField(_("assign new tickets automatically"), default=False)
    auto_assign_cap = models.PositiveIntegerField(_("most open tickets per agent for automatic assignment"), default=10)
    # Only the assignee may reply to an assigned ticket (others can still add internal notes).
    assignee_only_replies = models.BooleanField(_("only the assignee replies"), default=False)
    # Crisis mode: one click shows this message to residents on every channel and to agents.
    crisis_active = models.BooleanField(_("crisis mode"), default=False)
    crisis_message_nl = models.TextField(_("crisis message (Dutch)"), blank=True)
    crisis_message_en = models.TextField(_("crisis message (English)"), blank=True)
    crisis_since = models.DateTimeField(null=True, blank=True, editable=False)
    # Outside business hours a new conversation gets an automatic reply with the expected reply time.
    out_of_hours_reply = models.BooleanField(_("reply automatically outside business hours"), default=False)
    out_of_hours_text_nl = models.TextField(_("out-of-hours reply (Dutch)"), blank=True)
    out_of_hours_text_en = models.TextField(_("out-of-hours reply (English)"), blank=True)
    # Dutch public holidays are closing days; these two differ between employers (Cao Gemeenten: 5 May yearly).
    closed_on_good_friday = models.BooleanField(_("closed on Good Friday"), default=False)
    closed_on_liberation_day = models.BooleanField(_("closed on Liberation Day every year"), default=True)
    # Resolved and closed tickets whose last activity is older than this are deleted; empty keeps them.
    retention_days = models.PositiveIntegerField(_("keep finished tickets for (days)"), null=True, blank=True)
    # Source of per-municipality ticket numbers; only tickets.services touches it.
    last_ticket_number = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # A stale instance (an admin form, a test) must never write back an old ticket counter: numbers would
        # repeat. Only tickets.services moves it, with an UPDATE of its own.
        if self.pk and not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [f.name for f in self._meta.concrete_fields
                                       if not f.primary_key and f.name != "last_ticket_number"]
        super().save(*args, **kwargs)


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "municipality"], name="membership_unique_user_municipality")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.municipality} ({self.role})"


class Team(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["municipality", "name"], name="team_unique_name_per_municipality")]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    """An e-mailed link that lets someone join a municipality in a role; only a hash of its token is stored."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} @ {self.municipality} ({self.role})"
