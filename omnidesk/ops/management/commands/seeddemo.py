"""Seed a demo municipality with a sandbox channel and demo logins (idempotent)."""
from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.tenants.models import Municipality, Role
from omnidesk.tenants.services import agent_create

DEMO_SLUG = "demo"
DEMO_USERS = [
    ("anna", "Anna de Vries", Role.AGENT),
    ("bram", "Bram Jansen", Role.AGENT),
    ("sanne", "Sanne Bakker", Role.ADMIN),
]


class Command(BaseCommand):
    help = "Create the demo municipality, its sandbox channel and demo logins; prints how to use them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="", help="Password for every demo login (default: generated).")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON instead of text.")

    def handle(self, *args: Any, password: str, as_json: bool, **options: Any) -> None:
        municipality, _ = Municipality.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Gemeente Demodam"})
        account = ChannelAccount.objects.filter(municipality=municipality, plugin_key="sandbox").first()
        if account is None:
            account = channel_account_create(
                municipality=municipality,
                plugin_key="sandbox",
                name="Sandbox",
                config={"welcome_text": "Welkom bij Gemeente Demodam. Stel hier uw vraag."},
            )
        logins = []
        for username, full_name, role in DEMO_USERS:
            # Demo logins get a fresh password on every run, so the printed ones always work.
            _user, pw = agent_create(
                municipality=municipality, username=username, role=role, password=password or None,
                full_name=full_name, reset_password=True,
            )
            logins.append({"username": username, "password": pw, "role": role.value})
        resident_url = f"{settings.PUBLIC_URL}/channels/sandbox/{account.public_id}/"
        result = {"municipality": municipality.slug, "dashboard": settings.PUBLIC_URL + "/", "resident": resident_url, "logins": logins}
        if as_json:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(self.style.SUCCESS("Omnidesk demo is ready."))
        self.stdout.write(f"  Dashboard:          {result['dashboard']}")
        self.stdout.write(f"  Play the resident:  {resident_url}")
        for login in logins:
            self.stdout.write(f"  Login ({login['role']:<10}) {login['username']} / {login['password']}")
