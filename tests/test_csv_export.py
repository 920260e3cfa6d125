"""CSV exports write what a spreadsheet would run as a formula as text, and leave numbers and phone numbers alone."""
from __future__ import annotations

import csv
import io

import pytest

from omnidesk.ops.csv_export import spreadsheet_safe, streaming_csv


@pytest.mark.parametrize("value", ['=HYPERLINK("https://evil.example","klik")', "@SUM(A1:A9)", "+cmd|' /C calc'!A0",
                                   "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"])
def test_a_formula_becomes_text(value):
    assert spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["+31612345678", "+31 6 12345678", "-5", "Gemeente Utrecht", "", 42, None])
def test_plain_values_stay_as_they_are(value):
    assert spreadsheet_safe(value) == value


def test_a_streamed_export_guards_every_cell():
    response = streaming_csv("x.csv", [["name", "phone"], ["=1+1", "+31612345678"]])
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [["name", "phone"], ["'=1+1", "+31612345678"]]
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
