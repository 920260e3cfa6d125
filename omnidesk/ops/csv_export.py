"""CSV downloads streamed row by row, so a long export (years of audit entries or contacts) never sits in memory."""
from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import StreamingHttpResponse


class _Echo:
    """A file for csv.writer that hands each written row back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def streaming_csv(filename: str, rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """A download of `rows` (the header first) as `filename`."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
