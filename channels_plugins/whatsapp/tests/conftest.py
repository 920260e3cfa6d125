from __future__ import annotations

from collections.abc import Iterator

import pytest

from omnidesk.plugin_api import AccountContext

from channels_plugins.whatsapp.adapter import WhatsAppAdapter
from channels_plugins.whatsapp.peer import GraphPeer
from channels_plugins.whatsapp.tests.support import APP_SECRET, PHONE_NUMBER_ID, TOKEN, VERIFY_TOKEN, WABA_ID


@pytest.fixture
def peer() -> Iterator[GraphPeer]:
    with GraphPeer(phone_number_id=PHONE_NUMBER_ID, business_account_id=WABA_ID, access_token=TOKEN,
                   app_secret=APP_SECRET, verify_token=VERIFY_TOKEN) as running:
        yield running


@pytest.fixture
def wa_account(peer: GraphPeer) -> AccountContext:
    form = WhatsAppAdapter.config_form(data=peer.account_config())
    assert form.is_valid(), form.errors
    return AccountContext(public_id="wa-test", name="WhatsApp", municipality_slug="utrecht", config=form.cleaned_data,
                          webhook_url="https://omnidesk.example/webhooks/wa-test/")
