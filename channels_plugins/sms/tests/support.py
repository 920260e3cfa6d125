"""Shared test values: accounts on the peers, a frozen clock, helpers to set up a ticket."""
from __future__ import annotations

from typing import Any

from omnidesk.plugin_api.testing import utc

from channels_plugins.sms.adapter import SmsAdapter
from channels_plugins.sms.peers import BirdPeer, TwilioPeer

RECEIVED_AT = utc(2026, 11, 28, 13, 5)
RESIDENT = "+31612345678"
OUR_NUMBER = "+3197010203040"
TWILIO_SID = "AC" + "0f3a" * 8
TWILIO_TOKEN = "contract-auth-token"
BIRD_WORKSPACE = "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
BIRD_CHANNEL = "9c6a1d2e-4b3f-4e8a-9d1c-2f5e6a7b8c9d"
BIRD_ACCESS_KEY = "contract-access-key"
BIRD_SIGNING_KEY = "contract-signing-key"


class FrozenClockSmsAdapter(SmsAdapter):
    """Twilio's webhooks carry no time: the adapter stamps them on arrival. Tests freeze that clock."""

    clock = staticmethod(lambda: RECEIVED_AT)


def twilio_config(api_base_url: str, **changes: Any) -> dict[str, Any]:
    return {"provider": "twilio", "account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN, "from_number": OUR_NUMBER,
            "api_base_url": api_base_url, **changes}


def bird_config(api_base_url: str, **changes: Any) -> dict[str, Any]:
    return {"provider": "bird", "workspace_id": BIRD_WORKSPACE, "channel_id": BIRD_CHANNEL,
            "access_key": BIRD_ACCESS_KEY, "signing_key": BIRD_SIGNING_KEY, "api_base_url": api_base_url, **changes}


def twilio_peer() -> TwilioPeer:
    return TwilioPeer(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, number=OUR_NUMBER)


def bird_peer() -> BirdPeer:
    return BirdPeer(workspace_id=BIRD_WORKSPACE, channel_id=BIRD_CHANNEL, access_key=BIRD_ACCESS_KEY,
                    signing_key=BIRD_SIGNING_KEY, number=OUR_NUMBER)
