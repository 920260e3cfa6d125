"""The sandbox runs Omnidesk's plugin contract kit, like every channel plugin."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

from omnidesk.plugin_api import (
    AccountContext,
    IdentityKind,
    IdentityRef,
    InboundMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
    WebhookRequest,
)
from omnidesk.plugin_api.testing import ChannelContract, PeerAnswer, utc

from channels_plugins.sandbox.adapter import RESIDENT_HEADER, TOKEN_HEADER, SandboxAdapter
from channels_plugins.sandbox.signing import resident_token

RESIDENT = "5f1c0c3e9a7b4d2e8f6a1b2c3d4e5f60"
SENDER = IdentityRef(IdentityKind.VISITOR, f"sandbox-{RESIDENT}")


class TestSandboxContract(ChannelContract):
    adapter_class = SandboxAdapter
    fixtures_dir = Path(__file__).resolve().parent.parent / "fixtures"
    expected_events = {
        "message__text.json": [
            InboundMessage(
                provider_message_id=f"{RESIDENT}:0d9f2c1e",
                sender=SENDER,
                sender_name="Piet de Boer",
                text="Goedemiddag, mijn container is vandaag niet geleegd.",
                sent_at=utc(2026, 11, 28, 13, 5),
            )
        ],
        "message__anonymous.json": [
            InboundMessage(
                provider_message_id=f"{RESIDENT}:77aa01",
                sender=SENDER,
                text="Wanneer is het afvalbrengstation open?",
                sent_at=utc(2026, 11, 28, 13, 6, 30),
            )
        ],
        "message__multiline_emoji.json": [
            InboundMessage(
                provider_message_id=f"{RESIDENT}:e5",
                sender=SENDER,
                sender_name="Fatima",
                text="Hoi 👋 ik wil graag een afspraak maken voor een paspoort.\nKan dat zaterdag?",
                sent_at=datetime(2026, 11, 28, 14, 0, tzinfo=timezone(timedelta(hours=1))),
            )
        ],
    }
    send_path = "/replies"
    send_success = PeerAnswer(201, {"id": "peer-881"}, provider_message_id="peer-881")
    send_errors = [
        PeerAnswer(500, {"error": "boom"}, error=TransientDeliveryError, code="500"),
        PeerAnswer(503, "", headers={"Retry-After": "7"}, error=TransientDeliveryError, code="503"),
        PeerAnswer(429, {}, error=TransientDeliveryError, code="429"),
        PeerAnswer(400, {"error": "invalid recipient"}, error=PermanentDeliveryError, code="400"),
        PeerAnswer(404, "not here", error=PermanentDeliveryError, code="404"),
    ]
    recipient = SENDER

    def config(self, peer_url: str) -> dict:
        return {"signing_secret": "contract-secret", "delivery_url": f"{peer_url}/replies"}

    def sign(self, request: WebhookRequest, account: AccountContext) -> WebhookRequest:
        token = resident_token(account.config["signing_secret"], RESIDENT)
        return dataclasses.replace(request, headers={**request.headers, RESIDENT_HEADER: RESIDENT, TOKEN_HEADER: token})

    def tamper(self, request: WebhookRequest) -> WebhookRequest:
        # The token vouches for the resident: posing as another resident must fail.
        return dataclasses.replace(request, headers={**request.headers, RESIDENT_HEADER: "0" * 32})
