"""The worklist sink: marks proposed to teachers as XLSX/CSV by e-mail (no gateway needed).

e-klase has no API for writing marks. Where the school runs no journal gateway, kartiba
collects the "n" marks of a run, writes one XLSX and one CSV per teacher (kārtības 33. p.: the
subject teacher is responsible for their lessons) and mails them through the injected
``mailer_send``. The teacher enters the marks in e-klase; kartiba then sees them in the
journal like any person's mark and never proposes them again.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from connectors.base import WriteResult, WriteStatus
from connectors.errors import NotFoundError
from mappings.model import JournalMark, Lesson, Mark, School, Teacher

log = logging.getLogger("kartiba.eklase")

RIGA = ZoneInfo("Europe/Riga")
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
CSV_DELIMITER = ";"  # Excel's list separator in the Latvian locale

HEADERS = {
    "lv": ("Datums", "Stunda", "Grupa", "Priekšmets", "Audzēkņa ID", "Audzēknis", "Atzīme",
           "Attaisnots", "Kārtības punkti", "Atslēga"),
    "en": ("Date", "Lesson", "Group", "Subject", "Student ID", "Student", "Mark", "Excused",
           "Procedure points", "Key"),
}
YES_NO = {"lv": ("jā", "nē"), "en": ("yes", "no")}


@dataclass(frozen=True, slots=True)
class WorklistRow:
    """One proposed mark as the teacher sees it."""

    date: dt.date
    number: int
    group: str
    subject: str
    student_id: str
    student: str
    code: str
    excused: bool
    points: tuple[str, ...]
    key: str
    sort_name: tuple[str, str]

    def cells(self, lang: str) -> list[object]:
        yes, no = YES_NO[lang]
        return [self.date, self.number, self.group, self.subject, self.student_id, self.student,
                self.code, yes if self.excused else no, ", ".join(self.points), self.key]


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:64] or "_"


def _points_text(points: tuple[str, ...], lang: str) -> str:
    if not points:
        return ""
    if lang == "lv":
        return "kārtības " + ", ".join(f"{p}." for p in points) + " p."
    return "points " + ", ".join(points)


class WorklistSink:
    """A :class:`connectors.base.JournalSink` that proposes marks to teachers by e-mail.

    Args:
        out_dir: where the XLSX/CSV files are written (kept as a record of what was sent).
        mailer_send: sends one prepared message (the Mailer's SMTP; From is left to it
            unless ``sender`` is given).
        teachers: teachers by id (e-mail addresses and names).
        lessons: the run's lessons by id (date, number, group, subject, teacher).
        school: names of groups, subjects and students.
        lang: ``lv`` (default) or ``en``.
        read_marks: reads the marks the journal holds for a lesson (the journal source's
            read-back); without it the marks of ``lessons`` are used.
        now: the run's clock (file names).
        sender: optional From address.
    """

    name = "eklase-worklist"

    def __init__(self, out_dir: str | Path, mailer_send: Callable[[EmailMessage], None],
                 teachers: Mapping[str, Teacher], lessons: Mapping[str, Lesson], school: School,
                 lang: str = "lv", *,
                 read_marks: Callable[[str], list[JournalMark]] | None = None,
                 now: Callable[[], dt.datetime] | None = None,
                 service_account: str = "kartiba", sender: str | None = None) -> None:
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
        self.sender = sender
        self._pending: dict[str, dict[str, WorklistRow]] = {}  # teacher id -> key -> row
        self.files: list[Path] = []

    # -- JournalSink

    def lesson_marks(self, lesson_id: str) -> list[JournalMark]:
        """The marks the journal holds for a lesson (through ``read_marks``)."""
        if self.read_marks is not None:
            return list(self.read_marks(lesson_id))
        return list(self._lesson(lesson_id).marks)

    def write(self, mark: Mark, idempotency_key: str, comment: str) -> WriteResult:
        """Queue a mark for its lesson's teacher; nothing reaches the journal.

        A mark already in the journal for that student is respected like in the gateway sink:
        a person's mark refuses ("manual_mark"), kartiba's own counts as already present.
        """
        lesson = self._lesson(mark.lesson_id)
        present = [m for m in self.lesson_marks(mark.lesson_id) if m.student_id == mark.student_id]
        if any(m.author_id != self.service_account for m in present):
            return WriteResult(WriteStatus.REFUSED, "manual_mark")
        if present:
            return WriteResult(WriteStatus.ALREADY_PRESENT)
        self._pending.setdefault(lesson.teacher_id, {})[idempotency_key] = self._row(
            lesson, mark, idempotency_key)
        return WriteResult(WriteStatus.PROPOSED)

    def flush(self) -> int:
        """Write and mail one worklist per teacher; returns the messages sent.

        Files are written for every teacher; a teacher without an e-mail address is logged
        (by id) and keeps the files only. If ``mailer_send`` fails for a teacher, that
        teacher's marks stay queued and the first error is raised after the others were sent.
        """
        sent = 0
        failure: Exception | None = None
        stamp = self.now().astimezone(RIGA).strftime("%Y%m%dT%H%M%S")
        for teacher_id in sorted(self._pending):
            rows = sorted(self._pending[teacher_id].values(),
                          key=lambda r: (r.date, r.number, r.group, r.sort_name, r.student_id))
            xlsx, csv_bytes = self.xlsx_bytes(rows), self.csv_bytes(rows)
            base = self.out_dir / f"worklist_{stamp}_{_safe_name(teacher_id)}"
            self._store(base.with_suffix(".xlsx"), xlsx)
            self._store(base.with_suffix(".csv"), csv_bytes)
            teacher = self.teachers.get(teacher_id)
            if teacher is None or not teacher.email:
                log.warning("eklase worklist: teacher %s has no e-mail address; %d marks left "
                            "in %s", teacher_id, len(rows), self.out_dir)
                del self._pending[teacher_id]
                continue
            message = self.message(teacher, rows, xlsx, csv_bytes, base.name)
            try:
                self.mailer_send(message)
            except Exception as exc:  # the mailer's own error; keep the rows for a retry
                log.error("eklase worklist: mail to teacher %s failed (%s)", teacher_id,
                          type(exc).__name__)
                failure = failure or exc
                continue
            log.info("eklase worklist: %d marks mailed to teacher %s", len(rows), teacher_id)
            del self._pending[teacher_id]
            sent += 1
        if failure is not None:
            raise failure
        return sent

    # -- rows

    def _lesson(self, lesson_id: str) -> Lesson:
        lesson = self.lessons.get(lesson_id)
        if lesson is None:
            raise NotFoundError(f"eklase worklist: lesson {lesson_id} is not known",
                                upstream="eklase")
        return lesson

    def _row(self, lesson: Lesson, mark: Mark, key: str) -> WorklistRow:
        group = self.school.groups.get(lesson.group_id)
        subject = self.school.subjects.get(lesson.subject_id)
        student = self.school.students.get(mark.student_id)
        return WorklistRow(
            date=lesson.date, number=lesson.number,
            group=group.name if group else lesson.group_id,
            subject=subject.name if subject else lesson.subject_id,
            student_id=mark.student_id,
            student=student.full_name if student else mark.student_id,
            code=mark.code, excused=mark.excused, points=tuple(mark.points), key=key,
            sort_name=(student.last_name, student.first_name) if student else ("", ""))

    # -- files

    def xlsx_bytes(self, rows: list[WorklistRow]) -> bytes:
        """The worklist as an XLSX workbook: a header row, then one row per mark."""
        book = Workbook()
        sheet = book.active
        sheet.title = "Atzīmes" if self.lang == "lv" else "Marks"
        sheet.append(list(HEADERS[self.lang]))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row.cells(self.lang))
            sheet.cell(row=sheet.max_row, column=1).number_format = "DD.MM.YYYY"
        sheet.freeze_panes = "A2"
        for column, width in zip("ABCDEFGHIJ", (12, 8, 12, 28, 14, 28, 8, 11, 16, 24),
                                 strict=True):
            sheet.column_dimensions[column].width = width
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    def csv_bytes(self, rows: list[WorklistRow]) -> bytes:
        """The worklist as UTF-8 CSV with a BOM (Excel), ``;``-separated, ISO dates."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
        writer.writerow(HEADERS[self.lang])
        for row in rows:
            cells = row.cells(self.lang)
            cells[0] = row.date.isoformat()
            writer.writerow(cells)
        return buffer.getvalue().encode("utf-8-sig")

    def _store(self, path: Path, data: bytes) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files.append(path)

    # -- mail

    def message(self, teacher: Teacher, rows: list[WorklistRow], xlsx: bytes, csv_bytes: bytes,
                base_name: str) -> EmailMessage:
        """The e-mail to one teacher: plain + HTML text, the XLSX and CSV attached."""
        msg = EmailMessage()
        msg["To"] = teacher.email
        if self.sender:
            msg["From"] = self.sender
        msg["Subject"] = _SUBJECT[self.lang].format(n=len(rows))
        msg.set_content(self._plain(teacher, rows))
        msg.add_alternative(self._html(teacher, rows), subtype="html")
        msg.add_attachment(xlsx, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                           filename=f"{base_name}.xlsx")
        msg.add_attachment(csv_bytes, maintype="text", subtype="csv",
                           filename=f"{base_name}.csv", params={"charset": "utf-8"})
        return msg

    def _line(self, row: WorklistRow) -> str:
        excused = (("attaisnots" if row.excused else "neattaisnots") if self.lang == "lv"
                   else ("excused" if row.excused else "unexcused"))
        lesson = f"{row.number}. stunda" if self.lang == "lv" else f"lesson {row.number}"
        return (f"{row.date:%d.%m.%Y}, {lesson}, {row.group}, {row.subject}: {row.student} "
                f"— \"{row.code}\", {excused} ({_points_text(row.points, self.lang)})")

    def _plain(self, teacher: Teacher, rows: list[WorklistRow]) -> str:
        text = _PLAIN[self.lang]
        lines = "\n".join(f"- {self._line(r)}" for r in rows)
        return text.format(name=teacher.name, n=len(rows), lines=lines)

    def _html(self, teacher: Teacher, rows: list[WorklistRow]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS[self.lang][:-1])
        body = ""
        for row in rows:
            cells = row.cells(self.lang)[:-1]
            cells[0] = f"{row.date:%d.%m.%Y}"
            body += "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
        table = f'<table border="1" cellpadding="4" cellspacing="0"><tr>{head}</tr>{body}</table>'
        return _HTML[self.lang].format(name=html.escape(teacher.name), n=len(rows), table=table)


