"""What an SMS gateway must provide; the adapter does the rest. A new gateway is one subclass of SmsProvider."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from omnidesk.plugin_api import (
    ConnectionCheck,
    DeliveryStatus,
    FetchedMedia,
    InboundEvent,
    OutboundMessage,
    WebhookRequest,
    WebhookResponse,
)

Config = Mapping[str, Any]


class SmsProvider:
    """One SMS gateway. Stateless: credentials and URLs come in the account's config on every call."""

    key: ClassVar[str]  # the value of config["provider"]
    name: ClassVar[str]  # shown in errors and docs
    default_api_base_url: ClassVar[str]
    # The provider's status words -> ours. A word not listed is ignored (providers add new ones without notice).
    status_map: ClassVar[Mapping[str, DeliveryStatus]]
    # Provider error code -> a short explanation an agent understands.
    error_explanations: ClassVar[Mapping[str, str]] = {}
    # The answer the provider expects from our webhook; None means Omnidesk's default JSON.
    webhook_response: ClassVar[WebhookResponse | None] = None

    def verify(self, request: WebhookRequest, config: Config, *, url: str) -> None:
        """Raise VerificationFailed unless the provider signed this request for `url` (the public URL it called)."""
        raise NotImplementedError

    def parse(self, request: WebhookRequest, config: Config, *, received_at: datetime) -> list[InboundEvent]:
        """Pure: the events in a verified request. `received_at` stands in where the provider gives no time."""
        raise NotImplementedError

    def send(self, message: OutboundMessage, config: Config, *, status_callback_url: str) -> str:
        """Send a text; return the provider's message id. Raise Transient/PermanentDeliveryError."""
        raise NotImplementedError

    def fetch_media(self, media_id: str, config: Config, max_bytes: int) -> FetchedMedia:
        raise NotImplementedError(f"{self.name} does not fetch media")

    def check_connection(self, config: Config) -> ConnectionCheck:
        return ConnectionCheck(ok=True, detail=f"{self.name} has no connection test.")

    # --- shared helpers ---------------------------------------------------------------------------
    def map_status(self, raw: str) -> DeliveryStatus | None:
        return self.status_map.get(raw.strip().lower())

    def explain(self, code: str, fallback: str = "") -> str:
        """A human explanation of a provider error code, with the provider's own words when we have no better."""
        known = self.error_explanations.get(code, "")
        if known and fallback and fallback.lower() not in known.lower():
            return f"{known} ({fallback})"[:500]
        return (known or fallback or (f"{self.name} error {code}." if code else f"{self.name} reported a failure."))[:500]

    def api_base_url(self, config: Config) -> str:
        return str(config.get("api_base_url") or self.default_api_base_url).rstrip("/")
