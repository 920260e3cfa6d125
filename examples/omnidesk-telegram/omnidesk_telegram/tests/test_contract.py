"""The Telegram plugin runs Omnidesk's contract kit, like every channel plugin."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from omnidesk.plugin_api import (
    AccountContext,
    InboundAttachment,
    InboundMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
    WebhookRequest,
)
from omnidesk.plugin_api.testing import ChannelContract, PeerAnswer, utc

from omnidesk_telegram.adapter import TelegramAdapter
from omnidesk_telegram.parsing import SECRET_HEADER, chat_identity

SANNE = chat_identity(5550001)
TOKEN = "123456:TEST-token"


class TestTelegramContract(ChannelContract):
    adapter_class = TelegramAdapter
    fixtures_dir = Path(__file__).resolve().parent.parent / "fixtures"
    expected_events = {
        "message__text.json": [
            InboundMessage(provider_message_id="5550001:17", sender=SANNE, sender_name="Sanne de Wit",
                           text="Hallo, de lantaarnpaal bij ons huis doet het niet.", sent_at=utc(2025, 11, 28, 12, 0))
        ],
        "message__photo.json": [
            InboundMessage(provider_message_id="5550001:18", sender=SANNE, sender_name="Sanne", text="Zo ziet het eruit",
                           sent_at=utc(2025, 11, 28, 12, 1),
                           attachments=(InboundAttachment(filename="photo-AQADl.jpg", content_type="image/jpeg",
                                                          provider_media_id="AgAD-large"),))
        ],
        "message__document.json": [
            InboundMessage(provider_message_id="5550002:19", sender=chat_identity(5550002), sender_name="Youssef",
                           text="", sent_at=utc(2025, 11, 28, 12, 2),
                           attachments=(InboundAttachment(filename="bezwaar.pdf", content_type="application/pdf",
                                                          provider_media_id="BQAD-doc"),))
        ],
        "message__edited.json": [
            InboundMessage(provider_message_id="5550001:17:edit:1764331500", sender=SANNE, sender_name="Sanne de Wit",
                           text="Hallo, de lantaarnpaal bij ons huis (nr. 12) doet het niet.",
                           sent_at=utc(2025, 11, 28, 12, 0), metadata={"edited": True})
        ],
        "message__sticker.json": [
            InboundMessage(provider_message_id="5550001:20", sender=SANNE, sender_name="Sanne",
                           text="[Telegram sticker message: not supported yet]", sent_at=utc(2025, 11, 28, 12, 6))
        ],
        "message__group.json": [],
        "update__callback_query.json": [],
    }
    send_path = f"/bot{TOKEN}/sendMessage"
    send_success = PeerAnswer(200, {"ok": True, "result": {"message_id": 21, "chat": {"id": 5550001}}},
                              provider_message_id="5550001:21")
    send_errors = [
        PeerAnswer(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 5",
                         "parameters": {"retry_after": 5}}, error=TransientDeliveryError, code="429"),
        PeerAnswer(502, "Bad Gateway", error=TransientDeliveryError, code="502"),
        PeerAnswer(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
                   error=PermanentDeliveryError, code="403"),
        PeerAnswer(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                   error=PermanentDeliveryError, code="400"),
    ]
    recipient = SANNE

    def config(self, peer_url: str) -> dict:
        return {"bot_token": TOKEN, "webhook_secret_token": "wh-secret-0123456789", "api_base_url": peer_url}

    def sign(self, request: WebhookRequest, account: AccountContext) -> WebhookRequest:
        return dataclasses.replace(request, headers={**request.headers, SECRET_HEADER: account.config["webhook_secret_token"]})

    def tamper(self, request: WebhookRequest) -> WebhookRequest:
        return dataclasses.replace(request, headers={**request.headers, SECRET_HEADER: "guessed-secret"})
