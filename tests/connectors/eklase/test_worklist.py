"""WorklistSink: proposed marks as XLSX/CSV per teacher, mailed through the injected sender."""

from __future__ import annotations

import csv
import datetime as dt
import io
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from connectors.base import JournalSink, WriteResult, WriteStatus
from connectors.eklase.worklist import WorklistSink
from connectors.errors import NotFoundError
from mappings.model import (
    Group,
    JournalMark,
    Lesson,
    LessonMode,
    Mark,
    School,
    Student,
    Subject,
    Teacher,
)

RIGA = ZoneInfo("Europe/Riga")
NOW = dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA)
TEACHERS = {
    "t1": Teacher("t1", "Ilze Kalniņa", "ilze.kalnina@school.lv"),
    "t2": Teacher("t2", "Pēteris Ozols", "peteris.ozols@school.lv"),
    "t3": Teacher("t3", "Bez Pasta", ""),
}
SCHOOL = School(
    name="DTTT", teachers=TEACHERS,
    groups={"g1": Group("g1", "ET-22", "t2"), "g2": Group("g2", "TU-23")},
    students={
        "s1": Student("s1", "g1", "Jānis", "Bērziņš"),
        "s2": Student("s2", "g1", "Anna", "Ozola"),
        "s3": Student("s3", "g2", "Līga", "Kalna"),
    },
    subjects={"m1": Subject("m1", "Elektrotehnika"), "m2": Subject("m2", "Tūrisma ģeogrāfija")},
)


def _lesson(lesson_id, teacher, group, subject, day, number, marks=()) -> Lesson:
    start = dt.datetime(day.year, day.month, day.day, 8 + number, 0, tzinfo=RIGA)
    return Lesson(lesson_id, group, subject, teacher, day, number, start,
                  start + dt.timedelta(minutes=45), LessonMode.REMOTE_SYNC, marks=tuple(marks))


LESSONS = {
    "L1": _lesson("L1", "t1", "g1", "m1", dt.date(2026, 11, 30), 2),
    "L2": _lesson("L2", "t1", "g1", "m1", dt.date(2026, 11, 27), 1),
    "L3": _lesson("L3", "t2", "g2", "m2", dt.date(2026, 11, 30), 3),
    "L4": _lesson("L4", "t3", "g2", "m2", dt.date(2026, 11, 30), 4),
    "L5": _lesson("L5", "t1", "g1", "m1", dt.date(2026, 11, 30), 5, marks=[
        JournalMark("s1", "n", "t1"), JournalMark("s2", "n", "kartiba")]),
}


class Outbox:
    """Collects what the sink hands to the mailer (in place of SMTP, which is not ours)."""

    def __init__(self, fail_for: str | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.fail_for = fail_for

    def __call__(self, message: EmailMessage) -> None:
        if _to(message) == self.fail_for:
            raise ConnectionError("smtp down")
        self.messages.append(message)


def _sink(tmp_path, outbox, lang="lv", **kw) -> WorklistSink:
    return WorklistSink(tmp_path, outbox, TEACHERS, LESSONS, SCHOOL, lang, now=lambda: NOW, **kw)


def _to(message: EmailMessage) -> str:
    return message["To"].addresses[0].addr_spec


def _attachments(message: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True)
            for part in message.iter_attachments()}


def test_sink_implements_the_protocol(tmp_path):
    assert isinstance(_sink(tmp_path, Outbox()), JournalSink)


@pytest.mark.parametrize(
    ("mark", "result"),
    [
        pytest.param(Mark("L1", "s1", "n", False, ("30",), "x"),
                     WriteResult(WriteStatus.PROPOSED), id="proposed"),
        pytest.param(Mark("L5", "s1", "n", False, ("30",), "x"),
                     WriteResult(WriteStatus.REFUSED, "manual_mark"), id="persons-mark"),
        pytest.param(Mark("L5", "s2", "n", False, ("30",), "x"),
                     WriteResult(WriteStatus.ALREADY_PRESENT), id="our-mark"),
    ],
)
def test_write_results(tmp_path, mark, result):
    assert _sink(tmp_path, Outbox()).write(mark, mark.key, "") == result


def test_write_reads_marks_through_the_injected_reader(tmp_path):
    asked: list[str] = []

    def read(lesson_id: str) -> list[JournalMark]:
        asked.append(lesson_id)
        return [JournalMark("s1", "n", "t1")]

    sink = _sink(tmp_path, Outbox(), read_marks=read)
    mark = Mark("L1", "s1", "n", False, ("30",), "x")
    assert sink.write(mark, mark.key, "") == WriteResult(WriteStatus.REFUSED, "manual_mark")
    assert sink.lesson_marks("L1") == [JournalMark("s1", "n", "t1")]
    assert asked == ["L1", "L1"]


