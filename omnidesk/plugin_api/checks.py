"""System checks: every installed channel plugin loads, fits the API, and ships a config form and fixtures."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core import checks

from omnidesk.plugin_api.forms import ChannelConfigForm
from omnidesk.plugin_api.registry import get_registry


def _fixtures_dir(adapter: object) -> Path | None:
    module = sys.modules.get(type(adapter).__module__)
    if module is None or not getattr(module, "__file__", None):
        return None
    return Path(module.__file__).resolve().parent / "fixtures"


@checks.register("omnidesk")
def check_channel_plugins(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    registry = get_registry()
    # A warning, not an error: a broken plugin must not stop the site, migrations or the other channels.
    messages: list[checks.CheckMessage] = [
        checks.Warning(
            f"Channel plugin {name!r} was refused: {problem}",
            hint="The other channels keep working. Fix or uninstall the plugin; see manage.py channels.",
            id="omnidesk.W004",
        )
        for name, problem in sorted(registry.problems.items())
    ]
    for key, adapter in sorted(registry.adapters.items()):
        if adapter.config_form is ChannelConfigForm:
            messages.append(
                checks.Warning(
                    f"Channel plugin {key!r} declares no config form.",
                    hint="Set config_form to a ChannelConfigForm subclass, even a small one.",
                    id="omnidesk.W002",
                )
            )
        fixtures = _fixtures_dir(adapter)
        # Only webhook payloads are fixtures; a channel with its own socket (livechat) has none to ship.
        webhooks = adapter.capabilities.webhooks
        if webhooks and (fixtures is None or not fixtures.is_dir() or not any(fixtures.iterdir())):
            messages.append(
                checks.Warning(
                    f"Channel plugin {key!r} ships no fixtures.",
                    hint="Add real, anonymised provider payloads to a fixtures/ folder beside the adapter; "
                    "the contract test kit runs them.",
                    id="omnidesk.W003",
                )
            )
    if not registry.adapters:
        messages.append(
            checks.Warning(
                "No channel plugin is installed.",
                hint="Install Omnidesk as a package (pip install -e .) so its entry points are registered.",
                id="omnidesk.W001",
            )
        )
    return messages
