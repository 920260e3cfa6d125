"""What core offers to plugins' own pages and sockets, in boundary types only (never models)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from omnidesk.plugin_api.errors import PermanentDeliveryError
from omnidesk.plugin_api.events import (
    AccountContext,
    HistoryItem,
    IdentityRef,
    InboundEvent,
    InboundMessage,
    OutboundAttachment,
)


@dataclass(frozen=True)
class AccountNotice:
    """What a resident-facing page must tell residents about an account besides the conversation (API 1.2)."""

    enabled: bool  # False: switched off; show `alternatives` instead of a conversation
    alternatives: dict[str, str]  # {"nl": …, "en": …}: the sunset texts (where else to go); {} when none are set
    crisis: dict[str, str]  # {"nl": …, "en": …} while the municipality's crisis mode is on; {} otherwise
    open_now: bool  # inside the account's (or else the municipality's) business hours; always True without hours
    next_opening: datetime | None  # when closed: the start of the next opening period, if there is one


def account_for(public_id: str, plugin_key: str, *, include_switched_off: bool = False) -> AccountContext | None:
    """The enabled account with this public id, if it belongs to the calling plugin.

    `include_switched_off=True` (API 1.2) also returns a switched-off account, for pages that must still tell
    residents where to go instead (see `account_notice`); `receive` keeps refusing such an account.
    """
    from omnidesk.channel_accounts.selectors import account_by_public_id, account_context

    account = account_by_public_id(public_id)
    if account is None or account.plugin_key != plugin_key or not (account.enabled or include_switched_off):
        return None
    return account_context(account)


def account_notice(public_id: str, plugin_key: str) -> AccountNotice | None:
    """Whether the account is switched on, what to say if not, the crisis message, and the business hours (API 1.2).

    None when there is no such account of the calling plugin.
    """
    from django.utils import timezone

    from omnidesk.channel_accounts.selectors import account_by_public_id
    from omnidesk.hours.selectors import schedule_for
    from omnidesk.sunset.selectors import sunset_texts
    from omnidesk.tenants.crisis import crisis_texts

    account = account_by_public_id(public_id)
    if account is None or account.plugin_key != plugin_key:
        return None
    now = timezone.now()
    schedule = schedule_for(account.municipality, account.pk)
    open_now = schedule.is_open(now)
    return AccountNotice(enabled=account.enabled, alternatives=sunset_texts(account),
                         crisis=crisis_texts(account.municipality), open_now=open_now,
                         next_opening=None if open_now else schedule.next_opening(now))


def conversation_history(
    account: AccountContext, identity: IdentityRef, *, limit: int = 200, after: int = 0
) -> list[HistoryItem]:
    """The resident-visible messages (no internal notes or system events) between this address and account,
    oldest first; with `after`, only those with a higher id (what a reconnecting client missed)."""
    from omnidesk.tickets.selectors import resident_history

    return resident_history(public_id=account.public_id, identity=identity, limit=limit, after=after)


def history_item(account: AccountContext, provider_message_id: str) -> HistoryItem | None:
    """The stored resident-visible message with this provider id on this account, as a history item."""
    from omnidesk.tickets.selectors import history_item as find

    return find(public_id=account.public_id, provider_message_id=provider_message_id)


def receive(account: AccountContext, events: Sequence[InboundEvent]) -> None:
    """Store events a plugin received by its own means (its own page or socket), exactly as a webhook's.

    Idempotent on provider ids, like every ingest. Raises InvalidEvent for an event core cannot accept.
    """
    from omnidesk.channel_accounts.selectors import account_by_public_id
    from omnidesk.inbound.services import ingest_events

    row = account_by_public_id(account.public_id)
    if row is None or not row.enabled:
        raise PermissionError("This channel account is switched off.")
    ingest_events(account=row, events=tuple(events))


def forward_to(account: AccountContext, target_public_id: str, message: InboundMessage) -> bool:
    """Store a message as if it had come in on another account of the same municipality (e.g. a livechat's
    offline form becoming an email ticket, answered by email). False when there is no such enabled account."""
    from omnidesk.channel_accounts.selectors import account_by_public_id
    from omnidesk.inbound.services import ingest_events

    source, target = account_by_public_id(account.public_id), account_by_public_id(target_public_id)
    if source is None or target is None or not target.enabled or target.municipality_id != source.municipality_id:
        return False
    ingest_events(account=target, events=(message,))
    return True


def sibling_accounts(account: AccountContext, plugin_key: str) -> list[tuple[str, str]]:
    """(public id, name) of the enabled accounts of a plugin in the same municipality, for a plugin's settings."""
    from omnidesk.channel_accounts.models import ChannelAccount

    return list(ChannelAccount.objects.filter(municipality__slug=account.municipality_slug, plugin_key=plugin_key,
                                              enabled=True).values_list("public_id", "name"))


def message_id(account: AccountContext, provider_message_id: str) -> int | None:
    """Core's id of the message with this provider id on this account (what history items carry)."""
    from omnidesk.tickets.models import Message

    return (Message.objects.filter(channel_account__public_id=account.public_id,
                                   provider_message_id=provider_message_id).values_list("pk", flat=True).first())


def resident_typing(account: AccountContext, identity: IdentityRef, on: bool) -> None:
    """Show agents that a resident is (no longer) typing, on the resident's latest ticket of this account."""
    from omnidesk.contacts.normalise import InvalidIdentity, normalise
    from omnidesk.realtime.services import signal
    from omnidesk.tickets.models import Ticket

    try:
        ref = normalise(identity)
    except InvalidIdentity:
        return
    ticket = (Ticket.objects.filter(channel_account__public_id=account.public_id, identity__kind=ref.kind,
                                    identity__value=ref.value).order_by("-last_activity_at", "-id")
              .values("pk", "municipality_id").first())
    if ticket is not None:
        signal(municipality_id=ticket["municipality_id"], type="resident.typing",
               payload={"ticket_id": ticket["pk"], "on": on})


def agents_online(account: AccountContext) -> int:
    """How many agents of the account's municipality have the dashboard open now."""
    from omnidesk.realtime.presence import agents_present
    from omnidesk.tenants.models import Municipality

    municipality_id = Municipality.objects.filter(slug=account.municipality_slug).values_list("pk", flat=True).first()
    return agents_present(municipality_id) if municipality_id else 0


def attachment_content(attachment: OutboundAttachment) -> bytes:
    """The bytes of a reply's file, read from storage, for plugins that send files inline (e.g. email).

    Plugins whose provider fetches files itself pass `attachment.url` instead. The url's signature is checked
    here as it is over HTTP, so a plugin can only read files core handed it.
    """
    from omnidesk.tickets.files import attachment_for_token, token_of_url

    stored = attachment_for_token(token_of_url(attachment.url))
    if stored is None:
        raise PermanentDeliveryError(f"The file {attachment.filename} is no longer available.", code="file_gone")
    with stored.file.open("rb") as handle:
        return handle.read()
