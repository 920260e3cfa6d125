"""Reads about contacts."""
from __future__ import annotations

from omnidesk.contacts.models import ContactIdentity, OptOut


def is_opted_out(*, channel_account_id: int, identity: ContactIdentity) -> bool:
    return OptOut.objects.filter(channel_account_id=channel_account_id, identity=identity).exists()
