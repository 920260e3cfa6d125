from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omnidesk.tenants.models import Municipality
from omnidesk.tenants.services import municipality_create


class Command(BaseCommand):
    help = "Create a municipality (tenant). Prints JSON with its id and slug."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, slug: str, name: str, **options: Any) -> None:
        if Municipality.objects.filter(slug=slug).exists():
            raise CommandError(f"A municipality with slug {slug!r} exists already.")
        municipality = municipality_create(slug=slug, name=name)
        self.stdout.write(json.dumps({"id": municipality.id, "slug": municipality.slug, "name": municipality.name}))
