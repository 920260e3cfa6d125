"""Add the example canned responses to a municipality (idempotent: existing shortcuts are left alone)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omnidesk.responses.services import canned_responses_seed
from omnidesk.tenants.models import Municipality


class Command(BaseCommand):
    help = "Add example canned responses (/groet, /afsluiten, /doorverwijzen, /wachttijd) to a municipality."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The municipality's slug.")

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        municipality = Municipality.objects.filter(slug=slug).first()
        if municipality is None:
            raise CommandError(f"No municipality with slug {slug!r}.")
        added = canned_responses_seed(municipality=municipality)
        names = ", ".join(f"/{response.shortcut}" for response in added) or "none"
        self.stdout.write(f"Canned responses added to {municipality.name}: {names}.")