def test_unknown_lesson_is_not_found(tmp_path):
    with pytest.raises(NotFoundError):
        _sink(tmp_path, Outbox()).write(Mark("L9", "s1", "n", False, (), "x"), "k", "")


def _fill(sink: WorklistSink) -> None:
    for mark in [
        Mark("L1", "s2", "n", False, ("30",), "not_connected"),
        Mark("L1", "s1", "n", True, ("20", "28", "30"), "notice"),
        Mark("L2", "s1", "n", False, ("31",), "no_activity"),
        Mark("L3", "s3", "n", False, ("30", "39", "43"), "tech"),
    ]:
        assert sink.write(mark, mark.key, "").status is WriteStatus.PROPOSED


def test_flush_mails_one_message_per_teacher(tmp_path):
    outbox = Outbox()
    sink = _sink(tmp_path, outbox)
    _fill(sink)
    assert sink.flush() == 2
    assert [_to(m) for m in outbox.messages] == ["ilze.kalnina@school.lv",
                                                 "peteris.ozols@school.lv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "worklist_20261130T180000_t1.csv", "worklist_20261130T180000_t1.xlsx",
        "worklist_20261130T180000_t2.csv", "worklist_20261130T180000_t2.xlsx"]
    assert sink.flush() == 0  # nothing pending any more


def _fill_with_reasons(sink: WorklistSink) -> None:
    for mark, comment in [
        (Mark("L1", "s2", "n", False, ("30",), "not_connected"),
         "nepieslēdzās tiešsaistes stundai — kārtības 30. p."),
        (Mark("L1", "s1", "n", True, ("20", "28", "30"), "notice"), ""),
        (Mark("L2", "s1", "n", False, ("31",), "no_activity"), ""),
        (Mark("L3", "s3", "n", False, ("30", "39", "43"), "tech"), ""),
    ]:
        assert sink.write(mark, mark.key, comment).status is WriteStatus.PROPOSED


def test_xlsx_cell_by_cell(tmp_path):
    outbox = Outbox()
    sink = _sink(tmp_path, outbox)
    _fill_with_reasons(sink)
    sink.flush()
    sheet = load_workbook(tmp_path / "worklist_20261130T180000_t1.xlsx").active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [
        ["Datums", "Stunda", "Laiks", "Grupa", "Priekšmets", "Izglītojamais", "Izglītojamā ID",
         "Atzīme", "Attaisnots", "Iemesls", "Kārtības punkti"],
        [dt.datetime(2026, 11, 27), 1, "09:00–09:45", "ET-22", "Elektrotehnika",
         "Jānis Bērziņš", "s1", "n", "nē", "no_activity", "kārtības 31. p."],
        [dt.datetime(2026, 11, 30), 2, "10:00–10:45", "ET-22", "Elektrotehnika",
         "Jānis Bērziņš", "s1", "n", "jā", "notice", "kārtības 20., 28., 30. p."],
        [dt.datetime(2026, 11, 30), 2, "10:00–10:45", "ET-22", "Elektrotehnika", "Anna Ozola",
         "s2", "n", "nē", "nepieslēdzās tiešsaistes stundai", "kārtības 30. p."],
    ]
    assert sheet["A2"].number_format == "DD.MM.YYYY"
    assert sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    assert _attachments(outbox.messages[0])["worklist_20261130T180000_t1.xlsx"] == (
        tmp_path / "worklist_20261130T180000_t1.xlsx").read_bytes()


def test_xlsx_filter_and_print_settings(tmp_path):
    """Autofilter over the table; landscape A4, one page wide, the header on every page."""
    sink = _sink(tmp_path, Outbox())
    _fill_with_reasons(sink)
    sink.flush()
    sheet = load_workbook(tmp_path / "worklist_20261130T180000_t1.xlsx").active
    assert sheet.auto_filter.ref == "A1:K4"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9  # A4
    assert int(sheet.page_setup.fitToWidth) == 1 and int(sheet.page_setup.fitToHeight) == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == "$1:$1"
    assert "Atslēga" not in [c.value for c in sheet[1]]  # no internal key column


def test_csv_reads_back_with_bom(tmp_path):
    outbox = Outbox()
    sink = _sink(tmp_path, outbox)
    _fill(sink)
    sink.flush()
    raw = (tmp_path / "worklist_20261130T180000_t2.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["Datums", "Stunda", "Laiks", "Grupa", "Priekšmets", "Izglītojamais", "Izglītojamā ID",
         "Atzīme", "Attaisnots", "Iemesls", "Kārtības punkti"],
        ["30.11.2026", "3", "11:00–11:45", "TU-23", "Tūrisma ģeogrāfija", "Līga Kalna", "s3",
         "n", "nē", "tech", "kārtības 30., 39., 43. p."],
    ]
    attached = _attachments(outbox.messages[1])["worklist_20261130T180000_t2.csv"]
    assert attached == raw


