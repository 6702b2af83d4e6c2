"""CSV the app writes (reports, import reports): a cell that a spreadsheet would evaluate is escaped.

A value beginning with =, +, -, @, a tab or a carriage return is a formula to Excel and LibreOffice
(CSV injection); it is written with a leading apostrophe. What is stored and shown on pages is the
value as typed; only the file is escaped.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell as text, escaped when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(columns: Sequence[str], rows: Iterable[dict]) -> str:
    """A header line and one line per row, every cell through safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(name)) for name in columns])
    return out.getvalue()
