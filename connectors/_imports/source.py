"""Exported results of uzdevumi.lv / soma.lv as an :class:`~connectors.base.ActivitySource`.

Each run first imports the new files of the drop folder — a file is identified by the SHA-256
of its bytes and imported once, with all its good rows in one ledger call — then answers from
every row ever imported. A row is one student's completed task: kind ``"result"``, at the
completion time, with the student's e-mail and/or name for the jobs to match.

A bad row (no task link, a date in no accepted format, no student...) is reported as a
:class:`~connectors.errors.RecordError` naming the file and line, and the rest of the file is
imported. A file that cannot be read at all (encoding, no header row, a symbolic link, over
a size cap) is reported and *not* recorded, so it is read again after the settings are fixed.
A file still being written (see :class:`~connectors._imports.client.DropFolder`) is left for
a later run. A row without a completion time is a task not done yet and is skipped silently;
a row whose completion time is incomplete (a minute or second of one digit, or a date alone
in the unterminated last line of a file whose other rows have times: a file cut mid-line) is
reported and skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors._imports.auth import check_drop_dir
from connectors._imports.client import (
    DropFolder,
    FileError,
    Limits,
    normalise_header,
    read_table,
    sha256,
)
from connectors._imports.models import ExportRow, ImportReport, Table
from connectors._imports.settings import FIELDS, ISO, ImportSettings
from connectors.base import ImportLedger
from connectors.errors import RecordError
from mappings.model import ActivityEvidence, ActivityRecord, ActivityRef, ActivityUser
from mappings.uzdots import normalise_url

log = logging.getLogger("kartiba.imports")

RIGA = ZoneInfo("Europe/Riga")
_HEADER_SEARCH_ROWS = 10  # a title line or two may precede the header row
_CUT_FIELD = re.compile(r":\d(?!\d)")  # "14:0" - a minute or second cut to one digit

Evidence = dict[ActivityRef, ActivityEvidence]


class RowError(ValueError):
    """Why one row cannot be imported (no cell content in the message)."""


# --------------------------------------------------------------------------- columns


def find_columns(table: Table, settings: ImportSettings) -> tuple[int, dict[str, int]]:
    """Locate the header row and the column index of each logical field.

    Returns:
        The header row's line number and ``{field: column index}`` for the fields present.

    Raises:
        FileError: no row among the first ones has the required columns.
    """
    for line, cells in table.rows[:_HEADER_SEARCH_ROWS]:
        names = [normalise_header(c) for c in cells]
        found: dict[str, int] = {}
        for name in FIELDS:
            for header in settings.headers(name):
                if normalise_header(header) in names:
                    found[name] = names.index(normalise_header(header))
                    break
        if {"task_url", "completed_at"} <= set(found) and (
                "student_email" in found or "student_name" in found):
            return line, found
    need = ", ".join(f"{f} ({settings.headers(f)[0]!r})" for f in ("task_url", "completed_at",
                                                                  "student_email"))
    raise FileError(f"no header row with the columns {need} (or student_name) "
                    "- check the connector's columns setting")


def export_rows(table: Table, settings: ImportSettings) -> list[ExportRow]:
    """The data rows of a table, by logical field (the header row and rows above it dropped)."""
    header_line, columns = find_columns(table, settings)
    out = []
    for line, cells in table.rows:
        if line <= header_line:
            continue
        values = {name: cells[index] if index < len(cells) else None
                  for name, index in columns.items()}
        out.append(ExportRow(line, values))
    return out


# --------------------------------------------------------------------------- values


def parse_time(value: Any, formats: Sequence[str]) -> dt.datetime:
    """A completion time from a cell: a spreadsheet date/time or text in one of ``formats``.

    Naive times are Riga local; a date alone is the start of that day.

    Raises:
        RowError: the value matches no format.
    """
    if isinstance(value, dt.datetime):
        return _aware(value)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0, 0), RIGA)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from openpyxl.utils.datetime import from_excel

        try:
            return _aware(from_excel(value))
        except (ValueError, OverflowError, TypeError):
            raise RowError("completed_at is not a date/time") from None
    text = " ".join(str(value).split())
    if _CUT_FIELD.search(text):
        raise RowError("completed_at is incomplete (a time field of one digit)")
    for fmt in formats:
        try:
            if fmt == ISO:
                return _aware(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
            return _aware(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise RowError("completed_at is not a date/time in the accepted formats")


def has_time_of_day(value: Any) -> bool:
    """Whether a completion cell written as text carries a time of day (``12:05``)."""
    return isinstance(value, str) and ":" in value


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=RIGA)


def row_record(system: str, row: ExportRow, settings: ImportSettings, *,
               require_time: bool = False) -> ActivityRecord | None:
    """The activity record of one row; None for a task not completed (no completion time).

    Args:
        system: the platform.
        row: the row.
        settings: the import settings (date formats).
        require_time: a text date alone is a cut time (see :func:`_possibly_cut`).

    Raises:
        RowError: the row is malformed.
    """
    completed = row.values.get("completed_at")
    if completed is None or not str(completed).strip():
        return None
    if require_time and isinstance(completed, str) and not has_time_of_day(completed):
        raise RowError("completed_at has no time of day while the file's other rows have one")
    url = row.text("task_url")
    if not url:
        raise RowError("task_url is empty")
    try:
        url = normalise_url(url)
    except ValueError:
        raise RowError("task_url is not a link") from None
    email, name = row.text("student_email"), row.text("student_name")
    if not email and not name:
        raise RowError("neither student_email nor student_name is given")
    if email and ("@" not in email or " " in email):
        raise RowError("student_email is not an e-mail address")
    at = parse_time(completed, settings.date_formats)
    return ActivityRecord(platform=system, activity_url=url, at=at, kind="result",
                          email=email, name=name)


def _possibly_cut(table: Table, rows: Sequence[ExportRow]) -> ExportRow | None:
    """The last row when the file may have been cut in it: a CSV whose last line has no line
    end, in a file whose other rows write a time of day (then a date alone is a cut time)."""
    if not (table.unterminated and rows):
        return None
    others = rows[:-1]
    if any(has_time_of_day(row.values.get("completed_at")) for row in others):
        return rows[-1]
    return None


# --------------------------------------------------------------------------- the source


class ImportActivitySource:
    """Evidence from exported results dropped in a folder (uzdevumi.lv, soma.lv).

    Args:
        system: ``"uzdevumi"`` or ``"soma"`` (the platform name of its activity links).
        settings: the system's import settings.
        ledger: where imported files and rows are kept (the state store).
    """

    def __init__(self, system: str, settings: ImportSettings, ledger: ImportLedger) -> None:
        self.platform = system
        self.system = system
        self.settings = settings
        self.ledger = ledger
        self.last_report = ImportReport()
        self._lock = threading.Lock()  # one import at a time: a file is recorded once

    def import_new_files(self) -> ImportReport:
        """Import every file of the drop folder not imported before."""
        with self._lock:
            return self._import_new_files()

    def _import_new_files(self) -> ImportReport:
        folder = DropFolder(check_drop_dir(self.system, self.settings.drop_dir),
                            int(self.settings.max_file_mb * 1_000_000),
                            settle_s=self.settings.settle_s)
        report = ImportReport()
        for path in folder.candidates():
            if not folder.settled(path):
                log.info("%s: %s is still being written; read at a later run", self.system,
                         path.name)
                continue
            self._import_file(folder, path, report)
        if report.files or report.errors:
            log.info("%s: imported %d file(s), %d row(s), %d problem(s)", self.system,
                     report.files, report.rows, len(report.errors))
        self.last_report = report
        return report

    def fetch(self, refs: Sequence[ActivityRef], until: dt.datetime, *,
              students: Mapping[ActivityRef, Sequence[ActivityUser]] | None = None,
              due: Mapping[ActivityRef, dt.datetime] | None = None) -> Evidence:
        """Import new files, then evidence for each ref from every imported row.

        ``students`` and ``due`` (see :class:`~connectors.base.ActivitySource`) are not needed:
        an import makes no per-student calls.
        """
        self.import_new_files()
        keys: dict[ActivityRef, str | None] = {ref: self._key(ref) for ref in dict.fromkeys(refs)}
        urls = sorted({k for k in keys.values() if k})
        by_url: dict[str, list[ActivityRecord]] = defaultdict(list)
        for record in self.ledger.imported_records(self.system, urls) if urls else []:
            by_url[self._url_key(record.activity_url)].append(record)
        out = {}
        for ref, key in keys.items():
            rows = by_url.get(key or "", [])
            records = tuple(sorted((replace(r, activity_url=ref.url) for r in rows
                                    if r.at <= until), key=lambda r: (r.at, r.email, r.name)))
            out[ref] = ActivityEvidence(ref=ref, found=bool(rows), records=records)
        return out

    def health(self) -> str:
        path = check_drop_dir(self.system, self.settings.drop_dir)
        count = len(DropFolder(path, 0).candidates())
        return f"{self.system}: drop folder {path} readable, {count} export file(s)"

    # -- internals

    def _key(self, ref: ActivityRef) -> str | None:
        return self._url_key(ref.url) if ref.platform == self.system else None

    @staticmethod
    def _url_key(url: str) -> str:
        try:
            return normalise_url(url)
        except ValueError:
            return url

    def _import_file(self, folder: DropFolder, path: Path, report: ImportReport) -> None:
        try:
            data = folder.read(path)
            digest = sha256(data)
            if self.ledger.file_seen(self.system, digest):
                return
            known = [h for f in FIELDS for h in self.settings.headers(f)]
            limits = Limits(max_rows=self.settings.max_rows,
                            max_unpacked_bytes=int(self.settings.max_unpacked_mb * 1_000_000))
            table = read_table(path.name, data, self.settings.encodings, known, limits)
            rows = export_rows(table, self.settings)
        except FileError as exc:
            self._error(report, path.name, None, str(exc))
            return
        cut = _possibly_cut(table, rows)
        records: dict[tuple, ActivityRecord] = {}
        for row in rows:
            try:
                record = row_record(self.system, row, self.settings, require_time=row is cut)
            except RowError as exc:
                self._error(report, path.name, row.line, str(exc))
                continue
            if record is not None:
                records.setdefault((record.activity_url, record.email, record.name,
                                    record.at), record)
        self.ledger.record_file(self.system, digest, path.name, list(records.values()))
        report.files += 1
        report.rows += len(records)

    def _error(self, report: ImportReport, name: str, line: int | None, reason: str) -> None:
        where = f"{name}:{line}" if line is not None else name
        error = RecordError(f"{self.system}: {where}: {reason}", system=self.system,
                            record=where)
        log.warning(error.message)
        report.errors.append(error)
