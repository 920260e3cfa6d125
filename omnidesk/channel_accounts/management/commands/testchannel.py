"""`manage.py testchannel PUBLIC_ID`: test a channel account's credentials against its provider."""
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omnidesk.channel_accounts.selectors import account_by_public_id, account_context
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter


class Command(BaseCommand):
    help = "Test a channel account's connection (credentials, reachability) against its provider. Prints JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("public_id")

    def handle(self, *args: Any, public_id: str, **options: Any) -> None:
        account = account_by_public_id(public_id)
        if account is None:
            raise CommandError(f"No channel account with public id {public_id!r}.")
        try:
            result = get_adapter(account.plugin_key).check_connection(account_context(account))
        except UnknownPlugin:
            raise CommandError(f"The channel plugin {account.plugin_key!r} is not installed.") from None
        self.stdout.write(json.dumps({"account": account.name, "ok": result.ok, "detail": result.detail}))
        if not result.ok:
            raise CommandError(result.detail or "The connection test failed.")