_SUBJECT = {
    "lv": "kartiba: {n} atzīmes \"n\" ievadīšanai e-klasē",
    "en": "kartiba: {n} \"n\" marks to enter in e-klase",
}

_PLAIN = {
    "lv": (
        "Labdien, {name}!\n\n"
        "Saskaņā ar skolas attālināto mācību organizēšanas kārtību kartiba konstatēja kavējumus, "
        "par kuriem e-klases žurnālā jāieraksta atzīme \"n\" (kārtības 43. p.). Skolai nav "
        "savienojuma, pa kuru kartiba varētu ierakstīt atzīmes pati, tāpēc lūdzam ievadīt "
        "e-klasē šīs {n} atzīmes \"n\":\n\n{lines}\n\n"
        "Tas pats saraksts ir pielikumā (XLSX un CSV) ar kārtības punktiem, uz kuriem katra "
        "atzīme balstās.\n\n"
        "Kad atzīmes būs ievadītas, kartiba tās redzēs e-klases žurnālā un vairs nepiedāvās. "
        "Ja uzskatāt, ka kāda atzīme nav pamatota, neievadiet to: skolotāja lēmums vienmēr ir "
        "noteicošais.\n\n"
        "Šī ir automātiska vēstule.\n"
    ),
    "en": (
        "Hello {name},\n\n"
        "Under the school's remote-learning procedure kartiba found absences that call for an "
        "\"n\" mark in the e-klase journal (point 43). The school has no connection through "
        "which kartiba could enter marks itself, so please enter these {n} \"n\" marks in "
        "e-klase:\n\n{lines}\n\n"
        "The same list is attached (XLSX and CSV) with the procedure points behind each mark."
        "\n\nOnce entered, kartiba will see the marks in the journal and not propose them "
        "again. If you find a mark unjustified, do not enter it: the teacher's decision always "
        "prevails.\n\nThis message was sent automatically.\n"
    ),
}

