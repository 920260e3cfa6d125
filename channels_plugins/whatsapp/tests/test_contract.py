"""The WhatsApp plugin runs Omnidesk's contract kit: every fixture, signatures, redelivery, sends and errors."""
from __future__ import annotations

from pathlib import Path

from omnidesk.plugin_api import (
    AccountContext,
    DeliveryStatus,
    AccountProblem,
    PermanentDeliveryError,
    Reaction,
    StatusUpdate,
    TransientDeliveryError,
    WebhookRequest,
)
from omnidesk.plugin_api.testing import ChannelContract, PeerAnswer

from channels_plugins.whatsapp.adapter import WhatsAppAdapter
from channels_plugins.whatsapp.peer import meta_error
from channels_plugins.whatsapp.tests.support import (
    LOTTE, MO, OUR_WAMID, PHONE_NUMBER_ID, SANNE, WAMID, at, config, media, message, profile, sign,
)

REACTED_TO = "wamid.HBgLMzE2MTIzNDU2NzgVAgARGBIyRjVEMEU3QkE5QzM4MDNBNEQA"
MO_NAME = "Mohammed El Amrani"


def status(state: DeliveryStatus, occurred_at, wamid: str = OUR_WAMID, reference: str = "4242",  # type: ignore[no-untyped-def]
           **errors: str) -> StatusUpdate:
    # The status fixtures echo our message id (4242, or 4243) in biz_opaque_callback_data.
    return StatusUpdate(provider_message_id=wamid, status=state, occurred_at=occurred_at, client_reference=reference,
                        **errors)


