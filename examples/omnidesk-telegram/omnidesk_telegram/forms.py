from __future__ import annotations

from django import forms

from omnidesk.plugin_api import ChannelConfigForm, SecretField


class TelegramConfigForm(ChannelConfigForm):
    bot_token = SecretField(label="Bot token", help_text="From @BotFather, e.g. 123456:ABC-DEF…")
    webhook_secret_token = SecretField(
        label="Webhook secret token",
        help_text="The secret_token given to setWebhook; Telegram sends it in every webhook call.",
    )
    api_base_url = forms.URLField(label="Bot API base URL", initial="https://api.telegram.org", required=False,
                                  assume_scheme="https")

    def clean_api_base_url(self) -> str:
        return (self.cleaned_data.get("api_base_url") or "https://api.telegram.org").rstrip("/")
