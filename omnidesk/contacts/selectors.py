"""Reads about contacts."""
from __future__ import annotations

from collections.abc import Iterable

from omnidesk.contacts.models import ContactIdentity, OptOut


def is_opted_out(*, channel_account_id: int, identity: ContactIdentity) -> bool:
    return OptOut.objects.filter(channel_account_id=channel_account_id, identity=identity).exists()


def opted_out_identity_ids(*, channel_account_id: int, identity_ids: Iterable[int]) -> set[int]:
    """Which of these residents opted out of the account's messages (one query for a batch of replies)."""
    return set(OptOut.objects.filter(channel_account_id=channel_account_id, identity_id__in=set(identity_ids))
               .values_list("identity_id", flat=True))
