"""The worklist sink: marks proposed to teachers as XLSX/CSV by e-mail (no gateway needed).

e-klase has no API for writing marks. Where the school runs no journal gateway, kartiba
collects the "n" marks, writes one XLSX and one CSV per teacher (kārtības 33. p.: the subject
teacher is responsible for their lessons) and mails them through the injected ``mailer_send``.
The teacher enters the marks in e-klase; kartiba then sees them in the journal like any
person's mark and never proposes them again.

Nothing is lost when the mail fails: each proposed mark is claimed in a
:class:`WorklistLedger` (the state store in production) and stays pending until the SMTP
server accepted the teacher's message; the next run mails it again with the same Message-ID.
A teacher whose e-mail field does not hold exactly one usable address gets nothing: the
worklist goes to the school's oversight addresses, saying whose address is unusable.
Files are created 0600 in a 0700 folder (they hold minors' names); no cell can become a
spreadsheet formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import os
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from connectors._cells import csv_cell, xlsx_row
from connectors.base import WriteResult, WriteStatus
from connectors.errors import NotFoundError
from connectors.smtp.headers import (
    address,
    domain_of,
    plural_lv,
    set_common_headers,
    single_address,
)
from mappings.model import JournalMark, Lesson, Mark, School, Teacher

log = logging.getLogger("kartiba.eklase")

RIGA = ZoneInfo("Europe/Riga")
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
CSV_DELIMITER = ";"  # Excel's list separator in the Latvian locale

HEADERS = {
    "lv": ("Datums", "Stunda", "Laiks", "Grupa", "Priekšmets", "Izglītojamais",
           "Izglītojamā ID", "Atzīme", "Attaisnots", "Iemesls", "Kārtības punkti"),
    "en": ("Date", "Lesson", "Time", "Group", "Subject", "Student", "Student ID", "Mark",
           "Excused", "Reason", "Procedure points"),
}
WIDTHS = (12, 8, 13, 12, 26, 28, 14, 8, 11, 48, 16)
YES_NO = {"lv": ("jā", "nē"), "en": ("yes", "no")}


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    """A proposed mark as the ledger keeps it: ids, times and codes only (no names)."""

    key: str
    teacher_id: str
    lesson_id: str
    student_id: str
    code: str
    excused: bool
    points: tuple[str, ...]
    reason: str
    date: dt.date
    number: int
    start: dt.datetime
    end: dt.datetime
    group_id: str
    subject_id: str
    comment: str = ""
    attempts: int = 0


class WorklistLedger(Protocol):
    """Where proposed marks wait until their teacher's mail was accepted (the state store)."""

    def worklist_claim(self, entries: Sequence[WorklistEntry], run_id: str) -> int: ...

    def worklist_pending(self) -> list[WorklistEntry]: ...

    def worklist_mark_sent(self, keys: Sequence[str], run_id: str, message_id: str,
                           at: dt.datetime | None = None) -> int: ...

    def worklist_failed(self, keys: Sequence[str]) -> None: ...


class MemoryLedger:
    """A :class:`WorklistLedger` in memory, for a sink used without a state store."""

    def __init__(self) -> None:
        self.items: dict[str, WorklistEntry] = {}
        self.sent: dict[str, str] = {}

    def worklist_claim(self, entries: Sequence[WorklistEntry], run_id: str) -> int:
        new = [e for e in entries if e.key not in self.items and e.key not in self.sent]
        self.items.update((e.key, e) for e in new)
        return len(new)

    def worklist_pending(self) -> list[WorklistEntry]:
        return list(self.items.values())

    def worklist_mark_sent(self, keys: Sequence[str], run_id: str, message_id: str,
                           at: dt.datetime | None = None) -> int:
        done = [k for k in keys if self.items.pop(k, None) is not None]
        self.sent.update(dict.fromkeys(done, message_id))
        return len(done)

    def worklist_failed(self, keys: Sequence[str]) -> None:
        return None


