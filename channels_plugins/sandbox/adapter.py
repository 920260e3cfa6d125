"""The sandbox adapter: verify the resident token, parse the simulator's JSON, deliver replies."""
from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api import (
    AccountContext,
    Capabilities,
    ChannelAdapter,
    DeliveryStatus,
    IdentityKind,
    InboundEvent,
    OutboundMessage,
    PermanentDeliveryError,
    SendResult,
    VerificationFailed,
    WebhookRequest,
)

from channels_plugins.sandbox import client
from channels_plugins.sandbox.forms import SandboxConfigForm
from channels_plugins.sandbox.parsing import MAX_TEXT, RESIDENT_ID, parse_body
from channels_plugins.sandbox.signing import token_is_valid

RESIDENT_HEADER = "x-sandbox-resident"
TOKEN_HEADER = "x-sandbox-token"
VISITOR_PREFIX = "sandbox-"


class SandboxAdapter(ChannelAdapter):
    key = "sandbox"
    verbose_name = _("Sandbox (resident simulator)")
    capabilities = Capabilities(identity_kind=IdentityKind.VISITOR, max_text_length=MAX_TEXT)
    config_form = SandboxConfigForm

    def verify(self, request: WebhookRequest, account: AccountContext) -> None:
        if request.method != "POST":
            raise VerificationFailed("The sandbox webhook accepts POST only.")
        resident_id = request.headers.get(RESIDENT_HEADER, "")
        if not RESIDENT_ID.match(resident_id):
            raise VerificationFailed("Missing or malformed resident id.")
        if not token_is_valid(account.config.get("signing_secret", ""), resident_id, request.headers.get(TOKEN_HEADER, "")):
            raise VerificationFailed("The resident token does not match.")

    def parse(self, request: WebhookRequest, account: AccountContext) -> list[InboundEvent]:
        return parse_body(request.body, request.headers[RESIDENT_HEADER])

    def send(self, message: OutboundMessage, account: AccountContext) -> SendResult:
        if len(message.text) > MAX_TEXT:
            raise PermanentDeliveryError(f"Text longer than {MAX_TEXT} characters.", code="too_long")
        delivery_url = account.config.get("delivery_url")
        if delivery_url:
            return SendResult(provider_message_id=client.post_to_endpoint(delivery_url, message))
        resident_id = message.recipient.value.removeprefix(VISITOR_PREFIX)
        provider_id = f"sbx-{message.message_id}"
        client.push_to_page(account.public_id, resident_id, message, provider_id)
        return SendResult(provider_message_id=provider_id, status=DeliveryStatus.DELIVERED)

    def urlpatterns(self) -> list[URLPattern | URLResolver]:
        from channels_plugins.sandbox import views

        return [
            path("<str:public_id>/", views.resident_page, name="sandbox-resident"),
            path("<str:public_id>/history/", views.history, name="sandbox-history"),
        ]

    def websocket_urlpatterns(self) -> list[URLPattern | URLResolver]:
        from channels_plugins.sandbox.consumers import ResidentConsumer

        return [path("<str:public_id>/", ResidentConsumer.as_asgi())]

    def resident_page_url(self, account: AccountContext) -> str:
        return f"/channels/{self.key}/{account.public_id}/"
