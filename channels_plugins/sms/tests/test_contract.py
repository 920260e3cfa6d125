"""Both SMS providers run Omnidesk's plugin contract kit: one contract class per provider."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from omnidesk.plugin_api import (
    AccountContext,
    ConsentChange,
    DeliveryStatus,
    IdentityKind,
    IdentityRef,
    InboundAttachment,
    InboundMessage,
    PermanentDeliveryError,
    StatusUpdate,
    TransientDeliveryError,
    WebhookRequest,
)
from omnidesk.plugin_api.testing import ChannelContract, PeerAnswer, utc

from channels_plugins.sms.parsing import signed_url
from channels_plugins.sms.providers import bird, twilio
from channels_plugins.sms.tests.support import (
    RECEIVED_AT,
    RESIDENT,
    TWILIO_SID,
    FrozenClockSmsAdapter,
    bird_config,
    twilio_config,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SENDER = IdentityRef(IdentityKind.PHONE, RESIDENT)
TWILIO_MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages/MM{'b1' * 16}/Media/ME"


class ConsentAwareContract(ChannelContract):
    """The kit's redelivery test counts every Message row, but core adds a system event the first time a resident
    opts out or in (STOP/START fixtures). Count resident messages and consent events separately instead, each of
    which must be stored once however often the provider delivers. (Kit fix proposed: count inbound messages.)"""

    def test_redelivery_is_idempotent_end_to_end(self, db: Any, client: Any, contract_registered: Any) -> None:
        from omnidesk.channel_accounts.selectors import account_context
        from omnidesk.channel_accounts.services import channel_account_create
        from omnidesk.contacts.models import OptOut
        from omnidesk.tenants.services import municipality_create
        from omnidesk.tickets.models import Message

        row = channel_account_create(municipality=municipality_create(slug="contract-town", name="Contract Town"),
                                     plugin_key="sms", name="Contract", config=self.config("http://127.0.0.1:9"))
        account = account_context(row)
        inbound = Message.objects.filter(direction="inbound")
        events = Message.objects.filter(kind="event", metadata__event__in=["opted_out", "opted_in"])
        for name, expected in self.expected_events.items():
            messages = sum(isinstance(e, InboundMessage) for e in expected)
            consents = [e for e in expected if isinstance(e, ConsentChange)]
            if not messages:
                continue
            request = self.signed(name, account)
            before, events_before = inbound.count(), events.count()
            for attempt in range(2):
                response = client.generic("POST", f"/webhooks/{row.public_id}/", data=request.body,
                                          content_type=request.content_type,
                                          headers={k: v for k, v in request.headers.items() if k != "content-type"})
                assert response.status_code == 200, f"{name}: {response.status_code} {response.content[:300]!r}"
                assert response["Content-Type"].startswith(
                    "text/xml" if row.config["provider"] == "twilio" else "application/json")
                assert inbound.count() == before + messages, f"{name}: delivery {attempt + 1} stored wrongly"
                assert events.count() == events_before + len(consents), f"{name}: consent noted twice"
            for consent in consents:
                assert OptOut.objects.filter(channel_account=row).exists() is consent.opted_out


class TestTwilioContract(ConsentAwareContract):
    adapter_class = FrozenClockSmsAdapter
    fixtures_dir = FIXTURES / "twilio"
    recipient = SENDER
    expected_events = {
        "message__sms.form": [InboundMessage(
            provider_message_id="SM" + "a1" * 16, sender=SENDER, sent_at=RECEIVED_AT,
            text="Goedemiddag, mijn container is vandaag niet geleegd. Kunt u iemand sturen?",
            metadata={"provider": "twilio", "to": "+3197010203040", "num_segments": "1", "from_country": "NL"},
        )],
        "message__emoji.form": [InboundMessage(
            provider_message_id="SM" + "a2" * 16, sender=SENDER, sent_at=RECEIVED_AT,
            text="Dank u wel! 👍 Tot morgen\nGroet, Fatima",
            metadata={"provider": "twilio", "to": "+3197010203040", "num_segments": "1", "from_country": "NL"},
        )],
        "message__mms.form": [InboundMessage(
            provider_message_id="MM" + "b1" * 16, sender=SENDER, sent_at=RECEIVED_AT,
            text="Hier is de foto van de kapotte lantaarnpaal",
            attachments=(
                InboundAttachment(filename=f"ME{'c1' * 16}.jpg", content_type="image/jpeg",
                                  provider_media_id=TWILIO_MEDIA + "c1" * 16),
                InboundAttachment(filename=f"ME{'c2' * 16}.png", content_type="image/png",
                                  provider_media_id=TWILIO_MEDIA + "c2" * 16),
            ),
            metadata={"provider": "twilio", "to": "+3197010203040", "num_segments": "1", "from_country": "NL"},
        )],
        # The agent sees the resident's words, and the opt-out is recorded beside them.
        "message__stop.form": [
            InboundMessage(provider_message_id="SM" + "d1" * 16, sender=SENDER, sent_at=RECEIVED_AT, text=" Stop ",
                           metadata={"provider": "twilio", "to": "+3197010203040", "num_segments": "1",
                                     "from_country": "NL"}),
            ConsentChange(sender=SENDER, opted_out=True, keyword="STOP", occurred_at=RECEIVED_AT),
        ],
        "message__start.form": [
            InboundMessage(provider_message_id="SM" + "d2" * 16, sender=SENDER, sent_at=RECEIVED_AT, text="start",
                           metadata={"provider": "twilio", "to": "+3197010203040", "num_segments": "1",
                                     "from_country": "NL"}),
            ConsentChange(sender=SENDER, opted_out=False, keyword="START", occurred_at=RECEIVED_AT),
        ],
        "status__sent.form": [StatusUpdate("SM" + "e1" * 16, DeliveryStatus.SENT, RECEIVED_AT)],
        "status__delivered.form": [StatusUpdate("SM" + "e1" * 16, DeliveryStatus.DELIVERED, utc(2026, 11, 28, 13, 6))],
        "status__undelivered.form": [StatusUpdate(
            "SM" + "e2" * 16, DeliveryStatus.FAILED, RECEIVED_AT, error_code="30003",
            error_message="The phone is switched off or out of reach.")],
        "status__failed.form": [StatusUpdate(
            "SM" + "e3" * 16, DeliveryStatus.FAILED, RECEIVED_AT, error_code="30007",
            error_message="The carrier filtered the message as unwanted.")],
        "status__partially_delivered.form": [],  # a status word we do not map is ignored, not an error
    }
    send_path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    send_success = PeerAnswer(201, {"sid": "SM" + "f0" * 16, "status": "queued", "num_segments": "1"},
                              provider_message_id="SM" + "f0" * 16)
    send_errors = [
        PeerAnswer(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400},
                   error=PermanentDeliveryError, code="21610"),
        PeerAnswer(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400},
                   error=PermanentDeliveryError, code="21211"),
        PeerAnswer(401, {"code": 20003, "message": "Authenticate", "status": 401},
                   error=PermanentDeliveryError, code="20003"),
        PeerAnswer(429, {"code": 20429, "message": "Too Many Requests", "status": 429}, headers={"Retry-After": "12"},
                   error=TransientDeliveryError, code="20429"),
        PeerAnswer(500, {"code": 20500, "message": "Internal Server Error", "status": 500},
                   error=TransientDeliveryError, code="20500"),
        PeerAnswer(503, "<html>Service Unavailable</html>", error=TransientDeliveryError, code="503"),
    ]

    def config(self, peer_url: str) -> dict:
        return twilio_config(peer_url)

    def sign(self, request: WebhookRequest, account: AccountContext) -> WebhookRequest:
        url = signed_url(request.url, account.config.get("public_base_url", ""))
        value = twilio.signature(account.config["auth_token"], url, twilio.form_params(request.body))
        return dataclasses.replace(request, headers={**request.headers, "x-twilio-signature": value})


class TestBirdContract(ConsentAwareContract):
    adapter_class = FrozenClockSmsAdapter
    fixtures_dir = FIXTURES / "bird"
    recipient = SENDER
    expected_events = {
        "message__sms.json": [InboundMessage(
            provider_message_id="3f0e1a2b-0001-4c5d-8e9f-a0b1c2d3e4f5", sender=SENDER,
            sent_at=utc(2026, 11, 28, 13, 5, 0) .replace(microsecond=250000),
            text="Wanneer wordt het grofvuil opgehaald?", metadata={"provider": "bird"},
        )],
        "message__mms.json": [InboundMessage(
            provider_message_id="3f0e1a2b-0002-4c5d-8e9f-a0b1c2d3e4f5", sender=SENDER, sent_at=utc(2026, 11, 28, 13, 6),
            text="Foto van de losliggende stoeptegel", metadata={"provider": "bird"},
            attachments=(InboundAttachment(
                filename="5d6e7f80-9a0b-4c1d-8e2f-3a4b5c6d7e8f", content_type="image/jpeg",
                provider_media_id="https://media.api.bird.com/workspaces/1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6/messages/"
                                  "3f0e1a2b-0002-4c5d-8e9f-a0b1c2d3e4f5/media/5d6e7f80-9a0b-4c1d-8e2f-3a4b5c6d7e8f"),),
        )],
        "message__stop.json": [
            InboundMessage(provider_message_id="3f0e1a2b-0003-4c5d-8e9f-a0b1c2d3e4f5", sender=SENDER,
                           sent_at=utc(2026, 11, 28, 13, 7), text="STOP", metadata={"provider": "bird"}),
            ConsentChange(sender=SENDER, opted_out=True, keyword="STOP", occurred_at=utc(2026, 11, 28, 13, 7)),
        ],
        "message__start.json": [
            InboundMessage(provider_message_id="3f0e1a2b-0004-4c5d-8e9f-a0b1c2d3e4f5", sender=SENDER,
                           sent_at=utc(2026, 11, 28, 13, 8), text="Yes", metadata={"provider": "bird"}),
            ConsentChange(sender=SENDER, opted_out=False, keyword="YES", occurred_at=utc(2026, 11, 28, 13, 8)),
        ],
        "status__sent.json": [StatusUpdate("6a7b8c9d-0001-4e0f-8a1b-2c3d4e5f6a7b", DeliveryStatus.SENT,
                                           utc(2026, 11, 28, 13, 10, 1))],
        "status__delivered.json": [StatusUpdate("6a7b8c9d-0001-4e0f-8a1b-2c3d4e5f6a7b", DeliveryStatus.DELIVERED,
                                                utc(2026, 11, 28, 13, 10, 7).replace(microsecond=500000))],
        "status__delivery_failed.json": [StatusUpdate(
            "6a7b8c9d-0002-4e0f-8a1b-2c3d4e5f6a7b", DeliveryStatus.FAILED, utc(2026, 11, 28, 13, 11),
            error_code="15005",
            error_message="The number does not exist or is no longer in use. "
                          "(details: unknown subscriber; reason: unknown_subscriber; code: 1)")],
        "status__sending_failed.json": [StatusUpdate(
            "6a7b8c9d-0003-4e0f-8a1b-2c3d4e5f6a7b", DeliveryStatus.FAILED, utc(2026, 11, 28, 13, 12),
            error_code="12001", error_message="The Bird account has insufficient balance.")],
        "event__whatsapp_inbound.json": [],  # another platform on the same Bird webhook: not ours
    }
    send_path = "/workspaces/1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6/channels/9c6a1d2e-4b3f-4e8a-9d1c-2f5e6a7b8c9d/messages"
    send_success = PeerAnswer(202, {"id": "0b1c2d3e-aaaa-4bbb-8ccc-000000000001", "status": "accepted"},
                              provider_message_id="0b1c2d3e-aaaa-4bbb-8ccc-000000000001")
    send_errors = [
        PeerAnswer(422, {"code": "InvalidPayload", "message": "identifierValue is not a phone number"},
                   error=PermanentDeliveryError, code="InvalidPayload"),
        PeerAnswer(401, {"code": "Unauthorized", "message": "Invalid access key"}, error=PermanentDeliveryError,
                   code="Unauthorized"),
        PeerAnswer(404, {"code": "NotFound", "message": "channel not found"}, error=PermanentDeliveryError,
                   code="NotFound"),
        PeerAnswer(429, {"code": "TooManyRequests", "message": "slow down"}, headers={"Retry-After": "3"},
                   error=TransientDeliveryError, code="TooManyRequests"),
        PeerAnswer(500, {}, error=TransientDeliveryError, code="500"),
        PeerAnswer(502, "bad gateway", error=TransientDeliveryError, code="502"),
    ]

    def config(self, peer_url: str) -> dict:
        return bird_config(peer_url)

    def sign(self, request: WebhookRequest, account: AccountContext) -> WebhookRequest:
        url = signed_url(request.url, account.config.get("public_base_url", ""))
        stamp = str(int(time.time()))
        value = bird.signature(account.config["signing_key"], stamp, url, request.body)
        return dataclasses.replace(request, headers={**request.headers, "messagebird-signature": value,
                                                     "messagebird-request-timestamp": stamp})
