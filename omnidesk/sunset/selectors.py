"""Reads: what a switched-off account answers, whether a resident was answered lately, and the municipality's counts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.models import ContactIdentity
from omnidesk.contacts.selectors import is_opted_out
from omnidesk.plugin_api.events import IdentityRef
from omnidesk.sunset.models import ReplyStatus, SunsetContact
from omnidesk.tenants.crisis import crisis_texts
from omnidesk.tenants.models import Municipality

PERIODS = (7, 30, 90)  # the days the overview counts back


def sunset_texts(account: ChannelAccount) -> dict[str, str]:
    """{"nl": …, "en": …} (a missing language falls back to the other); {} when the account has no sunset text."""
    nl, en = account.sunset_reply_nl.strip(), account.sunset_reply_en.strip()
    if not (nl or en):
        return {}
    return {"nl": nl or en, "en": en or nl}


def sunset_reply_text(account: ChannelAccount) -> str:
    """The answer a resident gets: the crisis message while crisis mode is on, then Dutch, then English."""
    texts = sunset_texts(account)
    if not texts:
        return ""
    crisis = crisis_texts(account.municipality)
    parts = [crisis.get("nl", ""), crisis.get("en", ""), account.sunset_reply_nl.strip(), account.sunset_reply_en.strip()]
    # A language that fell back to the other would repeat the same text: keep each text once, in order.
    return "\n\n".join(dict.fromkeys(part for part in parts if part))


def answered_recently(*, account: ChannelAccount, identity: IdentityRef, now: datetime | None = None) -> bool:
    """Whether this resident got (or is about to get) a sunset reply on this account within its period."""
    since = (now or timezone.now()) - timedelta(days=account.sunset_period_days)
    return SunsetContact.objects.filter(
        channel_account=account, identity_kind=identity.kind.value, identity_value=identity.value,
        reply_status__in=(ReplyStatus.QUEUED, ReplyStatus.SENT), received_at__gte=since,
    ).exists()


def resident_opted_out(*, account: ChannelAccount, identity: IdentityRef) -> bool:
    """A resident who asked this number to stop messaging them gets no sunset reply either: before it was switched
    off (an opt-out), or since (their latest STOP or START to the closed number)."""
    latest = (SunsetContact.objects.filter(channel_account=account, identity_kind=identity.kind.value,
                                           identity_value=identity.value, opted_out__isnull=False)
              .order_by("-received_at", "-id").values_list("opted_out", flat=True).first())
    if latest is not None:
        return latest
    known = ContactIdentity.objects.filter(municipality_id=account.municipality_id, kind=identity.kind.value,
                                           value=identity.value).first()
    return known is not None and is_opted_out(channel_account_id=account.pk, identity=known)


def sunset_consents(account: ChannelAccount, since: datetime | None) -> dict[tuple[str, str], bool]:
    """Each resident's latest STOP (True) or START (False) to the account since it was switched off."""
    latest: dict[tuple[str, str], bool] = {}
    rows = SunsetContact.objects.filter(channel_account=account, opted_out__isnull=False)
    if since is not None:
        rows = rows.filter(received_at__gte=since)
    for kind, value, opted_out in (rows.order_by("received_at", "id")
                                   .values_list("identity_kind", "identity_value", "opted_out")):
        latest[(kind, value)] = opted_out
    return latest


@dataclass(frozen=True)
class ContactFilter:
    """What the overview and the export show: one account (of the municipality) or all, and a date range."""

    account: ChannelAccount | None = None
    since: date | None = None
    until: date | None = None  # inclusive


def sunset_contacts(municipality: Municipality, where: ContactFilter = ContactFilter()) -> QuerySet[SunsetContact]:
    """The municipality's sunset contacts, newest first, with their channel account."""
    contacts = SunsetContact.objects.filter(municipality=municipality).select_related("channel_account")
    if where.account is not None:
        contacts = contacts.filter(channel_account=where.account)
    zone = timezone.get_current_timezone()
    if where.since is not None:
        contacts = contacts.filter(received_at__gte=datetime.combine(where.since, datetime.min.time(), zone))
    if where.until is not None:
        contacts = contacts.filter(received_at__lt=datetime.combine(where.until + timedelta(days=1),
                                                                    datetime.min.time(), zone))
    return contacts.order_by("-received_at", "-id")


@dataclass(frozen=True)
class PeriodTotals:
    days: int
    contacts: int
    residents: int
    answered: int


@dataclass(frozen=True)
class AccountTotals:
    account: ChannelAccount
    periods: tuple[PeriodTotals, ...]


def sunset_totals(municipality: Municipality, *, account: ChannelAccount | None = None,
                  now: datetime | None = None) -> list[AccountTotals]:
    """Per switched-off account: contacts, distinct residents and answered contacts in the last 7, 30 and 90 days."""
    now = now or timezone.now()
    accounts = ChannelAccount.objects.filter(municipality=municipality, enabled=False)
    if account is not None:
        accounts = accounts.filter(pk=account.pk)
    annotations = {}
    for days in PERIODS:
        recent = Q(sunset_contacts__received_at__gte=now - timedelta(days=days))
        annotations[f"contacts_{days}"] = Count("sunset_contacts", filter=recent)
        annotations[f"residents_{days}"] = Count("sunset_contacts__identity_value", filter=recent, distinct=True)
        annotations[f"answered_{days}"] = Count(
            "sunset_contacts", filter=recent & Q(sunset_contacts__reply_status=ReplyStatus.SENT))
    return [
        AccountTotals(row, tuple(PeriodTotals(days, getattr(row, f"contacts_{days}"), getattr(row, f"residents_{days}"),
                                              getattr(row, f"answered_{days}")) for days in PERIODS))
        for row in accounts.annotate(**annotations).order_by("name")
    ]


def stalled_contact_ids(*, older_than: datetime, limit: int = 500) -> list[int]:
    """Contacts whose sunset reply is still queued although they arrived before `older_than`."""
    return list(SunsetContact.objects.filter(reply_status=ReplyStatus.QUEUED, received_at__lt=older_than)
                .order_by("received_at").values_list("id", flat=True)[:limit])
