"""What a channel can do; core and the composer read this instead of asking about a channel by name."""
from __future__ import annotations

from dataclasses import dataclass

from omnidesk.plugin_api.events import IdentityKind


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
    polling: bool = False
    poll_interval_seconds: int = 60
    webhooks: bool = True