class TestWhatsAppContract(ChannelContract):
    adapter_class = WhatsAppAdapter
    fixtures_dir = Path(__file__).resolve().parent.parent / "fixtures"
    expected_events = {
        "message__text.json": [
            message("MTA=", 0, "Goedemiddag, de lantaarnpaal voor Dorpsstraat 12 is al een week kapot. Kunt u dat doorgeven?"),
            profile(),
        ],
        "message__image.json": [
            message("MTE=", 1, "Zo ziet de stoep eruit 📷", metadata={"whatsapp_type": "image"},
                    attachments=media("image", "1456789012345678", "qq2UBEeAg5Ea4MEmPDi9GYBiG8NiQCEkb9t8N/X3n0k=",
                                      "image/jpeg")),
            profile(),
        ],
        "message__video.json": [
            message("MTI=", 2, metadata={"whatsapp_type": "video"},
                    attachments=media("video", "1567890123456789", "hB5ttHFvmS0X0rpMkN0cGdc/oq6nhs4l1VNi2TTPH0E=",
                                      "video/mp4")),
            profile(),
        ],
        "message__audio_voice.json": [
            message("MTM=", 3, metadata={"whatsapp_type": "audio", "voice": True},
                    attachments=media("voice", "1678901234567890", "Fw5AcqqZ8dz5NCEFvS/xx/ZRXS3rR+RTMlwzfxBXRUc=",
                                      "audio/ogg")),
            profile(),
        ],
        "message__document.json": [
            message("MTQ=", 4, "Mijn bezwaarschrift", sender=MO, name=MO_NAME, metadata={"whatsapp_type": "document"},
                    attachments=media("document", "1789012345678901", "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                                      "application/pdf", filename="bezwaar-WOZ-2026.pdf")),
            profile(MO, MO_NAME),
        ],
        "message__sticker.json": [
            message("MTU=", 5, metadata={"whatsapp_type": "sticker"},
                    attachments=media("sticker", "1890123456789012", "kYbTKD6tZNZ8G9rZRm0mDIfCUpS9Pq+A7lrz0qD2ZgQ=",
                                      "image/webp")),
            profile(),
        ],
        "message__location.json": [
            message("MTY=", 6, "📍 Stadhuis Utrecht\nStadsplateau 1, 3521 AZ Utrecht\n"
                    "https://www.openstreetmap.org/?mlat=52.0907&mlon=5.1214#map=18/52.0907/5.1214",
                    metadata={"whatsapp_type": "location", "location": {
                        "latitude": 52.0907, "longitude": 5.1214, "name": "Stadhuis Utrecht",
                        "address": "Stadsplateau 1, 3521 AZ Utrecht"}}),
            profile(),
        ],
        "message__contacts.json": [
            message("MTc=", 7, "👤 Pieter Jansen, +31 6 11122233, pieter.jansen@example.nl",
                    metadata={"whatsapp_type": "contacts", "contacts": [
                        {"name": "Pieter Jansen", "phones": ["+31 6 11122233"], "emails": ["pieter.jansen@example.nl"]}]}),
            profile(),
        ],
        "message__interactive_button_reply.json": [
            message("MTg=", 8, "Ja, graag", in_reply_to="wamid.HBgLMzE2MTIzNDU2NzgVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA",
                    metadata={"whatsapp_type": "interactive",
                              "interactive": {"type": "button_reply", "id": "afspraak_ja", "title": "Ja, graag"}}),
            profile(),
        ],
        "message__interactive_list_reply.json": [
            message("MTk=", 9, "Grofvuil ophalen\nEen afspraak voor grofvuil maken",
                    metadata={"whatsapp_type": "interactive", "interactive": {
                        "type": "list_reply", "id": "afval_grofvuil", "title": "Grofvuil ophalen"}}),
            profile(),
        ],
        "message__template_button.json": [
            message("MjA=", 10, "Ik kom", in_reply_to="wamid.HBgLMzE2MTIzNDU2NzgVAgARGBJGMjQ1QTg5QkU0QzE3NkQ4MjAA",
                    metadata={"whatsapp_type": "button", "button": {"payload": "HERINNERING_BEVESTIG", "text": "Ik kom"}}),
            profile(),
        ],
        "message__reaction.json": [
            Reaction(provider_message_id=WAMID % "MjE=", target_provider_message_id=REACTED_TO, sender=SANNE,
                     emoji="👍", sent_at=at(11)),
            profile(),
        ],
        "message__reaction_removed.json": [
            Reaction(provider_message_id=WAMID % "MjI=", target_provider_message_id=REACTED_TO, sender=SANNE,
                     emoji="", sent_at=at(12)),
            profile(),
        ],
        "message__reply_with_context.json": [
            message("MjM=", 13, "Dank u, en wanneer wordt het gerepareerd?", in_reply_to=REACTED_TO),
            profile(),
        ],
        "message__forwarded.json": [
            message("MjQ=", 14, "Let op: de Kerkstraat is morgen afgesloten voor werkzaamheden.", sender=MO, name=MO_NAME,
                    metadata={"forwarded": True}),
            profile(MO, MO_NAME),
        ],
        "message__unsupported.json": [
            message("MjU=", 15, "[This WhatsApp message type is not supported (Message type is currently not supported)"
                    "; ask the resident to send it differently.]",
                    metadata={"whatsapp_type": "unsupported", "placeholder": True, "errors": [
                        {"code": 131051, "title": "Message type unknown",
                         "details": "Message type is currently not supported."}]}),
            profile(),
        ],
        "message__unknown_future_type.json": [
            message("MjY=", 16, "[A WhatsApp message of type “hologram” that Omnidesk cannot show yet]",
                    metadata={"whatsapp_type": "hologram", "placeholder": True}),
            profile(),
        ],
        "message__other_phone_number_id.json": [],
        "message__user_id_without_phone.json": [
            message("", 18, "Hallo, ik heb een vraag over mijn parkeervergunning.", sender=LOTTE, name="Lotte",
                    provider_message_id="wamid.HBgUTkwuMTM0OTEyMDg2NTUzMDI3NDE5MRUCABIYFDNBMDFGRkNEMzI1RTk4RjE1NzE0AA=="),
            profile(LOTTE, "Lotte"),
        ],
        "status__sent.json": [status(DeliveryStatus.SENT, at(0, 13))],
        "status__delivered.json": [status(DeliveryStatus.DELIVERED, at(0, 13, 2))],
        "status__read.json": [status(DeliveryStatus.READ, at(1, 13))],
        "status__failed_window_closed.json": [
            status(DeliveryStatus.FAILED, at(2, 13), wamid="wamid.HBgLMzE2ODc2NTQzMjEVAgARGBJBMUIyQzNENEU1RjYwNzE4MjkA",
                   reference="4243", error_code="131047", error_message="More than 24 hours have passed since the resident's last "
                   "message: send an approved template instead."),
        ],
        "batch__messages_and_statuses.json": [
            message("MzA=", 0, "Ik heb nog een vraag.", hour=14),
            message("", 0, "Is het zwembad morgen open?", sender=MO, name=MO_NAME, hour=14, second=5,
                    provider_message_id="wamid.HBgLMzE2ODc2NTQzMjEVAgASGBQzRUIwQjE2QjA4RDBGRjM4RDJBMQA="),
            profile(),
            profile(MO, MO_NAME),
            status(DeliveryStatus.READ, at(1, 14)),
            status(DeliveryStatus.DELIVERED, at(0, 14, 30)),
            message("MzE=", 2, hour=14, metadata={"whatsapp_type": "image"},
                    attachments=media("image", "2012345678901234", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                                      "image/png")),
            profile(),
        ],
    }
    send_path = f"/v21.0/{PHONE_NUMBER_ID}/messages"
    send_success = PeerAnswer(
        200,
        {"messaging_product": "whatsapp", "contacts": [{"input": "31612345678", "wa_id": "31612345678"}],
         "messages": [{"id": "wamid.HBgLMzE2MTIzNDU2NzgVAgARGBJDOEE4QTlFOTEyRDkwQUM2OTMA", "message_status": "accepted"}]},
        provider_message_id="wamid.HBgLMzE2MTIzNDU2NzgVAgARGBJDOEE4QTlFOTEyRDkwQUM2OTMA",
    )
    send_errors = [
        PeerAnswer(400, meta_error(130429, "(#130429) Rate limit hit"), error=TransientDeliveryError, code="130429"),
        PeerAnswer(400, meta_error(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit"),
                   error=TransientDeliveryError, code="131056"),
        PeerAnswer(500, meta_error(131000, "Something went wrong"), error=TransientDeliveryError, code="131000"),
        PeerAnswer(503, meta_error(2, "Service temporarily unavailable"), error=TransientDeliveryError, code="2"),
        PeerAnswer(502, "<html>Bad Gateway</html>", error=TransientDeliveryError, code="502"),
        PeerAnswer(429, {}, headers={"Retry-After": "7"}, error=TransientDeliveryError, code="429"),
        PeerAnswer(400, meta_error(131047, "Re-engagement message"), error=PermanentDeliveryError, code="131047"),
        PeerAnswer(400, meta_error(131026, "Message undeliverable"), error=PermanentDeliveryError, code="131026"),
        PeerAnswer(404, meta_error(132001, "Template name does not exist in the translation"),
                   error=PermanentDeliveryError, code="132001"),
        # The account itself is unusable: core flags it for an administrator.
        PeerAnswer(401, meta_error(190, "Error validating access token", subcode=463), error=AccountProblem,
                   code="190"),
        PeerAnswer(403, meta_error(368, "Temporarily blocked for policies violations"), error=AccountProblem,
                   code="368"),
        PeerAnswer(400, meta_error(131031, "Account has been locked"), error=AccountProblem, code="131031"),
        PeerAnswer(400, meta_error(131051, "Unsupported message type"), error=PermanentDeliveryError, code="131051"),
    ]
    recipient = SANNE

    def config(self, peer_url: str) -> dict:
        return config(peer_url)

    def sign(self, request: WebhookRequest, account: AccountContext) -> WebhookRequest:
        return sign(request, account)
