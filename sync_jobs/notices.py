"""Absence notices received outside e-klase (phone, SMS, e-mail): ``kartiba notice add/import``.

Points 20, 26-29 (illness, told before the lesson) and 41-42 (technical problem, teacher
contacted, catch-up or extended deadline). They are kept in the state store and judged
together with the notices the journal has.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from mappings.model import Agreement, Notice, NoticeKind
from sync_jobs.clock import parse_instant
from sync_jobs.settings import Settings
from sync_jobs.state import StateStore

COLUMNS = ("student", "kind", "from", "to", "received_at", "agreement", "new_due")


@dataclass
class NoticeImport:
    added: int = 0
    errors: list[str] = field(default_factory=list)


def make_notice(student: str, kind: str, date_from: dt.date, date_to: dt.date | None,
                received_at: dt.datetime, agreement: str | None = None,
                new_due: dt.datetime | None = None) -> Notice:
    """A validated notice (raises ValueError with the field's name)."""
    if not student.strip():
        raise ValueError("student: empty")
    date_to = date_to or date_from
    if date_to < date_from:
        raise ValueError("to: before from")
    parsed_agreement = Agreement(agreement) if agreement else None
    if parsed_agreement is not None and kind != NoticeKind.TECH_PROBLEM:
        raise ValueError("agreement: only for tech_problem notices (points 41, 42)")
    if parsed_agreement is Agreement.EXTENDED_DEADLINE and new_due is None:
        raise ValueError("new_due: required with extended_deadline (point 42)")
    return Notice(id=f"local-{uuid.uuid4().hex[:10]}", student_id=student.strip(),
                  kind=NoticeKind(kind), date_from=date_from, date_to=date_to,
                  received_at=received_at, agreement=parsed_agreement, new_due=new_due)


def add_notice(settings: Settings, args, now: dt.datetime) -> str:
    notice = make_notice(args.student, args.kind, args.date_from, args.date_to,
                         args.received_at or now, args.agreement, args.new_due)
    with StateStore.open(settings.state.path) as store:
        store.add_notice(notice)
    return notice.id


def import_notices(settings: Settings, path: Path, now: dt.datetime) -> NoticeImport:
    """Import a CSV (header: student,kind,from,to,received_at,agreement,new_due).

    A bad row is reported with file and line; the other rows are imported.
    """
    report = NoticeImport()
    good: list[Notice] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("student", "kind", "from") if c not in (reader.fieldnames or [])]
        if missing:
            report.errors.append(f"{path.name}: header lacks column(s) {', '.join(missing)}")
            return report
        for row in reader:
            try:
                good.append(_row_notice(row, now))
            except (ValueError, KeyError) as exc:
                report.errors.append(f"{path.name}:{reader.line_num}: {exc}")
    with StateStore.open(settings.state.path) as store:
        for notice in good:
            store.add_notice(notice)
    report.added = len(good)
    return report


def _row_notice(row: dict, now: dt.datetime) -> Notice:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    return make_notice(
        cell("student"), cell("kind"), dt.date.fromisoformat(cell("from")),
        dt.date.fromisoformat(cell("to")) if cell("to") else None,
        parse_instant(cell("received_at")) if cell("received_at") else now,
        cell("agreement") or None,
        parse_instant(cell("new_due")) if cell("new_due") else None)