def test_message_is_latvian_plain_and_html(tmp_path):
    outbox = Outbox()
    sink = _sink(tmp_path, outbox, sender="kartiba@school.lv")
    _fill(sink)
    sink.flush()
    message = outbox.messages[0]
    assert message["From"].addresses[0].addr_spec == "kartiba@school.lv"
    assert message["From"].addresses[0].display_name == "kārtības automātika (kartiba)"
    assert message["To"].addresses[0].display_name == "Ilze Kalniņa"
    assert message["Subject"] == "[kartiba] 3 atzīmes „n” ievadīšanai e-klasē"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@school.lv>") and message["Date"]
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Labdien, Ilze Kalniņa!" in plain
    assert "ievadīt e-klasē šīs 3 atzīmes „n”" in plain
    assert "kārtības automātika tās redzēs e-klases žurnālā" in plain
    assert ("30.11.2026, 2. stunda (10:00–10:45), ET-22, Elektrotehnika: Jānis Bērziņš — „n”, "
            "attaisnots; notice (kārtības 20., 28., 30. p.)") in plain
    assert '<html lang="lv">' in html and '<meta charset="utf-8">' in html
    assert '<th scope="row">Anna Ozola</th>' in html and "<strong>3</strong>" in html
    assert message.get_body(("html",)).get_content_charset() == "utf-8"
    assert sorted(_attachments(message)) == ["worklist_20261130T180000_t1.csv",
                                             "worklist_20261130T180000_t1.xlsx"]


@pytest.mark.parametrize(("n", "subject"), [(1, "1 atzīme „n”"), (2, "2 atzīmes „n”"),
                                            (11, "11 atzīmes „n”"), (21, "21 atzīme „n”")])
def test_latvian_plural_in_subject(tmp_path, n, subject):
    outbox = Outbox()
    sink = _sink(tmp_path, outbox)
    students = {f"x{i}": Student(f"x{i}", "g1", "Vārds", f"Uzvārds{i}") for i in range(n)}
    sink.school = School(name="DTTT", teachers=TEACHERS, groups=SCHOOL.groups,
                         students=students, subjects=SCHOOL.subjects)
    for sid in students:
        sink.write(Mark("L1", sid, "n", False, ("30",), "x"), f"L1:{sid}", "")
    sink.flush()
    assert outbox.messages[0]["Subject"].startswith(f"[kartiba] {subject} ievadīšanai")


def test_english_worklist(tmp_path):
    outbox = Outbox()
    sink = _sink(tmp_path, outbox, lang="en")
    _fill(sink)
    sink.flush()
    message = outbox.messages[1]
    assert message["Subject"] == '[kartiba] 1 "n" mark to enter in e-klase'
    sheet = load_workbook(tmp_path / "worklist_20261130T180000_t2.xlsx").active
    assert [c.value for c in sheet[1]][:4] == ["Date", "Lesson", "Time", "Group"]
    assert sheet["I2"].value == "no"


def test_html_escapes_names(tmp_path):
    teachers = {"t1": Teacher("t1", "<b>Ilze</b>", "ilze@school.lv")}
    outbox = Outbox()
    sink = WorklistSink(tmp_path, outbox, teachers, LESSONS, SCHOOL, now=lambda: NOW)
    sink.write(Mark("L1", "s1", "n", False, ("30",), "x"), "L1:s1", "")
    sink.flush()
    html = outbox.messages[0].get_body(("html",)).get_content()
    assert "&lt;b&gt;Ilze&lt;/b&gt;" in html and "<b>Ilze</b>" not in html


def test_teacher_without_email_keeps_files_and_marks_pending(tmp_path, caplog):
    outbox = Outbox()
    sink = _sink(tmp_path, outbox)
    sink.write(Mark("L4", "s3", "n", False, ("30",), "x"), "L4:s3", "")
    assert sink.flush() == 0
    assert outbox.messages == []
    assert (tmp_path / "worklist_20261130T180000_t3.xlsx").exists()
    assert "t3" in caplog.text and "Bez Pasta" not in caplog.text
    assert [e.key for e in sink.ledger.worklist_pending()] == ["L4:s3"]  # not lost


@pytest.mark.parametrize("field", ["ilze@school.lv,attacker@evil.example",
                                   "ilze@school.lv attacker@evil.example",
                                   "Ilze <ilze@school.lv>", "", "ilze@school"])
