"""Shared by the WhatsApp tests: the accounts' config, signing, and short builders of expected events."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from omnidesk.plugin_api import (
    AccountContext,
    InboundAttachment,
    InboundMessage,
    ProfileUpdate,
    WebhookRequest,
)
from omnidesk.plugin_api.testing import utc

from channels_plugins.whatsapp.parsing import phone_identity, user_identity
from channels_plugins.whatsapp.signing import SIGNATURE_HEADER, signature

PHONE_NUMBER_ID = "112233445566778"
WABA_ID = "102290129340398"
APP_SECRET = "0f3c5d1e2a7b49c8a6e5d4c3b2a19080"
TOKEN = "EAAG-test-token-0123456789"
VERIFY_TOKEN = "verify-8a1f2e3d4c5b6a79"
SANNE, MO = phone_identity("31612345678"), phone_identity("31687654321")
LOTTE = user_identity("NL.1349120865530274191")
WAMID = "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTdFMjRBMEE0NkYxQzJGNjQ0%s"
OUR_WAMID = "wamid.HBgLMzE2MTIzNDU2NzgVAgARGBI4QjdEOUE2RjA1QzI0NkUxMzcA"


def config(base_url: str, **overrides: Any) -> dict[str, Any]:
    return {"phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID, "access_token": TOKEN,
            "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "graph_api_base_url": base_url,
            "graph_api_version": "v21.0", **overrides}


def sign(request: WebhookRequest, account: AccountContext) -> WebhookRequest:
    header = signature(account.config["app_secret"], request.body)
    return dataclasses.replace(request, headers={**request.headers, SIGNATURE_HEADER: header})


def at(minute: int, hour: int = 12, second: int = 0) -> datetime:
    return utc(2026, 11, 28, hour, minute, second)


def message(suffix: str, minute: int, text: str = "", *, sender=SANNE, name: str = "Sanne de Vries",  # type: ignore[no-untyped-def]
            **fields: Any) -> InboundMessage:
    wamid = fields.pop("provider_message_id", WAMID % suffix)
    return InboundMessage(provider_message_id=wamid, sender=sender, sender_name=name, text=text,
                          sent_at=at(minute, fields.pop("hour", 12), fields.pop("second", 0)), **fields)


def media(kind: str, media_id: str, sha256: str, content_type: str, filename: str = "") -> tuple[InboundAttachment]:
    extension = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4", "audio/ogg": ".ogg",
                 "image/webp": ".webp"}.get(content_type, "")
    return (InboundAttachment(filename=filename or f"{kind}-{media_id}{extension}", content_type=content_type,
                              provider_media_id=f"{media_id}|sha256={sha256}"),)


def profile(identity=SANNE, name: str = "Sanne de Vries") -> ProfileUpdate:  # type: ignore[no-untyped-def]
    return ProfileUpdate(identity=identity, display_name=name)
