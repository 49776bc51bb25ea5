"""Shapes of an imported export file: its table of cells, and what an import run reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.errors import RecordError


@dataclass(frozen=True, slots=True)
class Table:
    """The cells of one export file as read, each row with its line number in the file.

    Line numbers are 1-based: the physical line where a CSV record starts, or the
    spreadsheet row number of an XLSX file. Empty rows are left out.
    """

    name: str
    rows: tuple[tuple[int, tuple[Any, ...]], ...]
    #: a CSV whose last line has no line end: the file may have been cut in that line
    unterminated: bool = False


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One data row of an export, by logical field (``student_email``, ``task_url``...)."""

    line: int
    values: dict[str, Any]

    def text(self, field_name: str) -> str:
        value = self.values.get(field_name)
        return "" if value is None else str(value).strip()


@dataclass(slots=True)
class ImportReport:
    """What one import run did: new files imported, good rows recorded, problems met.

    ``errors`` name the file and line of each bad row (and the file of each unreadable
    file), never the row's content.
    """

    files: int = 0
    rows: int = 0
    errors: list[RecordError] = field(default_factory=list)
