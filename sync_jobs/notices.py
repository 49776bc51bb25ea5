"""Absence notices received outside e-klase (phone, SMS, e-mail): ``kartiba notice ...``.

Points 20, 26-29 (illness, told before the lesson) and 41-42 (technical problem, teacher
contacted, catch-up or extended deadline). They are kept in the state store and judged
together with the notices the journal has.

A notice's id is derived from its natural key (student, kind, dates, receipt time as given,
agreement, new due time), so adding or importing the same notice again adds nothing. Every
student id is checked against the journal's roster. CSV files are read as Latvian Excel saves
them: comma or semicolon, UTF-8 (with or without BOM), UTF-16, or Windows-1257.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mappings.model import Agreement, Notice, NoticeKind
from sync_jobs.clock import parse_instant
from sync_jobs.settings import Settings
from sync_jobs.state import StateStore

COLUMNS = ("student", "kind", "from", "to", "received_at", "agreement", "new_due")
#: a notices file larger than this is refused whole (a notice line is ~100 bytes)
MAX_FILE_BYTES = 5 * 1024 * 1024
#: a cell longer than this rejects its line
MAX_CELL_CHARS = 200
#: a line longer than this is rejected before it is parsed
MAX_LINE_CHARS = 2000


class NoticeError(ValueError):
    """A notice or notices file that cannot be used; the message says why in one line."""


@dataclass
class NoticeImport:
    """What an import did: notices added, already known, rejected lines (FILE:LINE: why)."""

    added: int = 0
    known: int = 0
    errors: list[str] = field(default_factory=list)


def natural_id(student: str, kind: str, date_from: dt.date, date_to: dt.date,
               received_as_given: str, agreement: str | None, new_due: dt.datetime | None) -> str:
    """The notice id derived from what the notice says (the same notice, the same id)."""
    key = "|".join([student, kind, date_from.isoformat(), date_to.isoformat(),
                    received_as_given, agreement or "", new_due.isoformat() if new_due else ""])
    return "local-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def make_notice(student: str, kind: str, date_from: dt.date, date_to: dt.date | None,
                received_at: dt.datetime, agreement: str | None = None,
                new_due: dt.datetime | None = None, *, received_as_given: str = "") -> Notice:
    """A validated notice.

    Raises:
        ValueError: naming the field (``to: before from``).
    """
    student = student.strip()
    if not student:
        raise ValueError("student: empty")
    try:
        parsed_kind = NoticeKind(kind)
    except ValueError:
        raise ValueError(f"kind: {kind!r} is not one of illness, other, tech_problem") from None
    date_to = date_to or date_from
    if date_to < date_from:
        raise ValueError(f"to: {date_to} is before from {date_from}")
    try:
        parsed_agreement = Agreement(agreement) if agreement else None
    except ValueError:
        raise ValueError(f"agreement: {agreement!r} is not catch_up or extended_deadline") \
            from None
    if parsed_agreement is not None and parsed_kind != NoticeKind.TECH_PROBLEM:
        raise ValueError("agreement: only for tech_problem notices (points 41, 42)")
    if parsed_agreement is Agreement.EXTENDED_DEADLINE and new_due is None:
        raise ValueError("new_due: required with extended_deadline (point 42)")
    notice_id = natural_id(student, str(parsed_kind), date_from, date_to, received_as_given,
                           agreement, new_due)
    return Notice(id=notice_id, student_id=student, kind=parsed_kind, date_from=date_from,
                  date_to=date_to, received_at=received_at, agreement=parsed_agreement,
                  new_due=new_due)


def roster_ids(settings: Settings, today: dt.date) -> set[str]:
    """Student ids the journal knows (raises the connector's error when it cannot be read)."""
    from sync_jobs import wiring

    return set(wiring.journal(settings).school(today).students)


def add_notice(settings: Settings, args, now: dt.datetime) -> tuple[str, bool]:
    """Record one notice from the command line; returns (id, whether it was new).

    Raises:
        NoticeError: the student is not on the roster, or a field is invalid.
    """
    try:
        notice = make_notice(args.student, args.kind, args.date_from, args.date_to,
                             args.received_at or now, args.agreement, args.new_due,
                             received_as_given=args.received_at.isoformat()
                             if args.received_at else "")
    except ValueError as exc:
        raise NoticeError(str(exc)) from None
    if notice.student_id not in roster_ids(settings, now.date()):
        raise NoticeError(f"student {notice.student_id} is not on the journal's roster")
    with StateStore.open(settings.state.path) as store:
        return notice.id, store.add_notice(notice)


# --------------------------------------------------------------------------- list / remove


def list_notices(settings: Settings, student: str | None = None) -> list[dict[str, Any]]:
    """The notices kept, oldest first (ids, kind, dates only)."""
    with StateStore.open(settings.state.path) as store:
        return store.all_notices(student)


def notice_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    """One readable line per notice."""
    if not rows:
        yield "no notices recorded with kartiba notice"
    for r in rows:
        extra = f" agreement={r['agreement']}" if r["agreement"] else ""
        extra += f" new_due={r['new_due']}" if r["new_due"] else ""
        yield (f"{r['id']}  {r['student_id']}  {r['kind']}  {r['date_from']}..{r['date_to']}  "
               f"received {r['received_at']}{extra}")


def remove_notice(settings: Settings, notice_id: str, now: dt.datetime) -> None:
    """Delete one notice and record it in the audit log.

    Raises:
        NoticeError: no notice has that id.
    """
    import uuid

    with StateStore.open(settings.state.path) as store:
        run_id = f"notice-{uuid.uuid4().hex[:8]}"
        store.start_run(run_id, now, ["notice-remove"])
        student = store.remove_notice(notice_id)
        if student is None:
            store.finish_run(run_id, now, {})
            raise NoticeError(f"no notice with id {notice_id} (see kartiba notice list)")
        store.audit(run_id, "notice_removed", notice=notice_id, student=student)
        store.finish_run(run_id, now, {"notices_removed": 1})


# --------------------------------------------------------------------------- import


def decode_notices_file(data: bytes, name: str) -> str:
    """The text of a notices file in whatever encoding Latvian Excel saved it.

    Raises:
        NoticeError: a binary file (e.g. an .xlsx given as CSV) or undecodable text.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    elif b"\x00" in data[:4096]:
        if data[1:4096:2].count(0) > len(data[1:4096:2]) // 2:
            encodings = ["utf-16-le"]
        elif data[0:4096:2].count(0) > len(data[0:4096:2]) // 2:
            encodings = ["utf-16-be"]
        else:
            raise NoticeError(f"{name}: a binary file, not CSV text (save it as CSV)")
    else:
        encodings = ["utf-8-sig", "cp1257"]
    for encoding in encodings:
        try:
            return data.decode(encoding).lstrip("\ufeff")
        except UnicodeDecodeError:
            continue
    raise NoticeError(f"{name}: cannot decode the text (save it as CSV UTF-8)")


def _delimiter(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ","


def _rows(text: str, name: str, report: NoticeImport) -> Iterator[tuple[int, dict]]:
    """(line number, row) for each data line; bad lines go to ``report.errors``."""
    lines = text.splitlines()
    if not lines:
        raise NoticeError(f"{name}: empty file")
    delimiter = _delimiter(lines[0])
    header = [h.strip().lower() for h in next(csv.reader([lines[0]], delimiter=delimiter))]
    missing = [c for c in ("student", "kind", "from") if c not in header]
    if missing:
        raise NoticeError(f"{name}: header lacks column(s) {', '.join(missing)} "
                          f"(expected {','.join(COLUMNS)})")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            report.errors.append(f"{name}:{number}: the line is longer than {MAX_LINE_CHARS} "
                                 "characters")
            continue
        try:
            cells = next(csv.reader(io.StringIO(line), delimiter=delimiter))
        except csv.Error as exc:
            report.errors.append(f"{name}:{number}: not a CSV line ({exc})")
            continue
        long_cell = next((c for c in cells if len(c) > MAX_CELL_CHARS), None)
        if long_cell is not None:
            report.errors.append(f"{name}:{number}: a cell is longer than {MAX_CELL_CHARS} "
                                 "characters")
            continue
        yield number, dict(zip(header, cells, strict=False))


def import_notices(settings: Settings, path: Path, now: dt.datetime) -> NoticeImport:
    """Import a notices CSV (see the module docstring); idempotent.

    A bad line is reported with file and line; the other lines are imported.

    Raises:
        NoticeError: the whole file is unusable (too big, binary, no header).
    """
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise NoticeError(f"{path.name}: {size} bytes, more than a notices file can be "
                          f"({MAX_FILE_BYTES}); split it")
    text = decode_notices_file(path.read_bytes(), path.name)
    report = NoticeImport()
    good: list[tuple[int, Notice]] = []
    for number, row in _rows(text, path.name, report):
        try:
            good.append((number, _row_notice(row, now)))
        except ValueError as exc:
            report.errors.append(f"{path.name}:{number}: {exc}")
    roster = roster_ids(settings, now.date()) if good else set()
    on_roster = []
    for number, notice in good:
        if notice.student_id in roster:
            on_roster.append(notice)
        else:
            report.errors.append(f"{path.name}:{number}: student {notice.student_id} is not on "
                                 "the journal's roster")
    with StateStore.open(settings.state.path) as store:
        for notice in on_roster:
            if store.add_notice(notice):
                report.added += 1
            else:
                report.known += 1
    return report


def _row_notice(row: dict, now: dt.datetime) -> Notice:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    def date(name: str) -> dt.date:
        try:
            return dt.date.fromisoformat(cell(name))
        except ValueError:
            raise ValueError(f"{name}: {cell(name)!r} is not a date YYYY-MM-DD") from None

    def instant(name: str) -> dt.datetime | None:
        if not cell(name):
            return None
        try:
            return parse_instant(cell(name))
        except ValueError:
            raise ValueError(f"{name}: {cell(name)!r} is not ISO 8601 with offset") from None

    received = instant("received_at")
    return make_notice(cell("student"), cell("kind"), date("from"),
                       date("to") if cell("to") else None, received or now,
                       cell("agreement") or None, instant("new_due"),
                       received_as_given=received.isoformat() if received else "")
