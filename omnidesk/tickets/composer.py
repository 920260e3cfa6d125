"""What the composer may offer on a ticket: free text inside the channel's reply window, else templates."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.contacts.selectors import is_opted_out
from omnidesk.plugin_api.capabilities import Capabilities
from omnidesk.plugin_api.errors import DeliveryError
from omnidesk.plugin_api.events import TemplateInfo
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tickets.models import Ticket

TEMPLATE_CACHE_SECONDS = 600
PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


@dataclass(frozen=True)
class ComposerState:
    free_text_allowed: bool
    reason: str = ""
    window_ends_at: datetime | None = None
    max_text_length: int = 4096
    templates: tuple[TemplateInfo, ...] = ()
    templates_error: str = ""
    subject: bool = False
    sms_segments: bool = False
    opted_out: bool = False
    attachments: bool = False
    attachment_types: tuple[str, ...] = ()  # for the file picker's accept attribute, e.g. "image/*"
    cc: tuple[str, ...] | None = None  # the copies a reply goes to (prefilled: the resident's last copies); None: no CC


def capabilities_of(account: ChannelAccount) -> Capabilities | None:
    try:
        return get_adapter(account.plugin_key).capabilities
    except UnknownPlugin:
        return None


def window_ends_at(ticket: Ticket, capabilities: Capabilities) -> datetime | None:
    if capabilities.reply_window_hours is None or ticket.last_inbound_at is None:
        return None
    return ticket.last_inbound_at + timedelta(hours=capabilities.reply_window_hours)


def free_text_allowed(ticket: Ticket, capabilities: Capabilities, now: datetime | None = None) -> bool:
    if capabilities.reply_window_hours is None:
        return True
    ends = window_ends_at(ticket, capabilities)
    return ends is not None and (now or timezone.now()) < ends


def approved_templates(account: ChannelAccount) -> tuple[tuple[TemplateInfo, ...], str]:
    """The account's approved templates, cached briefly; with an error text when the provider failed."""
    key = f"omnidesk:templates:{account.public_id}"
    cached = cache.get(key)
    if cached is not None:
        return cached, ""
    try:
        templates = tuple(get_adapter(account.plugin_key).list_templates(account_context(account)))
    except (UnknownPlugin, DeliveryError) as exc:
        return (), getattr(exc, "reason", "") or _("The templates could not be loaded.")
    cache.set(key, templates, TEMPLATE_CACHE_SECONDS)
    return templates, ""


def composer_state(ticket: Ticket) -> ComposerState:
    if not ticket.channel_account.enabled:
        # Asks the provider nothing (no template listing) for a channel the municipality switched off.
        return ComposerState(free_text_allowed=False, reason=_(
            "This channel is switched off: replies cannot be sent. You can still add internal notes."))
    capabilities = capabilities_of(ticket.channel_account)
    if capabilities is None:
        return ComposerState(free_text_allowed=False, reason=_("The channel plugin is not installed."))
    if is_opted_out(channel_account_id=ticket.channel_account_id, identity=ticket.identity):
        return ComposerState(
            free_text_allowed=False,
            opted_out=True,
            reason=_("This resident has opted out of messages from this channel. You can still add internal notes."),
        )
    allowed = free_text_allowed(ticket, capabilities)
    templates, error = approved_templates(ticket.channel_account) if capabilities.templates else ((), "")
    reason = "" if allowed else _(
        "The resident has not written in the last %(hours)d hours: only an approved template can be sent."
    ) % {"hours": capabilities.reply_window_hours}
    return ComposerState(
        free_text_allowed=allowed,
        reason=reason,
        window_ends_at=window_ends_at(ticket, capabilities),
        max_text_length=capabilities.max_text_length,
        templates=templates,
        templates_error=error,
        subject=capabilities.subject,
        sms_segments=capabilities.sms_segments,
        attachments=capabilities.attachments,
        attachment_types=tuple(t + "*" if t.endswith("/") else t for t in capabilities.attachment_types),
        cc=last_copies(ticket) if capabilities.cc else None,
    )


def last_copies(ticket: Ticket) -> tuple[str, ...]:
    """Whom the resident's latest message also went to: a reply goes to them too (reply to all), unless removed."""
    from omnidesk.tickets.models import Direction, Kind, Message

    metadata = (
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND, kind=Kind.MESSAGE)
        .order_by("-created_at", "-id")
        .values_list("metadata", flat=True)
        .first()
    )
    return tuple((metadata or {}).get("cc", ()))


def render_template(template: TemplateInfo, parameters: list[str]) -> str:
    """The template's body with {{n}} replaced, as the resident will read it."""
    return PLACEHOLDER.sub(lambda m: parameters[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(parameters) else m.group(0),
                           template.body)
