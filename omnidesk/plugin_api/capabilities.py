"""What a channel can do; core and the composer read this instead of asking about a channel by name."""
from __future__ import annotations

from dataclasses import dataclass

from omnidesk.plugin_api.events import IdentityKind, OutboundMessage


@dataclass(frozen=True)
class Capabilities:
    identity_kind: IdentityKind
    max_text_length: int = 4096
    attachments: bool = False
    max_attachment_bytes: int = 0
    attachment_types: tuple[str, ...] = ()  # MIME types or prefixes like "image/"
    subject: bool = False
    html: bool = False
    templates: bool = False
    reply_window_hours: int | None = None  # e.g. 24 for WhatsApp; None when free text is always allowed
    read_receipts: bool = False
    typing_indicators: bool = False
    sms_segments: bool = False  # the composer counts GSM-7/UCS-2 characters and segments
    polling: bool = False
    poll_interval_seconds: int = 60
    webhooks: bool = True
    # Each conversation is its own thread (email): a message joins a ticket only through the thread it answers
    # (InboundMessage.references / ticket_reference); otherwise it opens a new ticket.
    threads: bool = False
    cc: bool = False  # replies can go to copies (OutboundMessage.cc)
    # The plugin can wait for news (e.g. IMAP IDLE, ChannelAdapter.wait_for_news): `manage.py watchchannels` polls
    # the moment something arrives, instead of at the next interval.
    push_polling: bool = False
    # How many sends to one account the provider takes at once (API 1.4). Core sends replies of different
    # conversations side by side up to this many (capped by OMNIDESK_OUTBOUND_MAX_CONCURRENT_SENDS); one
    # conversation's replies always go one after the other, in the order they were written. 1: one at a time.
    concurrent_sends: int = 1


def _type_allowed(content_type: str, allowed: tuple[str, ...]) -> bool:
    return any(content_type == a or (a.endswith("/") and content_type.startswith(a)) for a in allowed)


def capability_problem(capabilities: Capabilities, message: OutboundMessage) -> tuple[str, str] | None:
    """Why this channel cannot carry the message, as (code, reason); None when it can.

    Core checks this before calling a plugin, so no plugin has to, and no provider is called in vain.
    """
    if len(message.text) > capabilities.max_text_length:
        return "too_long", f"The text has {len(message.text)} characters; this channel allows {capabilities.max_text_length}."
    for attachment in message.attachments:
        if not capabilities.attachments:
            return "attachments_unsupported", "This channel cannot send attachments."
        if capabilities.max_attachment_bytes and attachment.size > capabilities.max_attachment_bytes:
            return "attachment_too_large", f"{attachment.filename} is larger than this channel allows."
        if capabilities.attachment_types and not _type_allowed(attachment.content_type, capabilities.attachment_types):
            return "attachment_type_unsupported", f"This channel cannot send files of type {attachment.content_type}."
    return None
