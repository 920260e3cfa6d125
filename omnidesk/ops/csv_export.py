"""CSV downloads streamed row by row, so a long export (years of audit entries or contacts) never sits in memory,
with text a spreadsheet would run as a formula written as text (OWASP's CSV injection advice)."""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import StreamingHttpResponse


class _Echo:
    """A file for csv.writer that hands each written row back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A signed number or phone number ("+31 6 12345678") is no formula and stays as it is.
PLAIN_NUMBER = re.compile(r"[+-]?\d[\d ]*")


def spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula ("=HYPERLINK(…)", "@SUM(…)") starts with an apostrophe; other
    values are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def streaming_csv(filename: str, rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """A download of `rows` (the header first) as `filename`."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow([spreadsheet_safe(cell) for cell in row]) for row in rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
