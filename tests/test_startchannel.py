"""`startchannel` scaffolds a plugin whose own contract tests pass as generated."""
from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def test_scaffold_passes_its_own_contract_tests(tmp_path):
    call_command("startchannel", "city_form", "--directory", str(tmp_path), "--title", "Meldformulier", stdout=StringIO())
    package_root = tmp_path / "omnidesk-city-form"
    assert (package_root / "pyproject.toml").read_text().count('city_form = "omnidesk_city_form.adapter:CityFormAdapter"') == 1
    for part in ("adapter.py", "parsing.py", "client.py", "forms.py", "doc.md", "fixtures/message__text.json",
                 "tests/test_contract.py"):
        assert (package_root / "omnidesk_city_form" / part).is_file(), part

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER",
                                                            "PYTEST_XDIST_TESTRUNUID", "DJANGO_SETTINGS_MODULE")}
    # The embedded default (SQLite, in-memory layer) is enough for a plugin's own suite.
    env.update(PYTHONPATH=str(package_root), OMNIDESK_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package_root)],
        cwd=package_root, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "9 passed" in result.stdout


@pytest.mark.parametrize("name", ["Telegram", "1abc", "a", "with-dash", "x" * 40])
def test_scaffold_refuses_bad_names(tmp_path, name):
    with pytest.raises(CommandError, match="NAME must"):
        call_command("startchannel", name, "--directory", str(tmp_path))
    assert not any(tmp_path.iterdir())


def test_scaffold_refuses_an_installed_key_or_existing_folder(tmp_path):
    with pytest.raises(CommandError, match="installed already"):
        call_command("startchannel", "sandbox", "--directory", str(tmp_path))
    call_command("startchannel", "twice", "--directory", str(tmp_path), stdout=StringIO())
    with pytest.raises(CommandError, match="exists already"):
        call_command("startchannel", "twice", "--directory", str(tmp_path))
