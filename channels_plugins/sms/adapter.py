"""The SMS adapter: thin and stateless; it picks the account's provider and hands each call to it."""
from __future__ import annotations

from datetime import datetime, timezone

from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api import (
    AccountContext,
    Capabilities,
    ChannelAdapter,
    ConnectionCheck,
    DeliveryError,
    FetchedMedia,
    IdentityKind,
    InboundEvent,
    OutboundMessage,
    PermanentDeliveryError,
    SendResult,
    VerificationFailed,
    WebhookRequest,
    WebhookResult,
)

from channels_plugins.sms.forms import SmsConfigForm
from channels_plugins.sms.parsing import callback_url, signed_url
from channels_plugins.sms.providers import SmsProvider, UnknownProvider, provider_for

MAX_TEXT = 1600  # Twilio's limit; the text goes out as up to ten concatenated segments


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SmsAdapter(ChannelAdapter):
    key = "sms"
    verbose_name = _("SMS (Twilio, Bird)")
    capabilities = Capabilities(identity_kind=IdentityKind.PHONE, max_text_length=MAX_TEXT, sms_segments=True,
                                attachments=False, concurrent_sends=4)
    config_form = SmsConfigForm
    # Where a provider gives no time (Twilio's webhooks), the event happened when it reached us.
    clock = staticmethod(utc_now)

    def provider(self, account: AccountContext) -> SmsProvider:
        return provider_for(account.config)

    def handle_webhook(self, request: WebhookRequest, account: AccountContext) -> WebhookResult:
        self.verify(request, account)
        return WebhookResult(events=tuple(self.parse(request, account)), response=self.provider(account).webhook_response)

    def verify(self, request: WebhookRequest, account: AccountContext) -> None:
        if request.method != "POST":
            raise VerificationFailed("SMS webhooks are POST requests.")
        try:
            provider = self.provider(account)
        except UnknownProvider as exc:
            raise VerificationFailed(str(exc)) from None
        provider.verify(request, account.config, url=signed_url(request.url, account.config.get("public_base_url", "")))

    def parse(self, request: WebhookRequest, account: AccountContext) -> list[InboundEvent]:
        return self.provider(account).parse(request, account.config, received_at=self.clock())

    def send(self, message: OutboundMessage, account: AccountContext) -> SendResult:
        if message.template is not None:
            raise PermanentDeliveryError("SMS has no templates; send the text itself.", code="template_unsupported")
        if not message.text.strip():
            raise PermanentDeliveryError("An SMS needs text.", code="empty")
        try:
            provider = self.provider(account)
        except UnknownProvider as exc:
            raise PermanentDeliveryError(str(exc), code="unknown_provider") from None
        status_callback = callback_url(account.webhook_url, account.config.get("public_base_url", ""))
        return SendResult(provider_message_id=provider.send(message, account.config, status_callback_url=status_callback))

    def fetch_media(self, account: AccountContext, media_id: str, max_bytes: int) -> FetchedMedia:
        return self.provider(account).fetch_media(media_id, account.config, max_bytes)

    def check_connection(self, account: AccountContext) -> ConnectionCheck:
        try:
            return self.provider(account).check_connection(account.config)
        except (DeliveryError, UnknownProvider) as exc:
            return ConnectionCheck(ok=False, detail=str(exc))
