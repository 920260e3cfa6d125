from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from omnidesk.channel_accounts.selectors import webhook_url
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.tenants.selectors import municipality_by_slug


class Command(BaseCommand):
    help = "Add a channel account to a municipality. Prints JSON with its public id and webhook URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("municipality")
        parser.add_argument("plugin_key")
        parser.add_argument("--name", required=True)
        parser.add_argument("--config-json", default="{}", help="The plugin's config as a JSON object.")
        parser.add_argument("--disabled", action="store_true")

    def handle(self, *args: Any, municipality: str, plugin_key: str, name: str, config_json: str, disabled: bool, **options: Any) -> None:
        found = municipality_by_slug(municipality)
        if found is None:
            raise CommandError(f"No municipality with slug {municipality!r}.")
        try:
            config = json.loads(config_json)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config-json is not valid JSON: {exc}") from exc
        if not isinstance(config, dict):
            raise CommandError("--config-json must be a JSON object.")
        try:
            account = channel_account_create(
                municipality=found, plugin_key=plugin_key, name=name, config=config, enabled=not disabled
            )
        except ValidationError as exc:
            raise CommandError(f"Invalid channel config: {json.dumps(exc.message_dict)}") from exc
        self.stdout.write(
            json.dumps({"id": account.id, "public_id": account.public_id, "plugin": plugin_key, "webhook_url": webhook_url(account)})
        )
