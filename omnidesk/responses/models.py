"""A municipality's canned responses: ready-made reply text with a few variables."""
from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _

from omnidesk.tenants.models import Municipality

BODY_MAX_LENGTH = 5000
SHORTCUT_MAX_LENGTH = 40

# Lower-case letters, digits and hyphens only: exactly what the composer recognises after "/", so every shortcut can
# be typed in full (a SlugField would also allow "_" and capitals).
validate_shortcut = RegexValidator(
    r"\A[a-z0-9]+(?:-[a-z0-9]+)*\Z",
    _("Use lower-case letters, digits and hyphens only, for example “groet” or “tot-ziens”."),
)


class CannedResponse(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="canned_responses",
                                     verbose_name=_("municipality"))
    shortcut = models.CharField(
        _("shortcut"), max_length=SHORTCUT_MAX_LENGTH, validators=[validate_shortcut],
        help_text=_("Typed as /shortcut in the composer."),
    )
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(
        _("text"), max_length=BODY_MAX_LENGTH, validators=[MaxLengthValidator(BODY_MAX_LENGTH)],
        help_text=_("Variables: {resident_name}, {agent_name}, {municipality}, {ticket_number}."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("created by"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["municipality", "shortcut"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "shortcut"], name="canned_response_unique_shortcut",
                violation_error_message=_("This municipality already has a canned response with this shortcut."),
            ),
            # A TextField's max_length is only a form hint; the database holds the line too.
            models.CheckConstraint(condition=LessThanOrEqual(Length("body"), BODY_MAX_LENGTH),
                                   name="canned_response_body_max_length"),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut} – {self.title}"
