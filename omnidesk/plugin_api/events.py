"""The typed values that cross the plugin boundary. Plugins build and read only these."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class IdentityKind(enum.StrEnum):
    """How a resident is addressed on a channel; identities of one kind are shared across channels."""

    PHONE = "phone"  # E.164; WhatsApp and SMS from one number find one contact
    EMAIL = "email"
    VISITOR = "visitor"  # an anonymous web visitor (livechat, sandbox)
    USER_ID = "user_id"  # a provider-scoped user id, e.g. WhatsApp's business-scoped user id


class DeliveryStatus(enum.StrEnum):
    """Outbound delivery states, in the order they normally happen."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True)
class IdentityRef:
    """One address of a resident on a channel, e.g. (PHONE, "+31612345678")."""

    kind: IdentityKind
    value: str


@dataclass(frozen=True)
class InboundAttachment:
    """A file that came with an inbound message: its bytes, or a provider reference to fetch later."""

    filename: str
    content_type: str
    content: bytes | None = None
    provider_media_id: str = ""
    # Why the file could not be kept (e.g. larger than the limit): the agent sees its name and this reason.
    unavailable: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """A resident's message, as the provider delivered it."""

    provider_message_id: str
    sender: IdentityRef
    sent_at: datetime
    text: str = ""
    html: str = ""
    subject: str = ""
    sender_name: str = ""
    attachments: tuple[InboundAttachment, ...] = ()
    # The provider id of the message this one replies to, when the channel has replies.
    in_reply_to: str = ""
    # Threaded channels (capabilities.threads, e.g. email): provider ids of earlier messages of the same
    # conversation, nearest first (after in_reply_to), and a ticket number the message names (e.g. "[#123]").
    references: tuple[str, ...] = ()
    ticket_reference: str = ""
    # The earlier conversation the resident quoted below their text: kept, shown collapsed.
    quoted: str = ""
    # Other addresses the resident included (email CC); an agent's reply goes to them too unless removed.
    cc: tuple[str, ...] = ()
    # Sent by a machine (auto-reply, list, bulk, bounce): core never answers it automatically.
    automated: bool = False
    # Extra facts a later issue or plugin may use (kept on the message, never interpreted by core).
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusUpdate:
    """The provider's news about one of our outbound messages."""

    provider_message_id: str
    status: DeliveryStatus
    occurred_at: datetime
    error_code: str = ""
    error_message: str = ""
    # Our message id when the provider echoes it (OutboundMessage.message_id, e.g. WhatsApp's
    # biz_opaque_callback_data): lets core match a status to a send whose answer was lost.
    client_reference: str = ""


@dataclass(frozen=True)
class ProfileUpdate:
    """A resident's display name as the provider knows it."""

    identity: IdentityRef
    display_name: str


@dataclass(frozen=True)
class Reaction:
    """A resident's emoji reaction to a message; an empty emoji removes their reaction."""

    provider_message_id: str  # the reaction's own id (for idempotency)
    target_provider_message_id: str  # the message reacted to (ours or theirs)
    sender: IdentityRef
    emoji: str
    sent_at: datetime


@dataclass(frozen=True)
class ConsentChange:
    """A resident opted out of (STOP) or back into (START) messages from this channel account."""

    sender: IdentityRef
    opted_out: bool
    keyword: str
    occurred_at: datetime


InboundEvent = InboundMessage | StatusUpdate | ProfileUpdate | Reaction | ConsentChange


@dataclass(frozen=True)
class OutboundAttachment:
    filename: str
    content_type: str
    size: int
    url: str  # an absolute URL the plugin may fetch the bytes from


@dataclass(frozen=True)
class TemplateRef:
    """A pre-approved message template to send instead of free text (e.g. outside a reply window)."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class TemplateInfo:
    """A template the provider has approved for this account, as the composer offers it."""

    name: str
    language: str
    body: str  # with {{1}}, {{2}} … placeholders
    parameter_count: int = 0
    category: str = ""


@dataclass(frozen=True)
class OutboundMessage:
    """An agent's reply, handed to the plugin for delivery."""

    message_id: str  # our id, stable across retries; use it as the provider's idempotency key if it has one
    recipient: IdentityRef
    text: str
    subject: str = ""
    sender_name: str = ""
    attachments: tuple[OutboundAttachment, ...] = ()
    in_reply_to: str = ""  # provider id of the message being answered, if any
    attempt: int = 1
    template: TemplateRef | None = None  # send this approved template instead of `text`
    quote: str = ""  # provider id of a message the agent explicitly quotes (channels with replies)
    # Threaded channels: provider ids of the ticket's earlier messages, oldest first, and the ticket's number.
    references: tuple[str, ...] = ()
    ticket_reference: str = ""
    cc: tuple[str, ...] = ()  # copies (capabilities.cc)
    # An automatic message (e.g. an acknowledgement), not an agent's: mark it so (RFC 3834), so no machine answers it.
    automatic: bool = False


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    status: DeliveryStatus = DeliveryStatus.SENT


@dataclass(frozen=True)
class AccountContext:
    """One municipality's configured instance of a plugin, as the plugin sees it (no model)."""

    public_id: str
    name: str
    municipality_slug: str
    config: Mapping[str, Any]  # validated config, secrets included and decrypted
    webhook_url: str


@dataclass(frozen=True)
class WebhookRequest:
    """An HTTP request to an account's webhook, reduced to what verification and parsing need."""

    method: str
    url: str  # the public URL the provider called, query string included
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str]
    body: bytes
    content_type: str = ""


@dataclass(frozen=True)
class WebhookResponse:
    status: int = 200
    body: bytes = b'{"status": "ok"}'
    content_type: str = "application/json"


@dataclass(frozen=True)
class WebhookResult:
    """What handling a webhook produced: events to ingest and, optionally, the answer to give."""

    events: tuple[InboundEvent, ...] = ()
    response: WebhookResponse | None = None


@dataclass(frozen=True)
class PollResult:
    events: tuple[InboundEvent, ...]
    cursor: str  # opaque to core; stored only after the events are committed
    more: bool = False  # more is waiting (the plugin fetched a batch): core polls again at once


@dataclass(frozen=True)
class HistoryItem:
    """A message of a conversation as a resident-facing plugin page may show it (never internal notes)."""

    id: str
    direction: str  # "inbound" or "outbound"
    text: str
    author_name: str
    created_at: datetime
    status: str = ""
    # The plugin's own id of a resident's message (InboundMessage.provider_message_id), e.g. a widget's client id.
    client_reference: str = ""
    attachments: tuple[OutboundAttachment, ...] = ()  # with signed, short-lived download URLs


@dataclass(frozen=True)
class FetchedMedia:
    """A media file the plugin downloaded from the provider."""

    content: bytes
    content_type: str
    filename: str = ""


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of testing an account's credentials against the provider."""

    ok: bool
    detail: str = ""
