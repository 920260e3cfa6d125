"""Inbound by polling: the cursor moves only with the committed messages, so restarts neither lose nor duplicate."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.utils.timezone import now as dj_now

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.inbound.polling import poll_account, polling_account_ids
from omnidesk.plugin_api import (
    AccountContext,
    Capabilities,
    ChannelAdapter,
    IdentityKind,
    IdentityRef,
    InboundMessage,
    PollResult,
)
from omnidesk.plugin_api.testing import registered
from omnidesk.tickets.models import Message

# The provider's mailbox: (id, sender, text), oldest first. A test appends to it.
MAILBOX: list[tuple[int, str, str]] = []


class CrashAfterFetch(Exception):
    pass


class PollingAdapter(ChannelAdapter):
    key = "testpoll"
    verbose_name = "Polling test channel"
    capabilities = Capabilities(identity_kind=IdentityKind.EMAIL, polling=True, poll_interval_seconds=60, webhooks=False)
    crash_next = False

    def poll(self, account: AccountContext, cursor: str) -> PollResult:
        last = int(cursor or 0)
        new = [item for item in MAILBOX if item[0] > last]
        events = tuple(
            InboundMessage(
                provider_message_id=f"mail-{uid}",
                sender=IdentityRef(IdentityKind.EMAIL, sender),
                text=text,
                sent_at=datetime(2026, 11, 28, tzinfo=timezone.utc),
            )
            for uid, sender, text in new
        )
        if PollingAdapter.crash_next:
            PollingAdapter.crash_next = False
            raise CrashAfterFetch("connection lost after fetching")
        return PollResult(events=events, cursor=str(new[-1][0] if new else last))


@pytest.fixture
def polling_plugin():
    MAILBOX.clear()
    with registered(PollingAdapter):
        yield PollingAdapter
    MAILBOX.clear()


@pytest.fixture
def polling_account(polling_plugin, municipality):
    return channel_account_create(municipality=municipality, plugin_key="testpoll", name="Mailbox", config={})


def test_poll_ingests_new_messages_and_advances_cursor(polling_account):
    MAILBOX.extend([(1, "Inwoner@Example.nl", "Eerste vraag"), (2, "inwoner@example.nl", "Tweede vraag")])

    assert poll_account(polling_account.id) == 2
    polling_account.refresh_from_db()
    assert polling_account.poll_cursor == "2"
    assert polling_account.last_polled_at is not None
    texts = list(Message.objects.order_by("id").values_list("text", flat=True))
    assert texts == ["Eerste vraag", "Tweede vraag"]
    # Both mails come from one address: one contact, one ticket.
    assert Message.objects.values("ticket").distinct().count() == 1

    MAILBOX.append((3, "inwoner@example.nl", "Derde vraag"))
    assert poll_account(polling_account.id) == 1
    assert poll_account(polling_account.id) == 0
    assert Message.objects.count() == 3


def test_crash_after_fetch_keeps_cursor_and_nothing_doubles(polling_account, polling_plugin):
    MAILBOX.extend([(1, "a@example.nl", "Vraag een")])
    assert poll_account(polling_account.id) == 1

    MAILBOX.extend([(2, "a@example.nl", "Vraag twee")])
    polling_plugin.crash_next = True
    with pytest.raises(CrashAfterFetch):
        poll_account(polling_account.id)
    polling_account.refresh_from_db()
    assert polling_account.poll_cursor == "1"
    assert Message.objects.count() == 1

    assert poll_account(polling_account.id) == 1
    assert list(Message.objects.order_by("id").values_list("text", flat=True)) == ["Vraag een", "Vraag twee"]


def test_cursor_reset_does_not_duplicate(polling_account):
    """A lost cursor (e.g. restored backup) refetches everything; ingest is idempotent on the provider id."""
    MAILBOX.extend([(1, "b@example.nl", "Een"), (2, "b@example.nl", "Twee")])
    assert poll_account(polling_account.id) == 2
    ChannelAccount.objects.filter(pk=polling_account.pk).update(poll_cursor="")
    assert poll_account(polling_account.id) == 0
    assert Message.objects.count() == 2


def test_only_enabled_due_polling_accounts_are_scheduled(polling_account, municipality, account):
    assert polling_account.id in polling_account_ids()
    assert account.id not in polling_account_ids()  # the sandbox does not poll
    poll_account(polling_account.id)
    assert polling_account.id not in polling_account_ids()  # polled just now; interval not yet passed
    ChannelAccount.objects.filter(pk=polling_account.pk).update(enabled=False, last_polled_at=None)
    assert polling_account.id not in polling_account_ids()
    assert poll_account(polling_account.id) == 0


class FlakyPollingAdapter(PollingAdapter):
    key = "testflaky"
    verbose_name = "Flaky polling channel"
    error: Exception | None = None
    batches: list[PollResult] = []

    def poll(self, account: AccountContext, cursor: str) -> PollResult:
        if FlakyPollingAdapter.error is not None:
            raise FlakyPollingAdapter.error
        if FlakyPollingAdapter.batches:
            return FlakyPollingAdapter.batches.pop(0)
        return PollResult(events=(), cursor=cursor)


@pytest.fixture
def flaky_account(municipality):  # type: ignore[no-untyped-def]
    FlakyPollingAdapter.error, FlakyPollingAdapter.batches = None, []
    with registered(FlakyPollingAdapter):
        yield channel_account_create(municipality=municipality, plugin_key="testflaky", name="Flaky", config={})


def test_an_unreachable_mailbox_backs_off_and_is_flagged_after_three_failures(flaky_account):
    from omnidesk.plugin_api import TransientDeliveryError

    FlakyPollingAdapter.error = TransientDeliveryError("IMAP server imap.example.nl could not be reached.")
    for expected_failures in (1, 2):
        assert poll_account(flaky_account.id) == 0
        flaky_account.refresh_from_db()
        assert (flaky_account.poll_failures, flaky_account.problem) == (expected_failures, "")
    # Backing off: not due after the 60 s interval, due after twice that.
    ChannelAccount.objects.filter(pk=flaky_account.pk).update(last_polled_at=dj_now() - timedelta(seconds=90))
    assert flaky_account.id not in polling_account_ids()
    ChannelAccount.objects.filter(pk=flaky_account.pk).update(last_polled_at=dj_now() - timedelta(seconds=130))
    assert flaky_account.id in polling_account_ids()
    poll_account(flaky_account.id)
    flaky_account.refresh_from_db()
    assert flaky_account.problem == "IMAP server imap.example.nl could not be reached."
    FlakyPollingAdapter.error = None
    poll_account(flaky_account.id)
    flaky_account.refresh_from_db()
    assert (flaky_account.poll_failures, flaky_account.problem) == (0, "")


def test_a_refused_login_flags_the_account_at_once(flaky_account):
    from omnidesk.plugin_api import AccountProblem

    FlakyPollingAdapter.error = AccountProblem("The IMAP server refused the login of info@gemeente.nl.")
    poll_account(flaky_account.id)
    flaky_account.refresh_from_db()
    assert flaky_account.problem.startswith("The IMAP server refused the login")


def test_a_poll_with_more_waiting_is_repeated_at_once(flaky_account):
    def batch(uid: int, more: bool) -> PollResult:
        return PollResult(events=(InboundMessage(provider_message_id=f"m{uid}", text=f"Bericht {uid}",
                                                 sender=IdentityRef(IdentityKind.EMAIL, "c@example.nl"),
                                                 sent_at=datetime(2026, 11, 29, tzinfo=timezone.utc)),),
                          cursor=str(uid), more=more)

    FlakyPollingAdapter.batches = [batch(1, True), batch(2, True), batch(3, False), batch(4, False)]
    assert poll_account(flaky_account.id) == 3
    flaky_account.refresh_from_db()
    assert flaky_account.poll_cursor == "3"
