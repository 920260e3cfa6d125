"""The public plugin API: everything a channel plugin may import from Omnidesk.

Plugins import from this module only; its names are stable within an API major version.
"""
from omnidesk.plugin_api.adapter import API_VERSION, ChannelAdapter
from omnidesk.plugin_api.capabilities import Capabilities
from omnidesk.plugin_api.errors import (
    DeliveryError,
    MalformedPayload,
    PermanentDeliveryError,
    PluginError,
    TransientDeliveryError,
    VerificationFailed,
)
from omnidesk.plugin_api.events import (
    AccountContext,
    ComposerHints,
    ConnectionCheck,
    DeliveryStatus,
    FetchedMedia,
    HistoryItem,
    IdentityKind,
    IdentityRef,
    InboundAttachment,
    InboundEvent,
    InboundMessage,
    OutboundAttachment,
    OutboundMessage,
    PollResult,
    ProfileUpdate,
    SendResult,
    StatusUpdate,
    WebhookRequest,
    WebhookResponse,
    WebhookResult,
)
from omnidesk.plugin_api.forms import ChannelConfigForm, SecretField

__all__ = [
    "API_VERSION",
    "AccountContext",
    "Capabilities",
    "ChannelAdapter",
    "ChannelConfigForm",
    "ComposerHints",
    "ConnectionCheck",
    "DeliveryError",
    "DeliveryStatus",
    "FetchedMedia",
    "HistoryItem",
    "IdentityKind",
    "IdentityRef",
    "InboundAttachment",
    "InboundEvent",
    "InboundMessage",
    "MalformedPayload",
    "OutboundAttachment",
    "OutboundMessage",
    "PermanentDeliveryError",
    "PluginError",
    "PollResult",
    "ProfileUpdate",
    "SecretField",
    "SendResult",
    "StatusUpdate",
    "TransientDeliveryError",
    "VerificationFailed",
    "WebhookRequest",
    "WebhookResponse",
    "WebhookResult",
]
