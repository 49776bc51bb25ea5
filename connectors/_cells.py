"""Spreadsheet cells safe to open: no text from upstream becomes a live formula.

A group named ``=1+2`` or a name such as ``=HYPERLINK(...)`` must stay text in every XLSX and
CSV kartiba writes (OWASP "CSV injection"). Text starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return is neutralised: in CSV a leading apostrophe is added; in XLSX the
cell is stored as text with Excel's "quote prefix" (shown without the apostrophe, never
evaluated).
"""

from __future__ import annotations

from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def risky(value: object) -> bool:
    """Whether a cell value is text a spreadsheet could read as a formula."""
    return isinstance(value, str) and value.startswith(TRIGGERS)


def csv_cell(value: object) -> object:
    """A CSV cell: risky text gets a leading apostrophe; other values are unchanged."""
    return f"'{value}" if risky(value) else value


def xlsx_row(sheet: Any, values: list[object]) -> None:
    """Append one row to an openpyxl sheet, risky text stored as quote-prefixed text."""
    sheet.append([None if risky(v) else v for v in values])
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if risky(value):
            cell = sheet.cell(row=row, column=column)
            cell.value = value
            cell.data_type = "s"  # after the value: openpyxl guesses "f" from a leading "="
            cell.quotePrefix = True
