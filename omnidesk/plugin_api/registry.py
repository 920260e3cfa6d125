"""Finds channel plugins through the `omnidesk.channels` entry-point group.

Built-in plugins register there exactly like third-party packages. A plugin that fails to import
or does not fit the API is left out and reported; it never takes the other channels down.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points

from omnidesk.plugin_api.adapter import API_VERSION, ChannelAdapter

ENTRY_POINT_GROUP = "omnidesk.channels"
logger = logging.getLogger(__name__)


class UnknownPlugin(LookupError):
    pass


@dataclass
class Registry:
    adapters: dict[str, ChannelAdapter] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # entry-point name -> why it was refused

    def get(self, key: str) -> ChannelAdapter:
        try:
            return self.adapters[key]
        except KeyError:
            raise UnknownPlugin(key) from None

    def choices(self) -> list[tuple[str, str]]:
        return sorted((key, str(adapter.verbose_name)) for key, adapter in self.adapters.items())


def _compatible(version: str) -> bool:
    return version.split(".")[0] == API_VERSION.split(".")[0]


def _problem_with(name: str, adapter_class: object) -> str:
    if not (isinstance(adapter_class, type) and issubclass(adapter_class, ChannelAdapter)):
        return "does not point to a ChannelAdapter subclass"
    if getattr(adapter_class, "key", None) != name:
        return f"its key {getattr(adapter_class, 'key', None)!r} differs from the entry-point name"
    if not isinstance(adapter_class.api_version, str):
        return f"its api_version {adapter_class.api_version!r} is not a string like {API_VERSION!r}"
    if not _compatible(adapter_class.api_version):
        return f"targets plugin API {adapter_class.api_version}, Omnidesk offers {API_VERSION}"
    if not hasattr(adapter_class, "capabilities"):
        return "declares no capabilities"
    return ""


def load_registry() -> Registry:
    registry = Registry()
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        name = entry_point.name
        if name in registry.adapters or name in registry.problems:
            registry.problems[name] = "registered twice"
            registry.adapters.pop(name, None)
            continue
        try:
            adapter_class = entry_point.load()
        except Exception as exc:  # a broken plugin must not break the others
            registry.problems[name] = f"failed to import: {type(exc).__name__}: {exc}"
            continue
        problem = _problem_with(name, adapter_class)
        if problem:
            registry.problems[name] = problem
            continue
        try:
            registry.adapters[name] = adapter_class()
        except Exception as exc:  # likewise: a plugin that cannot start must not stop the others
            registry.problems[name] = f"failed to start: {type(exc).__name__}: {exc}"
    for name, problem in registry.problems.items():
        logger.error("channel plugin refused", extra={"plugin": name, "problem": problem})
    return registry


@lru_cache(maxsize=1)
def get_registry() -> Registry:
    return load_registry()


def get_adapter(key: str) -> ChannelAdapter:
    return get_registry().get(key)
