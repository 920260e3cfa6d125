from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omnidesk.tenants.models import Role
from omnidesk.tenants.selectors import municipality_by_slug
from omnidesk.tenants.services import agent_create


class Command(BaseCommand):
    help = "Create a user with a role in a municipality. Prints JSON with the generated password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("municipality")
        parser.add_argument("username")
        parser.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
        parser.add_argument("--name", default="", help="Full name shown to colleagues and residents.")
        parser.add_argument("--reset-password", action="store_true",
                            help="Give an existing user a new password (a new user always gets one).")

    def handle(
        self, *args: Any, municipality: str, username: str, role: str, name: str, reset_password: bool, **options: Any
    ) -> None:
        found = municipality_by_slug(municipality)
        if found is None:
            raise CommandError(f"No municipality with slug {municipality!r}.")
        user, password = agent_create(
            municipality=found, username=username, role=Role(role), full_name=name, reset_password=reset_password
        )
        self.stdout.write(
            json.dumps({"username": user.get_username(), "municipality": found.slug, "role": role, "password": password})
        )
