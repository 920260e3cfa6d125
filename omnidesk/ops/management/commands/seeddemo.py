"""Seed a demo municipality with a sandbox channel and demo logins (idempotent)."""
from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from io import StringIO

from django.core.management import call_command
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


def _demo_website_origin() -> str:
    """The demo "municipality website": Omnidesk's own server under its other name (localhost vs 127.0.0.1), so
    the widget is embedded from another origin, as on a real site."""
    from urllib.parse import urlsplit

    parts = urlsplit(settings.PUBLIC_URL)
    host = parts.hostname or "127.0.0.1"
    other = "localhost" if host == "127.0.0.1" else "127.0.0.1" if host == "localhost" else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{other}{port}"


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
        website = _demo_website_origin()
        livechat = ChannelAccount.objects.filter(municipality=municipality, plugin_key="livechat").first()
        if livechat is None:
            livechat = channel_account_create(
                municipality=municipality,
                plugin_key="livechat",
                name="Website-chat",
                config={"title": "Chat met Gemeente Demodam", "allowed_origins": website,
                        "welcome_text": "Welkom! Stel uw vraag, een medewerker helpt u zo.",
                        "away_text": "We antwoorden binnen één werkdag.", "colour": "#0b5394"},
            )
        call_command("seedresponses", municipality.slug, stdout=StringIO())
        logins = []
        for username, full_name, role in DEMO_USERS:
            # Demo logins get a fresh password on every run, so the printed ones always work.
            _user, pw = agent_create(
                municipality=municipality, username=username, role=role, password=password or None,
                full_name=full_name, reset_password=True,
            )
            logins.append({"username": username, "password": pw, "role": role.value})
        resident_url = f"{settings.PUBLIC_URL}/channels/sandbox/{account.public_id}/"
        website_url = f"{website}/channels/livechat/{livechat.public_id}/demo-site/"
        result = {"municipality": municipality.slug, "dashboard": settings.PUBLIC_URL + "/", "resident": resident_url,
                  "website": website_url, "logins": logins}
        if as_json:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(self.style.SUCCESS("Omnidesk demo is ready."))
        self.stdout.write(f"  Dashboard:          {result['dashboard']}")
        self.stdout.write(f"  Play the resident:  {resident_url}")
        self.stdout.write(f"  Website with chat:  {website_url}")
        for login in logins:
            self.stdout.write(f"  Login ({login['role']:<10}) {login['username']} / {login['password']}")