_HTML = {
    "lv": (
        "<html><body><p>Labdien, {name}!</p>"
        "<p>Saskaņā ar skolas attālināto mācību organizēšanas kārtību kartiba konstatēja "
        "kavējumus, par kuriem e-klases žurnālā jāieraksta atzīme &quot;n&quot; (kārtības "
        "43. p.). Lūdzam ievadīt e-klasē šīs <b>{n}</b> atzīmes &quot;n&quot;:</p>{table}"
        "<p>Tas pats saraksts ir pielikumā (XLSX un CSV).</p>"
        "<p>Kad atzīmes būs ievadītas, kartiba tās redzēs e-klases žurnālā un vairs "
        "nepiedāvās. Ja uzskatāt, ka kāda atzīme nav pamatota, neievadiet to: skolotāja lēmums "
        "vienmēr ir noteicošais.</p><p><i>Šī ir automātiska vēstule.</i></p></body></html>"
    ),
    "en": (
        "<html><body><p>Hello {name},</p>"
        "<p>Under the school's remote-learning procedure kartiba found absences that call for "
        "an &quot;n&quot; mark in the e-klase journal (point 43). Please enter these "
        "<b>{n}</b> &quot;n&quot; marks in e-klase:</p>{table}"
        "<p>The same list is attached (XLSX and CSV).</p>"
        "<p>Once entered, kartiba will see the marks in the journal and not propose them "
        "again. If you find a mark unjustified, do not enter it: the teacher's decision always "
        "prevails.</p><p><i>This message was sent automatically.</i></p></body></html>"
    ),
}
