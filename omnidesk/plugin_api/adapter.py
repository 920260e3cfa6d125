"""The base class every channel plugin implements. Adapters are stateless: all state is in the account."""
from __future__ import annotations

from typing import ClassVar

from django.urls import URLPattern, URLResolver

from omnidesk.plugin_api.capabilities import Capabilities
from omnidesk.plugin_api.events import (
    AccountContext,
    ConnectionCheck,
    FetchedMedia,
    IdentityRef,
    InboundEvent,
    OutboundMessage,
    PollResult,
    SendResult,
    TemplateInfo,
    WebhookRequest,
    WebhookResult,
)
from omnidesk.plugin_api.forms import ChannelConfigForm

API_VERSION = "1.4"  # 1.1: threads, CC, automatic messages, push polling; 1.2: account_notice;
# 1.3: TransientDeliveryError(this_recipient_only=…), plugin_api.http.pooled_session; 1.4: Capabilities.concurrent_sends
# (all optional)


class ChannelAdapter:
    """Subclass this, set the class attributes, implement `verify`, `parse` and `send`.

    Rules: `verify` runs before anything is stored; `parse` is pure (no database, no network);
    `send` raises TransientDeliveryError or PermanentDeliveryError, never a bare exception on
    purpose; nothing here may log a secret.
    """

    key: ClassVar[str]  # unique, lower-case, e.g. "whatsapp"
    verbose_name: ClassVar[str]
    api_version: ClassVar[str] = API_VERSION
    capabilities: ClassVar[Capabilities]
    config_form: ClassVar[type[ChannelConfigForm]] = ChannelConfigForm

    # --- inbound ---------------------------------------------------------------------------
    def handle_webhook(self, request: WebhookRequest, account: AccountContext) -> WebhookResult:
        """Verify, then parse. Override only for handshakes (e.g. a GET challenge) that carry no events."""
        self.verify(request, account)
        return WebhookResult(events=tuple(self.parse(request, account)))

    def verify(self, request: WebhookRequest, account: AccountContext) -> None:
        """Raise VerificationFailed unless the request provably comes from the provider."""
        raise NotImplementedError

    def parse(self, request: WebhookRequest, account: AccountContext) -> list[InboundEvent]:
        """Turn a verified request into events; raise MalformedPayload for what cannot be read."""
        raise NotImplementedError

    def poll(self, account: AccountContext, cursor: str) -> PollResult:
        """Fetch what arrived since `cursor` (empty at first). Only for capabilities.polling."""
        raise NotImplementedError(f"{self.key} does not poll")

    def wait_for_news(self, account: AccountContext, cursor: str, timeout: float) -> bool:
        """Block up to `timeout` seconds until something past `cursor` may have arrived (capabilities.push_polling,
        e.g. IMAP IDLE); return at once if something already has.

        True means "poll now". Raise TransientDeliveryError or AccountProblem when the provider cannot be reached.
        """
        raise NotImplementedError(f"{self.key} cannot wait for news")

    def fetch_media(self, account: AccountContext, media_id: str, max_bytes: int) -> FetchedMedia:
        """Download an inbound attachment the provider only referenced (InboundAttachment.provider_media_id).

        Stream it and stop past `max_bytes` (PermanentDeliveryError); TransientDeliveryError retries later.
        """
        raise NotImplementedError(f"{self.key} does not fetch media")

    # --- outbound --------------------------------------------------------------------------
    def send(self, message: OutboundMessage, account: AccountContext) -> SendResult:
        raise NotImplementedError

    # --- optional hooks --------------------------------------------------------------------
    def check_connection(self, account: AccountContext) -> ConnectionCheck:
        """Test the account's credentials against the provider ("test connection" in the settings)."""
        return ConnectionCheck(ok=True, detail="This channel has no connection test.")

    def list_templates(self, account: AccountContext) -> list[TemplateInfo]:
        """Approved templates (capabilities.templates). Core caches the answer; raise DeliveryError on failure."""
        return []

    def acknowledgement_text(self, account: AccountContext) -> str:
        """Text core sends automatically when a resident opens a new ticket ("" for none).

        Core never sends it in answer to automated mail and at most once a day per resident, and marks it
        OutboundMessage.automatic.
        """
        return ""

    def typing(self, account: AccountContext, recipient: IdentityRef, on: bool, author_name: str) -> None:
        """An agent started or stopped typing a reply to `recipient` (capabilities.typing_indicators)."""

    def mark_read(self, account: AccountContext, provider_message_id: str) -> None:
        """Tell the provider an agent has read this inbound message (capabilities.read_receipts)."""

    def urlpatterns(self) -> list[URLPattern | URLResolver]:
        """Pages or endpoints of the plugin's own, mounted under /channels/<key>/."""
        return []

    def websocket_urlpatterns(self) -> list[URLPattern | URLResolver]:
        """Websocket routes of the plugin's own, mounted under ws/channels/<key>/."""
        return []

    def embed_code(self, account: AccountContext) -> str:
        """HTML a municipality pastes into its own website to offer this channel there (e.g. a chat widget)."""
        return ""

    def resident_page_url(self, account: AccountContext) -> str:
        """A page where a resident can reach this account, if the plugin serves one."""
        return ""
