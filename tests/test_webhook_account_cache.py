"""The webhooks' account cache (inbound/webhook_accounts.py): a change of the account takes effect at the next
webhook, as if nothing were cached, because the journal insert checks the cached account's fingerprint."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import channel_account_set_enabled, channel_account_update_config
from omnidesk.inbound.models import JournalEntry
from omnidesk.inbound.webhook_accounts import webhook_account
from omnidesk.sunset.models import SunsetContact
from omnidesk.tickets.models import Message
from tests.conftest import new_resident_id, post_sandbox, sandbox_headers
from tests.factories import sandbox_account

pytestmark = pytest.mark.django_db(transaction=True)


def _say(client, account, text: str, resident: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    return post_sandbox(client, account, {"id": f"m-{text}", "text": text}, resident or new_resident_id(), **headers)


def test_the_account_is_read_once_and_then_served_from_the_cache(client, municipality):
    account = sandbox_account(municipality)
    assert _say(client, account, "een").status_code == 200
    cached = webhook_account(account.public_id)
    assert cached is not None and cached.cached and cached.fingerprint
    # Inline ingest stores the message in the same request; the account is not looked up by its address again.
    with CaptureQueriesContext(connection) as queries:
        assert _say(client, account, "twee").status_code == 200
    assert queries.captured_queries
    assert not any('FROM "channel_accounts_channelaccount" WHERE "channel_accounts_channelaccount"."public_id"'
                   in q["sql"] for q in queries.captured_queries)
    assert Message.objects.filter(channel_account=account, text="twee").exists()


def test_a_new_secret_works_at_once_and_the_old_one_no_longer(client, municipality):
    account = sandbox_account(municipality)
    assert _say(client, account, "voor").status_code == 200  # cached with the old secret
    channel_account_update_config(account=account, config={**account.config, "signing_secret": "n1euw-geheim"})

    resident = new_resident_id()
    assert _say(client, account, "nieuw", resident, **sandbox_headers(resident, "n1euw-geheim")).status_code == 200
    assert Message.objects.filter(channel_account=account, text="nieuw").exists()
    assert _say(client, account, "oud").status_code == 403  # signed with the old secret
    assert not Message.objects.filter(channel_account=account, text="oud").exists()


def test_switching_off_takes_effect_at_the_next_webhook(client, municipality):
    account = sandbox_account(municipality)
    assert _say(client, account, "aan").status_code == 200
    channel_account_set_enabled(account=account, enabled=False)

    response = _say(client, account, "uit")
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert not Message.objects.filter(channel_account=account, text="uit").exists()
    assert not JournalEntry.objects.filter(channel_account=account).exists()
    assert SunsetContact.objects.filter(channel_account=account).count() == 1


def test_a_removed_account_is_unknown_at_once(client, municipality):
    account = sandbox_account(municipality)
    webhook_account(account.public_id)
    assert webhook_account(account.public_id).cached  # type: ignore[union-attr]
    ChannelAccount.objects.filter(pk=account.pk).delete()
    assert _say(client, account, "weg").status_code == 404
    assert webhook_account(account.public_id) is None
