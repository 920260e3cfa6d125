"""The livechat adapter: the widget's socket and pages are the plugin's own; replies are pushed to the visitor's group."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api import (
    AccountContext,
    Capabilities,
    ChannelAdapter,
    IdentityKind,
    IdentityRef,
    OutboundMessage,
    PermanentDeliveryError,
    SendResult,
    VerificationFailed,
    WebhookRequest,
)
from omnidesk.plugin_api.host import message_id

from channels_plugins.livechat.forms import LivechatConfigForm
from channels_plugins.livechat.frames import OUTBOUND_PREFIX, visitor_key_of
from channels_plugins.livechat.visitors import key_for, visitor_group

MAX_TEXT = 4000
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


class LivechatAdapter(ChannelAdapter):
    key = "livechat"
    verbose_name = _("Web livechat")
    api_version = "1.2"  # account_notice: switched off, crisis, business hours
    capabilities = Capabilities(
        identity_kind=IdentityKind.VISITOR,
        max_text_length=MAX_TEXT,
        attachments=True,
        max_attachment_bytes=MAX_ATTACHMENT_BYTES,
        attachment_types=("image/", "application/pdf"),
        read_receipts=True,
        typing_indicators=True,
        webhooks=False,
    )
    config_form = LivechatConfigForm

    def verify(self, request: WebhookRequest, account: AccountContext) -> None:
        raise VerificationFailed("The livechat takes no webhooks; visitors talk to its own socket.")

    def _push(self, account: AccountContext, recipient: IdentityRef, frame: dict[str, Any]) -> None:
        group = visitor_group(account.public_id, key_for(recipient))
        async_to_sync(get_channel_layer().group_send)(group, {"type": "livechat.frame", "frame": frame})

    def send(self, message: OutboundMessage, account: AccountContext) -> SendResult:
        if message.template is not None:
            raise PermanentDeliveryError("The livechat has no templates.", code="template_unsupported")
        # The visitor sees it now if a tab is open, else from the history when they come back: it is stored.
        self._push(account, message.recipient, {"type": "message", "message": {
            "id": int(message.message_id), "client_id": "", "direction": "outbound", "text": message.text,
            "author_name": message.sender_name, "created_at": datetime.now(timezone.utc).isoformat(), "status": "sent",
            "attachments": [{"filename": a.filename, "url": a.url, "content_type": a.content_type, "size": a.size}
                            for a in message.attachments],
        }})
        return SendResult(provider_message_id=f"{OUTBOUND_PREFIX}{message.message_id}")

    def typing(self, account: AccountContext, recipient: IdentityRef, on: bool, author_name: str) -> None:
        self._push(account, recipient, {"type": "typing", "on": on, "author_name": author_name})

    def mark_read(self, account: AccountContext, provider_message_id: str) -> None:
        up_to = message_id(account, provider_message_id)
        if up_to is None:
            return
        group = visitor_group(account.public_id, visitor_key_of(provider_message_id))
        async_to_sync(get_channel_layer().group_send)(group, {"type": "livechat.frame",
                                                              "frame": {"type": "read", "up_to": up_to}})

    def urlpatterns(self) -> list[URLPattern | URLResolver]:
        from channels_plugins.livechat import views

        return [
            path("<str:public_id>/widget.js", views.widget_script, name="livechat-widget"),
            path("<str:public_id>/config.json", views.widget_config, name="livechat-config"),
            path("<str:public_id>/panel/", views.panel, name="livechat-panel"),
            path("<str:public_id>/session/", views.session, name="livechat-session"),
            path("<str:public_id>/history/", views.history, name="livechat-history"),
            path("<str:public_id>/upload/", views.upload, name="livechat-upload"),
            path("<str:public_id>/offline/", views.offline, name="livechat-offline"),
            path("<str:public_id>/demo-site/", views.demo_site, name="livechat-demo-site"),
        ]

    def websocket_urlpatterns(self) -> list[URLPattern | URLResolver]:
        from channels_plugins.livechat.consumers import VisitorConsumer

        return [path("<str:public_id>/", VisitorConsumer.as_asgi())]

    def embed_code(self, account: AccountContext) -> str:
        from django.conf import settings

        src = f"{settings.PUBLIC_URL}/channels/{self.key}/{account.public_id}/widget.js"
        return f'<script async src="{src}" data-lang="nl"></script>'

    def resident_page_url(self, account: AccountContext) -> str:
        return f"/channels/{self.key}/{account.public_id}/demo-site/"
