"""`manage.py startchannel NAME`: a new channel plugin as its own installable package, tests included."""
from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omnidesk.plugin_api.adapter import API_VERSION
from omnidesk.plugin_api.registry import get_registry

SCAFFOLD = Path(__file__).resolve().parent.parent.parent / "scaffold"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
SUFFIX = "-tpl"


class Command(BaseCommand):
    help = "Create a channel plugin package: adapter, parsing, client, config form, fixtures, contract tests, docs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The plugin key: lower case, e.g. telegram or signal.")
        parser.add_argument("--directory", default=".", help="Where to create omnidesk-<name>/ (default: here).")
        parser.add_argument("--title", default="", help="The channel's display name (default: from the key).")

    def handle(self, *args: Any, name: str, directory: str, title: str, **options: Any) -> None:
        if not NAME.match(name):
            raise CommandError("NAME must start with a letter and hold only a-z, 0-9 and _ (2 to 31 characters).")
        if name in get_registry().adapters:
            raise CommandError(f"A channel plugin with key {name!r} is installed already.")
        target = Path(directory).resolve() / f"omnidesk-{name.replace('_', '-')}"
        if target.exists():
            raise CommandError(f"{target} exists already.")
        class_prefix = "".join(part.title() for part in name.split("_"))
        values = {
            "name": name,
            "title": title or name.replace("_", " ").title(),
            "package": f"omnidesk_{name}",
            "class_prefix": class_prefix,
            "class_name": f"{class_prefix}Adapter",
            "api_version": API_VERSION,
        }
        written = []
        for source in sorted(SCAFFOLD.rglob(f"*{SUFFIX}")):
            relative = source.relative_to(SCAFFOLD).as_posix().removesuffix(SUFFIX)
            relative = relative.replace("package/", f"{values['package']}/", 1)
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(Template(source.read_text()).substitute(values))
            written.append(relative)
        self.stdout.write(self.style.SUCCESS(f"Created {target}"))
        for relative in written:
            self.stdout.write(f"  {relative}")
        self.stdout.write(f"Next: pip install -e {target} && pytest {target}")
