"""The Telegram adapter: stateless; credentials come in the AccountContext."""
from __future__ import annotations

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
    SendResult,
    WebhookRequest,
)

from omnidesk_telegram import client
from omnidesk_telegram.forms import TelegramConfigForm
from omnidesk_telegram.parsing import IDENTITY_PREFIX, SECRET_HEADER, parse_update, verify_secret

MAX_TEXT = 4096


class TelegramAdapter(ChannelAdapter):
    key = "telegram"
    verbose_name = "Telegram"
    api_version = "1.0"
    capabilities = Capabilities(identity_kind=IdentityKind.USER_ID, max_text_length=MAX_TEXT, typing_indicators=False)
    config_form = TelegramConfigForm

    def verify(self, request: WebhookRequest, account: AccountContext) -> None:
        verify_secret(account.config.get("webhook_secret_token", ""), request.headers.get(SECRET_HEADER, ""))

    def parse(self, request: WebhookRequest, account: AccountContext) -> list[InboundEvent]:
        return parse_update(request.body)

    def send(self, message: OutboundMessage, account: AccountContext) -> SendResult:
        chat_id = message.recipient.value.removeprefix(IDENTITY_PREFIX)
        reply_to = message.in_reply_to.split(":")[1] if message.in_reply_to.count(":") == 1 else ""
        message_id = client.send_message(
            account.config["api_base_url"], account.config["bot_token"], chat_id, message.text, reply_to
        )
        return SendResult(provider_message_id=f"{chat_id}:{message_id}")

    def fetch_media(self, account: AccountContext, media_id: str, max_bytes: int) -> FetchedMedia:
        return client.download_file(account.config["api_base_url"], account.config["bot_token"], media_id, max_bytes)

    def check_connection(self, account: AccountContext) -> ConnectionCheck:
        try:
            me = client.get_me(account.config["api_base_url"], account.config["bot_token"])
        except DeliveryError as exc:
            return ConnectionCheck(ok=False, detail=exc.reason)
        return ConnectionCheck(ok=True, detail=f"Connected as @{me.get('username', '?')}")
