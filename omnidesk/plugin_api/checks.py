"""System check: every installed channel plugin loads and fits the API."""
from __future__ import annotations

from typing import Any

from django.core import checks

from omnidesk.plugin_api.registry import get_registry


@checks.register("omnidesk")
def check_channel_plugins(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    registry = get_registry()
    messages: list[checks.CheckMessage] = [
        checks.Error(f"Channel plugin {name!r} was refused: {problem}", id="omnidesk.E001")
        for name, problem in sorted(registry.problems.items())
    ]
    if not registry.adapters:
        messages.append(
            checks.Warning(
                "No channel plugin is installed.",
                hint="Install Omnidesk as a package (pip install -e .) so its entry points are registered.",
                id="omnidesk.W001",
            )
        )
    return messages
