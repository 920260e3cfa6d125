"""The accessibility check every browser test uses: axe-core in Chromium against WCAG 2.1 AA."""
from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}


def assert_accessible(page: Any, name: str) -> None:
    """No WCAG 2.1 A or AA violation on the page as it is now; `name` says which page failed, with axe's report."""
    results = Axe().run(page, options=WCAG_21_AA)
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"
