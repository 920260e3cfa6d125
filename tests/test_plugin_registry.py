"""The plugin registry refuses plugins that cannot work, says why, and keeps the others (the sandbox) running."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from io import StringIO

import pytest
from django.core import checks
from django.core.management import call_command

from omnidesk.plugin_api import registry as registry_module
from omnidesk.plugin_api.adapter import API_VERSION
from omnidesk.plugin_api.checks import check_channel_plugins
from omnidesk.plugin_api.registry import ENTRY_POINT_GROUP, UnknownPlugin, get_adapter, get_registry, load_registry
from omnidesk.tickets.models import Message
from tests.conftest import post_sandbox

SANDBOX = EntryPoint(name="sandbox", value="channels_plugins.sandbox.adapter:SandboxAdapter", group=ENTRY_POINT_GROUP)


def fake(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


@pytest.fixture
def installed(monkeypatch) -> Iterator[Callable[..., None]]:
    """Replace the installed entry points by the sandbox plus the given fakes; the cached registry is rebuilt."""
    seen_groups: list[str] = []

    def install(*extra: EntryPoint, with_sandbox: bool = True) -> None:
        def entry_points(group: str):  # type: ignore[no-untyped-def]
            seen_groups.append(group)
            return [*([SANDBOX] if with_sandbox else []), *extra] if group == ENTRY_POINT_GROUP else []

        monkeypatch.setattr(registry_module, "entry_points", entry_points)
        get_registry.cache_clear()

    yield install
    monkeypatch.undo()
    get_registry.cache_clear()
    # The registry asked for its own group only.
    assert set(seen_groups) <= {ENTRY_POINT_GROUP}


def test_a_plugin_that_raises_on_import_is_refused_with_the_reason(installed):
    installed(fake("exploding", "tests.plugin_fixtures.exploding:Adapter"))
    registry = get_registry()
    assert registry.problems["exploding"] == "failed to import: RuntimeError: the exploding plugin cannot start"
    assert "exploding" not in registry.adapters
    assert type(registry.adapters["sandbox"]).__name__ == "SandboxAdapter"
    with pytest.raises(UnknownPlugin):
        get_adapter("exploding")


def test_a_missing_module_or_attribute_is_refused(installed):
    installed(
        fake("ghost", "tests.plugin_fixtures.no_such_module:Adapter"),
        fake("typo", "tests.plugin_fixtures.misc:GoodAdaptor"),
    )
    registry = get_registry()
    assert registry.problems["ghost"].startswith("failed to import: ModuleNotFoundError")
    assert registry.problems["typo"].startswith("failed to import: AttributeError")
    assert set(registry.adapters) == {"sandbox"}


def test_a_plugin_whose_key_differs_from_its_entry_point_is_refused(installed):
    installed(fake("mismatch", "tests.plugin_fixtures.mismatched_key:MismatchedAdapter"))
    registry = get_registry()
    assert registry.problems["mismatch"] == "its key 'somethingelse' differs from the entry-point name"
    assert "mismatch" not in registry.adapters and "somethingelse" not in registry.adapters
    assert "sandbox" in registry.adapters


@pytest.mark.parametrize("name, value, version", [
    ("futureapi", "tests.plugin_fixtures.old_api:FutureApiAdapter", "2.0"),
    ("ancientapi", "tests.plugin_fixtures.old_api:AncientApiAdapter", "0.3"),
])
def test_a_plugin_for_another_api_major_version_is_refused(installed, name, value, version):
    installed(fake(name, value))
    registry = get_registry()
    assert registry.problems[name] == f"targets plugin API {version}, Omnidesk offers {API_VERSION}"
    assert name not in registry.adapters
    assert "sandbox" in registry.adapters


def test_entry_points_that_name_no_adapter_are_refused(installed):
    installed(
        fake("function", "tests.plugin_fixtures.misc:not_a_class"),
        fake("notadapter", "tests.plugin_fixtures.misc:NotAnAdapter"),
        fake("nocaps", "tests.plugin_fixtures.misc:NoCapabilitiesAdapter"),
    )
    problems = get_registry().problems
    assert problems["function"] == "does not point to a ChannelAdapter subclass"
    assert problems["notadapter"] == "does not point to a ChannelAdapter subclass"
    assert problems["nocaps"] == "declares no capabilities"


def test_a_fitting_third_party_plugin_loads_beside_the_sandbox(installed):
    installed(fake("goodfake", "tests.plugin_fixtures.misc:GoodAdapter"))
    registry = get_registry()
    assert registry.problems == {}
    assert set(registry.adapters) == {"sandbox", "goodfake"}
    assert get_adapter("goodfake").verbose_name == "Good fake"
    assert ("goodfake", "Good fake") in registry.choices()


def test_a_name_registered_twice_is_refused_entirely(installed):
    installed(
        fake("goodfake", "tests.plugin_fixtures.misc:GoodAdapter"),
        fake("goodfake", "tests.plugin_fixtures.misc:GoodAdapter"),
    )
    registry = get_registry()
    assert registry.problems == {"goodfake": "registered twice"}
    assert set(registry.adapters) == {"sandbox"}


def test_every_refusal_is_logged(installed, caplog):
    installed(fake("exploding", "tests.plugin_fixtures.exploding:Adapter"),
              fake("mismatch", "tests.plugin_fixtures.mismatched_key:MismatchedAdapter"))
    with caplog.at_level("ERROR", logger="omnidesk.plugin_api.registry"):
        load_registry()
    refused = {record.plugin: record.problem for record in caplog.records if record.msg == "channel plugin refused"}
    assert set(refused) == {"exploding", "mismatch"}
    assert "RuntimeError" in refused["exploding"]


def test_the_system_check_reports_each_refused_plugin(installed):
    installed(
        fake("exploding", "tests.plugin_fixtures.exploding:Adapter"),
        fake("mismatch", "tests.plugin_fixtures.mismatched_key:MismatchedAdapter"),
        fake("futureapi", "tests.plugin_fixtures.old_api:FutureApiAdapter"),
    )
    refused = [m for m in check_channel_plugins() if m.id == "omnidesk.W004"]
    assert [m.msg.split("'")[1] for m in refused] == ["exploding", "futureapi", "mismatch"]
    by_name = {m.msg.split("'")[1]: m for m in refused}
    assert "RuntimeError: the exploding plugin cannot start" in by_name["exploding"].msg
    assert "differs from the entry-point name" in by_name["mismatch"].msg
    assert f"Omnidesk offers {API_VERSION}" in by_name["futureapi"].msg
    # A refused plugin warns; it never stops the site, migrations or the other channels.
    assert all(m.level == checks.WARNING for m in refused)
    assert not [m for m in checks.run_checks() if m.level >= checks.ERROR]
    assert "omnidesk.W004" in {m.id for m in checks.run_checks(tags=["omnidesk"])}


def test_the_system_check_is_quiet_with_only_good_plugins(installed):
    installed()
    assert [m for m in check_channel_plugins() if m.id in ("omnidesk.W001", "omnidesk.W004")] == []


def test_no_plugin_at_all_is_reported(installed):
    installed(with_sandbox=False)
    assert [m.id for m in check_channel_plugins()] == ["omnidesk.W001"]


def test_the_sandbox_keeps_receiving_with_broken_plugins_installed(installed, client, account):
    installed(
        fake("exploding", "tests.plugin_fixtures.exploding:Adapter"),
        fake("mismatch", "tests.plugin_fixtures.mismatched_key:MismatchedAdapter"),
        fake("futureapi", "tests.plugin_fixtures.old_api:FutureApiAdapter"),
    )
    response = post_sandbox(client, account, {"id": "m1", "text": "Werkt het nog?"})
    assert response.status_code == 200, response.content
    assert response.json()["messages"] == 1
    assert Message.objects.get().text == "Werkt het nog?"


def test_the_channels_command_lists_loaded_and_refused_plugins(installed):
    installed(fake("exploding", "tests.plugin_fixtures.exploding:Adapter"),
              fake("goodfake", "tests.plugin_fixtures.misc:GoodAdapter"))
    out = StringIO()
    call_command("channels", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert [p["key"] for p in data["plugins"]] == ["goodfake", "sandbox"]
    assert data["refused"] == {"exploding": "failed to import: RuntimeError: the exploding plugin cannot start"}
    text = StringIO()
    call_command("channels", stdout=text)
    assert "exploding" in text.getvalue() and "REFUSED" in text.getvalue()


def test_a_plugin_with_a_non_string_api_version_is_refused_not_fatal(installed):
    installed(fake("floatversion", "tests.plugin_fixtures.misc:FloatVersionAdapter"))
    registry = get_registry()
    assert registry.problems["floatversion"] == f"its api_version 1.0 is not a string like {API_VERSION!r}"
    assert set(registry.adapters) == {"sandbox"}


def test_a_plugin_that_cannot_be_instantiated_is_refused_not_fatal(installed):
    installed(fake("crashinginit", "tests.plugin_fixtures.misc:CrashingInitAdapter"),
              fake("goodfake", "tests.plugin_fixtures.misc:GoodAdapter"))
    registry = get_registry()
    assert registry.problems["crashinginit"].startswith("failed to start: KeyError")
    assert set(registry.adapters) == {"sandbox", "goodfake"}
