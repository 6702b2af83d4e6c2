"""Reading a discharge file: the whole file is refused at once when it cannot be a discharge list.

A file is refused whole (nothing is written) when it is over 10 MB, not UTF-8 text (a BOM is
fine), not CSV, has more than 50,000 rows, or a header with an unknown, repeated or missing
required column. Otherwise every non-blank row is handed on with its row number as a spreadsheet
shows it (the header is row 1), each cell trimmed; refusing a single row is imports.py's job.
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

from scheduler.errors import Invalid
from scheduler.schemas.imports import COLUMNS, REQUIRED

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000


class FileRefused(Invalid):
    """The file as a whole cannot be imported; the message says why (never a value from it)."""

    def __init__(self, message: str):
        super().__init__({"file": message})
        self.message = message


@dataclass(frozen=True)
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    cells: dict[str, str]  # column -> trimmed text; an empty cell is left out
    extra: int = 0  # cells beyond the header's columns


def file_hash(data: bytes) -> str:
    """The file's SHA-256, for the audit trail (the same file twice has the same hash)."""
    return hashlib.sha256(data).hexdigest()


def read(data: bytes) -> list[Row]:
    """The file's rows, or FileRefused with one clear message."""
    if len(data) > MAX_BYTES:
        raise FileRefused("the file is over 10 MB; split it into smaller files")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused("the file is not UTF-8 text; save it from the spreadsheet as "
                          "\"CSV UTF-8 (comma delimited)\"") from None
    if "\x00" in text:
        raise FileRefused("the file is not a CSV file (it holds binary data)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise FileRefused("the file is empty; the first row must be the header")
        columns = _columns(header)
        rows = []
        for number, cells in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                raise FileRefused(f"the file has more than {MAX_ROWS:,} rows; split it into smaller files")
            if not any(cell.strip() for cell in cells):
                continue  # a blank line is a blank spreadsheet row: nothing to import
            values = {name: cell.strip() for name, cell in zip(columns, cells, strict=False)
                      if name and cell.strip()}
            rows.append(Row(number, values, max(0, len(cells) - len(columns))))
    except csv.Error:
        raise FileRefused("the file is not a valid CSV file (check its quotes)") from None
    return rows


def _columns(header: list[str]) -> list[str]:
    # A header cell left empty (a spreadsheet's trailing commas) names no column: its cells are ignored.
    names = [cell.strip().casefold() for cell in header]
    unknown = [name for name in names if name and name not in COLUMNS]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise FileRefused(f"unknown column {shown}; the columns are {', '.join(COLUMNS)}")
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        raise FileRefused(f"column {', '.join(repeated)} appears more than once")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise FileRefused(f"missing required column {', '.join(missing)}; the first row must be the header")
    return names
