"""Re-encrypt every channel account's secrets under the newest key of OMNIDESK_ENCRYPTION_KEYS."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.secrets import rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt channel secrets with the first key of OMNIDESK_ENCRYPTION_KEYS. Rotation: put a new key first, "
        "keep the old one after it, run this command, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for account in ChannelAccount.objects.select_for_update().exclude(encrypted_secrets=""):
                account.encrypted_secrets = rotate(account.encrypted_secrets)
                account.save(update_fields=["encrypted_secrets"])
                count += 1
        self.stdout.write(f"Re-encrypted the secrets of {count} channel account(s).")
