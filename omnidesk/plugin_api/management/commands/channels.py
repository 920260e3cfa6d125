"""`manage.py channels`: the installed channel plugins, and those refused with the reason."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from omnidesk.plugin_api.registry import get_registry


class Command(BaseCommand):
    help = "List the channel plugins Omnidesk found, with their API version and capabilities, and refused ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")

    def handle(self, *args: Any, as_json: bool, **options: Any) -> None:
        registry = get_registry()
        plugins = [
            {
                "key": key,
                "name": str(adapter.verbose_name),
                "api_version": adapter.api_version,
                "module": type(adapter).__module__,
                "capabilities": {k: (v.value if hasattr(v, "value") else v)
                                 for k, v in dataclasses.asdict(adapter.capabilities).items()},
            }
            for key, adapter in sorted(registry.adapters.items())
        ]
        if as_json:
            self.stdout.write(json.dumps({"plugins": plugins, "refused": registry.problems}))
            return
        for plugin in plugins:
            self.stdout.write(f"{plugin['key']:<16} {plugin['name']}  (API {plugin['api_version']}, {plugin['module']})")
        for name, problem in sorted(registry.problems.items()):
            self.stdout.write(self.style.ERROR(f"{name:<16} REFUSED: {problem}"))