def test_unusable_address_goes_to_oversight_only(tmp_path, field):
    teachers = {"t1": Teacher("t1", "Ilze Kalniņa", field)}
    school = School(name="DTTT", teachers=teachers, groups=SCHOOL.groups,
                    students=SCHOOL.students, subjects=SCHOOL.subjects,
                    oversight=("vietnieks@school.lv",))
    outbox = Outbox()
    sink = WorklistSink(tmp_path, outbox, teachers, LESSONS, school, now=lambda: NOW)
    sink.write(Mark("L1", "s1", "n", False, ("30",), "x"), "L1:s1", "")
    assert sink.flush() == 1
    assert [_to(m) for m in outbox.messages] == ["vietnieks@school.lv"]
    plain = outbox.messages[0].get_body(("plain",)).get_content()
    assert "Pedagoga Ilze Kalniņa (ID t1) e-pasta adrese e-klasē nav derīga" in plain


def test_forged_display_name_stays_a_display_name(tmp_path):
    teachers = {"t1": Teacher("t1", "x <attacker@evil.example> Liepiņš", "ilze@school.lv")}
    outbox = Outbox()
    sink = WorklistSink(tmp_path, outbox, teachers, LESSONS, SCHOOL, now=lambda: NOW)
    sink.write(Mark("L1", "s1", "n", False, ("30",), "x"), "L1:s1", "")
    sink.flush()
    to = outbox.messages[0]["To"]
    assert [a.addr_spec for a in to.addresses] == ["ilze@school.lv"]


def test_formula_text_is_neutralised(tmp_path):
    school = School(name="DTTT", teachers=TEACHERS,
                    groups={"g1": Group("g1", "=1+2", "t2")},
                    students={"s1": Student("s1", "g1", "=HYPERLINK(\"http://x\")", "@x")},
                    subjects={"m1": Subject("m1", "-Elektro")})
    sink = WorklistSink(tmp_path, Outbox(), TEACHERS, LESSONS, school, now=lambda: NOW)
    sink.write(Mark("L1", "s1", "n", False, ("30",), "x"), "L1:s1", "")
    sink.flush()
    sheet = load_workbook(tmp_path / "worklist_20261130T180000_t1.xlsx").active
    for ref in ("D2", "E2", "F2"):
        assert sheet[ref].data_type == "s" and sheet[ref].quotePrefix
    assert sheet["D2"].value == "=1+2"
    raw = (tmp_path / "worklist_20261130T180000_t1.csv").read_bytes().decode("utf-8-sig")
    assert ";'=1+2;'-Elektro;\"'=HYPERLINK" in raw


def test_files_are_private(tmp_path):
    folder = tmp_path / "wl"
    sink = WorklistSink(folder, Outbox(), TEACHERS, LESSONS, SCHOOL, now=lambda: NOW)
    sink.write(Mark("L1", "s1", "n", False, ("30",), "x"), "L1:s1", "")
    sink.flush()
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o600}


def test_namesakes_told_apart(tmp_path):
    school = School(name="DTTT", teachers=TEACHERS, groups=SCHOOL.groups,
                    students={"s1": Student("s1", "g1", "Jānis", "Bērziņš"),
                              "s9": Student("s9", "g1", "Jānis", "Bērziņš")},
                    subjects=SCHOOL.subjects)
    outbox = Outbox()
    sink = WorklistSink(tmp_path, outbox, TEACHERS, LESSONS, school, now=lambda: NOW)
    for sid in ("s1", "s9"):
        sink.write(Mark("L1", sid, "n", False, ("30",), "x"), f"L1:{sid}", "")
    sink.flush()
    plain = outbox.messages[0].get_body(("plain",)).get_content()
    assert "Jānis Bērziņš (ID s1)" in plain and "Jānis Bērziņš (ID s9)" in plain


def test_mailer_failure_keeps_that_teachers_marks_for_the_next_flush(tmp_path):
    outbox = Outbox(fail_for="ilze.kalnina@school.lv")
    sink = _sink(tmp_path, outbox)
    _fill(sink)
    assert sink.flush() == 1
    assert sink.failed == 1
    assert [_to(m) for m in outbox.messages] == ["peteris.ozols@school.lv"]
    outbox.fail_for = None
    assert sink.flush() == 1
    assert _to(outbox.messages[-1]) == "ilze.kalnina@school.lv"
    assert sink.ledger.worklist_pending() == []


def test_same_key_twice_is_one_row(tmp_path):
    outbox = Outbox()
    sink = _sink(tmp_path, outbox)
    mark = Mark("L1", "s1", "n", False, ("30",), "x")
    sink.write(mark, mark.key, "")
    sink.write(mark, mark.key, "")
    sink.flush()
    sheet = load_workbook(tmp_path / "worklist_20261130T180000_t1.xlsx").active
    assert sheet.max_row == 2