@dataclass(frozen=True, slots=True)
class WorklistRow:
    """One proposed mark as the teacher reads it."""

    date: dt.date
    number: int
    time: str
    group: str
    subject: str
    student: str
    student_id: str
    code: str
    excused: bool
    reason: str
    points: str
    sort_name: tuple[str, str]

    def cells(self, lang: str) -> list[object]:
        yes, no = YES_NO[lang]
        return [self.date, self.number, self.time, self.group, self.subject, self.student,
                self.student_id, self.code, yes if self.excused else no, self.reason,
                self.points]


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:64] or "_"


def _points_text(points: tuple[str, ...], lang: str) -> str:
    if not points:
        return ""
    if lang == "lv":
        return "kārtības " + ", ".join(f"{p}." for p in points) + " p."
    return "points " + ", ".join(points)


def _hm(value: dt.datetime) -> str:
    return value.astimezone(RIGA).strftime("%H:%M")


@cache
def _env() -> Environment:
    env = Environment(loader=PackageLoader("connectors.eklase", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html.j2",),
                                                   default=False, default_for_string=False),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.globals["plural_lv"] = plural_lv
    return env


def worklist_message_id(recipient: str, keys: Sequence[str], sender: str) -> str:
    """The same Message-ID for the same marks to the same address, whichever run sends it."""
    digest = hashlib.sha256("\n".join(["worklist", recipient.lower(), *sorted(keys)])
                            .encode()).hexdigest()[:32]
    return f"<kartiba.worklist.{digest}@{domain_of(sender)}>"


class WorklistSink:
    """A :class:`connectors.base.JournalSink` that proposes marks to teachers by e-mail.

    Args:
        out_dir: where the XLSX/CSV files are written (0700 folder, 0600 files).
        mailer_send: sends one prepared message (the Mailer's SMTP).
        teachers: teachers by id (e-mail addresses and names).
        lessons: the run's lessons by id (date, number, group, subject, teacher).
        school: names of groups, subjects and students; oversight addresses.
        lang: ``lv`` (default) or ``en``.
        read_marks: reads the marks the journal holds for a lesson (the journal source's
            read-back); without it the marks of ``lessons`` are used.
        now: the run's clock (Date header, file names).
        service_account: the journal account kartiba's own marks carry.
        sender: the From address.
        ledger: where proposed marks wait until mailed (default: in memory).
        run_id: the run, for the ledger.
    """

    name = "eklase-worklist"

    def __init__(self, out_dir: str | Path, mailer_send: Callable[[EmailMessage], None],
                 teachers: Mapping[str, Teacher], lessons: Mapping[str, Lesson], school: School,
                 lang: str = "lv", *,
                 read_marks: Callable[[str], list[JournalMark]] | None = None,
                 now: Callable[[], dt.datetime] | None = None,
                 service_account: str = "kartiba", sender: str | None = None,
                 ledger: WorklistLedger | None = None, run_id: str = "") -> None:
        if lang not in HEADERS:
            raise ValueError(f"unsupported worklist language {lang!r}")
        self.out_dir = Path(out_dir)
        self.mailer_send = mailer_send
        self.teachers = teachers
        self.lessons = lessons
        self.school = school
        self.lang = lang
        self.read_marks = read_marks
        self.now = now or (lambda: dt.datetime.now(RIGA))
        self.service_account = service_account
        self.sender = sender or "kartiba@localhost"
        self.ledger: WorklistLedger = ledger if ledger is not None else MemoryLedger()
        self.run_id = run_id
        self.files: list[Path] = []
        self.failed = 0

    # -- JournalSink

    def lesson_marks(self, lesson_id: str) -> list[JournalMark]:
        """The marks the journal holds for a lesson (through ``read_marks``)."""
        if self.read_marks is not None:
            return list(self.read_marks(lesson_id))
        return list(self._lesson(lesson_id).marks)

    def write(self, mark: Mark, idempotency_key: str, comment: str) -> WriteResult:
        """Claim a mark for its lesson's teacher in the ledger; nothing reaches the journal.

        A mark already in the journal for that student is respected like in the gateway sink:
        a person's mark refuses ("manual_mark"), kartiba's own counts as already present.
        """
        lesson = self._lesson(mark.lesson_id)
        present = [m for m in self.lesson_marks(mark.lesson_id) if m.student_id == mark.student_id]
        if any(m.author_id != self.service_account for m in present):
            return WriteResult(WriteStatus.REFUSED, "manual_mark")
        if present:
            return WriteResult(WriteStatus.ALREADY_PRESENT)
        self.ledger.worklist_claim([self._entry(lesson, mark, idempotency_key, comment)],
                                   self.run_id)
        return WriteResult(WriteStatus.PROPOSED)

    def flush(self) -> int:
        """Write and mail one worklist per addressee of every pending mark; messages sent.

        Pending marks of earlier runs (whose mail failed) are included. A message that fails
        leaves its marks pending (``failed`` counts it); the others are still sent.
        """
        sent = 0
        stamp = self.now().astimezone(RIGA).strftime("%Y%m%dT%H%M%S")
        by_teacher: dict[str, list[WorklistEntry]] = defaultdict(list)
        for entry in self.ledger.worklist_pending():
            by_teacher[entry.teacher_id].append(entry)
        for teacher_id, entries in sorted(by_teacher.items()):
            sent += self._flush_teacher(teacher_id, entries, stamp)
        return sent

    # -- one teacher

    def _flush_teacher(self, teacher_id: str, entries: list[WorklistEntry], stamp: str) -> int:
        rows = sorted((self._row(e) for e in entries),
                      key=lambda r: (r.date, r.number, r.group, r.sort_name, r.student_id))
        xlsx, csv_bytes = self.xlsx_bytes(rows), self.csv_bytes(rows)
        base = self.out_dir / f"worklist_{stamp}_{_safe_name(teacher_id)}"
        self._store(base.with_suffix(".xlsx"), xlsx)
        self._store(base.with_suffix(".csv"), csv_bytes)
        teacher = self.teachers.get(teacher_id) or Teacher(teacher_id, teacher_id, "")
        addresses = self._addresses(teacher)
        if not addresses:
            log.warning("eklase worklist: teacher %s has no usable e-mail address and no "
                        "oversight address is set; %d marks stay pending", teacher_id,
                        len(rows))
            self.failed += 1
            return 0
        keys = [e.key for e in entries]
        sent = 0
        for addr, name, redirected in addresses:
            message = self.message(teacher, rows, xlsx, csv_bytes, base.name, to=(addr, name),
                                   keys=keys, redirected=redirected)
            try:
                self.mailer_send(message)
            except Exception as exc:  # the mailer's own error; the marks stay pending
                log.error("eklase worklist: mail for teacher %s failed (%s); retried next run",
                          teacher_id, type(exc).__name__)
                self.ledger.worklist_failed(keys)
                self.failed += 1
                return sent
            sent += 1
        self.ledger.worklist_mark_sent(keys, self.run_id, str(message["Message-ID"]),
                                       at=self.now())
        log.info("eklase worklist: %d marks mailed for teacher %s", len(rows), teacher_id)
        return sent

    def _addresses(self, teacher: Teacher) -> list[tuple[str, str, bool]]:
        """(address, display name, redirected) of the teacher, or of the oversight instead."""
        own = single_address(teacher.email)
        if own is not None:
            return [(own, teacher.name, False)]
        log.warning("eklase worklist: teacher %s has no usable e-mail address; the worklist "
                    "goes to the oversight addresses", teacher.id)
        found = (single_address(a) for a in self.school.oversight)
        return [(a, "", True) for a in dict.fromkeys(found) if a is not None]

    # -- rows

    def _lesson(self, lesson_id: str) -> Lesson:
        lesson = self.lessons.get(lesson_id)
        if lesson is None:
            raise NotFoundError(f"eklase worklist: lesson {lesson_id} is not known",
                                upstream="eklase")
        return lesson

    @staticmethod
    def _entry(lesson: Lesson, mark: Mark, key: str, comment: str) -> WorklistEntry:
        return WorklistEntry(
            key=key, teacher_id=lesson.teacher_id, lesson_id=lesson.id,
            student_id=mark.student_id, code=mark.code, excused=mark.excused,
            points=tuple(mark.points), reason=mark.reason, date=lesson.date,
            number=lesson.number, start=lesson.start, end=lesson.end, group_id=lesson.group_id,
            subject_id=lesson.subject_id, comment=comment)

    def _row(self, entry: WorklistEntry) -> WorklistRow:
        group = self.school.groups.get(entry.group_id)
        subject = self.school.subjects.get(entry.subject_id)
        student = self.school.students.get(entry.student_id)
        reason = entry.comment.split(" — ")[0] if entry.comment else entry.reason
        return WorklistRow(
            date=entry.date, number=entry.number,
            time=f"{_hm(entry.start)}–{_hm(entry.end)}",
            group=group.name if group else entry.group_id,
            subject=subject.name if subject else entry.subject_id,
            student=self.school.student_label(entry.student_id),
            student_id=entry.student_id, code=entry.code, excused=entry.excused,
            reason=reason, points=_points_text(entry.points, self.lang),
            sort_name=(student.last_name, student.first_name) if student else ("", ""))

    # -- files

    def xlsx_bytes(self, rows: list[WorklistRow]) -> bytes:
        """The worklist as an XLSX sheet: filterable, landscape, one page wide when printed."""
        book = Workbook()
        sheet = book.active
        sheet.title = "Atzīmes" if self.lang == "lv" else "Marks"
        xlsx_row(sheet, list(HEADERS[self.lang]))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in rows:
            xlsx_row(sheet, row.cells(self.lang))
            sheet.cell(row=sheet.max_row, column=1).number_format = "DD.MM.YYYY"
        last = get_column_letter(len(WIDTHS))
        sheet.auto_filter.ref = f"A1:{last}{max(sheet.max_row, 2)}"
        sheet.freeze_panes = "A2"
        for index, width in enumerate(WIDTHS, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        _print_setup(sheet)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    def csv_bytes(self, rows: list[WorklistRow]) -> bytes:
        """The worklist as UTF-8 CSV with a BOM (Excel), ``;``-separated, DD.MM.YYYY dates."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
        writer.writerow([csv_cell(h) for h in HEADERS[self.lang]])
        for row in rows:
            cells = row.cells(self.lang)
            cells[0] = f"{row.date:%d.%m.%Y}"
            writer.writerow([csv_cell(c) for c in cells])
        return buffer.getvalue().encode("utf-8-sig")

    def _store(self, path: Path, data: bytes) -> None:
        """Write a file 0600 inside a 0700 folder (minors' names)."""
        self.out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.out_dir, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(path, 0o600)
        self.files.append(path)

    # -- mail

    def message(self, teacher: Teacher, rows: list[WorklistRow], xlsx: bytes, csv_bytes: bytes,
                base_name: str, *, to: tuple[str, str] | None = None,
                keys: Sequence[str] = (), redirected: bool = False) -> EmailMessage:
        """The e-mail with the worklist: plain + HTML text, the XLSX and CSV attached.

        Args:
            teacher: whose lessons the marks are of.
            rows: the marks.
            xlsx: the XLSX file. csv_bytes: the CSV file. base_name: their file name stem.
            to: (address, display name); the teacher's own address by default.
            keys: the mark keys (give the Message-ID).
            redirected: the teacher's address is unusable; ``to`` is an oversight address.
        """
        addr, name = to if to is not None else (teacher.email, teacher.name)
        context = {"teacher": teacher.name, "n": len(rows), "rows": rows,
                   "headers": HEADERS[self.lang], "redirected": redirected,
                   "teacher_id": teacher.id}
        msg = EmailMessage()
        set_common_headers(
            msg, sender=self.sender, to=address(name, addr), lang=self.lang,
            subject=_env().get_template(f"worklist_subject_{self.lang}.txt.j2").render(
                **context).strip(),
            message_id=worklist_message_id(addr, keys or [base_name], self.sender),
            now=self.now())
        msg.set_content(_env().get_template(f"worklist_{self.lang}.txt.j2").render(**context),
                        subtype="plain", charset="utf-8", cte="quoted-printable")
        msg.add_alternative(
            _env().get_template(f"worklist_{self.lang}.html.j2").render(**context),
            subtype="html", charset="utf-8", cte="quoted-printable")
        msg.add_attachment(xlsx, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                           filename=f"{base_name}.xlsx")
        msg.add_attachment(csv_bytes, maintype="text", subtype="csv",
                           filename=f"{base_name}.csv", params={"charset": "utf-8"})
        return msg


def _print_setup(sheet) -> None:
    """Landscape A4, all columns on one page width, the header row on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    sheet.print_options.gridLines = True
