"""EklaseJournal: mapping to the domain model, lessonType table, chunking, bad records."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from connectors.base import JournalSource
from connectors.eklase.source import EklaseJournal, date_chunks, school_year
from connectors.errors import ContractError
from mappings.model import (
    Agreement,
    JournalMark,
    LessonMode,
    NoticeKind,
    SubjectKind,
    Topic,
    UzdotsEntry,
)
from tests.connectors.eklase.conftest import (
    answer,
    envelope,
    lesson_xml,
    lessons_answer,
    make_settings,
    payload,
    texts,
)

RIGA = ZoneInfo("Europe/Riga")
D = dt.date


def _journal(client, **overrides) -> EklaseJournal:
    return EklaseJournal(client, make_settings(**overrides) if overrides else client.settings)


def _lessons_window(rsps, journal, fixture, day=D(2026, 11, 30)):
    answer(rsps, "GetRoster", "roster.xml")
    answer(rsps, "GetLessons", fixture)
    return journal.lessons(day, day)


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("day", "year"),
    [
        pytest.param(D(2026, 9, 1), "2026/2027", id="first-day"),
        pytest.param(D(2026, 11, 30), "2026/2027", id="autumn"),
        pytest.param(D(2027, 8, 31), "2026/2027", id="last-day"),
        pytest.param(D(2026, 8, 31), "2025/2026", id="day-before"),
        pytest.param(D(2027, 1, 1), "2026/2027", id="new-year"),
    ],
)
def test_school_year(day, year):
    assert school_year(day) == year


@pytest.mark.parametrize(
    ("start", "end", "days", "chunks"),
    [
        pytest.param(D(2026, 11, 30), D(2026, 11, 30), 7, [(D(2026, 11, 30), D(2026, 11, 30))],
                     id="one-day"),
        pytest.param(D(2026, 11, 1), D(2026, 11, 7), 7, [(D(2026, 11, 1), D(2026, 11, 7))],
                     id="exactly-one-chunk"),
        pytest.param(D(2026, 11, 1), D(2026, 11, 20), 7,
                     [(D(2026, 11, 1), D(2026, 11, 7)), (D(2026, 11, 8), D(2026, 11, 14)),
                      (D(2026, 11, 15), D(2026, 11, 20))], id="three-chunks"),
        pytest.param(D(2026, 12, 30), D(2027, 1, 2), 2,
                     [(D(2026, 12, 30), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 1, 2))],
                     id="across-new-year"),
        pytest.param(D(2026, 11, 2), D(2026, 11, 1), 7, [], id="empty-window"),
    ],
)
def test_date_chunks(start, end, days, chunks):
    assert list(date_chunks(start, end, days)) == chunks


# --------------------------------------------------------------------------- school


def test_journal_implements_the_protocol(client):
    assert isinstance(EklaseJournal(client, client.settings), JournalSource)


def test_school_maps_teachers_groups_students_subjects(client, rsps):
    for op, fixture in [("GetServiceInfo", "service_info.xml"), ("GetTeachers", "teachers.xml"),
                        ("GetRoster", "roster.xml"), ("GetSubjects", "subjects.xml")]:
        answer(rsps, op, fixture)
    school = EklaseJournal(client, client.settings).school(D(2026, 11, 30))
    assert school.name == "Daugavpils Tehnoloģiju un tūrisma tehnikums"
    assert school.teachers["t1"].email == "ilze.kalnina@school.lv"
    assert school.groups["g1"].class_teacher_id == "t2"
    assert school.groups["g2"].class_teacher_id is None
    assert [s.id for s in school.roster("g1")] == ["s1", "s2"]
    s1, s2 = school.students["s1"], school.students["s2"]
    assert (s1.first_name, s1.last_name, s1.email, s1.offline_mode) == (
        "Jānis", "Bērziņš", "janis.berzins@audzekni.school.lv", False)
    assert (s2.email, s2.offline_mode) == ("", True)
    assert school.students["s3"].group_id == "g2"
    assert school.subjects["p1"].kind is SubjectKind.QUALIFICATION_PRACTICE
    assert dict(school.subjects["m1"].planned_hours) == {"g1": 120, "g2": 80}
    assert dict(school.subjects["c1"].planned_hours) == {}
    assert texts(payload(rsps.calls[3]), "schoolYear") == ["2026/2027"]


def test_school_skips_and_reports_bad_rows(client, rsps, caplog):
    answer(rsps, "GetServiceInfo", "service_info.xml")
    answer(rsps, "GetTeachers", envelope(
        "<j:GetTeachersResponse><j:teacher><j:id>t1</j:id><j:name>Ilze Kalniņa</j:name>"
        "<j:email>ilze@school.lv</j:email></j:teacher><j:teacher><j:id>t2</j:id>"
        "<j:email>p@school.lv</j:email></j:teacher></j:GetTeachersResponse>"))
    answer(rsps, "GetRoster", envelope(
        "<j:GetRosterResponse><j:group><j:id>g1</j:id><j:name>ET-22</j:name>"
        "<j:student><j:id>s1</j:id><j:firstName>Jānis</j:firstName><j:lastName>Bērziņš"
        "</j:lastName><j:offlineMode>false</j:offlineMode></j:student>"
        "<j:student><j:id>s2</j:id><j:lastName>Ozola</j:lastName>"
        "<j:offlineMode>false</j:offlineMode></j:student></j:group>"
        "<j:group><j:id>g2</j:id><j:name>TU-23</j:name>"
        "<j:student><j:id>s1</j:id><j:firstName>Jānis</j:firstName><j:lastName>Bērziņš"
        "</j:lastName><j:offlineMode>false</j:offlineMode></j:student></j:group>"
        "</j:GetRosterResponse>"))
    answer(rsps, "GetSubjects", envelope(
        "<j:GetSubjectsResponse><j:subject><j:id>m1</j:id><j:name>Elektrotehnika</j:name>"
        "<j:kind>lecture</j:kind></j:subject><j:subject><j:id>m2</j:id><j:name>Fizika"
        "</j:name><j:kind>subject</j:kind></j:subject></j:GetSubjectsResponse>"))
    journal = EklaseJournal(client, client.settings)
    with caplog.at_level(logging.WARNING, "kartiba.eklase"):
        school = journal.school(D(2026, 11, 30))
    assert sorted(school.teachers) == ["t1"]
    assert sorted(school.students) == ["s1"]
    assert school.students["s1"].group_id == "g1"
    assert sorted(school.subjects) == ["m2"]
    assert sorted(p.record for p in journal.problems) == [
        "student:s1", "student:s2", "subject:m1", "teacher:t2"]
    assert all(p.system == "eklase" for p in journal.problems)
    logged = caplog.text
    assert "Jānis" not in logged and "Ozola" not in logged and "p@school.lv" not in logged


# --------------------------------------------------------------------------- lessons


def test_lessons_map_every_field(client, rsps):
    journal = EklaseJournal(client, client.settings)
    answer(rsps, "GetRoster", "roster.xml")
    answer(rsps, "GetLessons", "lessons.xml")
    first, second = journal.lessons(D(2026, 11, 30), D(2026, 12, 1))
    assert (first.id, first.group_id, first.subject_id, first.teacher_id, first.date,
            first.number) == ("L1", "g1", "m1", "t1", D(2026, 11, 30), 2)
    assert first.start == dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA)
    assert first.end == dt.datetime(2026, 11, 30, 9, 45, tzinfo=RIGA)
    assert first.start.tzinfo == RIGA
    assert first.mode is LessonMode.REMOTE_SYNC
    assert first.lesson_type == "Attālināti tiešsaistē"
    assert first.topic == Topic("Oma likums", dt.datetime(2026, 11, 30, 10, 0, tzinfo=RIGA))
    assert first.uzdots == UzdotsEntry(
        text="Tiešsaistes stunda https://zoom.us/j/81234567890 Termiņš: 30.11.2026 17:00.",
        created_at=dt.datetime(2026, 11, 27, 15, 10, tzinfo=RIGA),
        modified_at=dt.datetime(2026, 11, 27, 15, 20, tzinfo=RIGA),
        attachments=("kriteriji.pdf", "uzdevums.docx"), author_id="t1")
    assert first.marks == (
        JournalMark("s2", "n", "t1", dt.datetime(2026, 11, 30, 9, 50, tzinfo=RIGA), None),
        JournalMark("s1", "n", "kartiba", dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA), True),
    )
    assert (second.id, second.mode, second.uzdots, second.topic, second.marks) == (
        "L2", LessonMode.IN_PERSON, None, None, ())
    assert set(journal.seen_lessons) == {"L1", "L2"}


@pytest.mark.parametrize(
    ("label", "table", "mode"),
    [
        pytest.param("Klātienē", None, LessonMode.IN_PERSON, id="klatiene"),
        pytest.param("Attālināti tiešsaistē", None, LessonMode.REMOTE_SYNC, id="tiessaiste"),
        pytest.param("Attālināti patstāvīgi", None, LessonMode.REMOTE_ASYNC, id="patstavigi"),
        pytest.param("Attālināti", None, LessonMode.REMOTE_SYNC, id="attalinati"),
        pytest.param("  attālināti   PATSTĀVĪGI ", None, LessonMode.REMOTE_ASYNC,
                     id="case-and-spaces"),
        pytest.param("Hibrīdā", {"Hibrīdā": "remote_sync"}, LessonMode.REMOTE_SYNC,
                     id="configured-label"),
    ],
)
def test_lesson_type_table(client, rsps, label, table, mode):
    overrides = {"lesson_types": table} if table else {}
    journal = _journal(client, **overrides)
    (lesson,) = _lessons_window(rsps, journal, lessons_answer(lesson_xml("L7", label=label)))
    assert lesson.mode is mode
    assert lesson.lesson_type == label


def test_unknown_lesson_type_is_a_contract_error_never_in_person(client, rsps, caplog):
    """An unknown label is reported with the lesson id and the label; the lesson is not
    judged (not returned), and the error counts as work left undone."""
    journal = EklaseJournal(client, client.settings)
    with caplog.at_level(logging.WARNING, "kartiba.eklase"):
        lessons = _lessons_window(rsps, journal, "lessons_mixed_quality.xml")
    assert "L13" not in {x.id for x in lessons}
    (problem,) = [p for p in journal.problems if p.record == "lesson:L13"]
    assert isinstance(problem, ContractError)
    assert "lessonType" in problem.message and "eklase.lesson_types" in problem.message
    assert any("L13" in r.getMessage() for r in caplog.records)


def test_a_configured_table_replaces_the_defaults(client, rsps):
    journal = _journal(client, lesson_types={"Klātienē": "in_person"})
    assert _lessons_window(rsps, journal, lessons_answer(lesson_xml("L7", label="Attālināti"))
                           ) == []
    assert [p.record for p in journal.problems] == ["lesson:L7"]


def test_lesson_time_without_offset_is_a_contract_error(client, rsps):
    """Defect 4: the XSD forbids such times; the lesson is reported as the gateway's error."""
    journal = EklaseJournal(client, client.settings)
    naive = lesson_xml("L30").replace("09:00:00+02:00", "09:00:00")
    lessons = _lessons_window(rsps, journal, lessons_answer(naive, lesson_xml("L31")))
    assert [x.id for x in lessons] == ["L31"]
    (problem,) = journal.problems
    assert isinstance(problem, ContractError)
    assert (problem.system, problem.record) == ("eklase", "lesson:L30")
    assert "start" in problem.message


def test_uzdots_links_join_the_text_when_not_shown_there(client, rsps):
    journal = EklaseJournal(client, client.settings)
    uzdots = ("<j:uzdots><j:text>Tiešsaistes stunda (saite)</j:text>"
              "<j:createdAt>2026-11-27T15:10:00+02:00</j:createdAt>"
              "<j:link>https://zoom.us/j/81234567890</j:link>"
              "<j:link>https://zoom.us/j/81234567890</j:link></j:uzdots>")
    xml = lesson_xml("L40").replace("</j:lessonType>", "</j:lessonType>" + uzdots)
    (lesson,) = _lessons_window(rsps, journal, lessons_answer(xml))
    assert lesson.uzdots.text == "Tiešsaistes stunda (saite)\nhttps://zoom.us/j/81234567890"


@pytest.mark.parametrize(
    ("fixture", "kept", "skipped"),
    [
        pytest.param("lessons_mixed_quality.xml", ["L10"],
                     ["lesson:L11", "lesson:L12", "lesson:L13"],
                     id="end-not-after-start-unknown-group-unknown-label"),
        pytest.param("lessons_contract_violation.xml", [], ["lesson:L20", "lesson:L21"],
                     id="missing-teacher-and-mark-author"),
    ],
)
def test_malformed_lessons_are_reported_and_skipped(client, rsps, fixture, kept, skipped):
    journal = EklaseJournal(client, client.settings)
    lessons = _lessons_window(rsps, journal, fixture)
    assert [x.id for x in lessons] == kept
    assert [p.record for p in journal.problems] == skipped
    assert all(p.system == "eklase" for p in journal.problems)


def test_problem_messages_say_what_is_wrong(client, rsps):
    journal = EklaseJournal(client, client.settings)
    _lessons_window(rsps, journal, "lessons_mixed_quality.xml")
    messages = {p.record: p.message for p in journal.problems}
    assert "not after its start" in messages["lesson:L11"]
    assert "unknown group g9" in messages["lesson:L12"]


def test_long_windows_are_read_in_chunks(client, rsps):
    journal = _journal(client, chunk_days=7)
    answer(rsps, "GetRoster", "roster.xml")
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("A", day="2026-11-02"),
                                              lesson_xml("B", day="2026-11-06")))
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("C", day="2026-11-09"),
                                              lesson_xml("B", day="2026-11-06")))
    answer(rsps, "GetLessons", lessons_answer())
    lessons = journal.lessons(D(2026, 11, 1), D(2026, 11, 20))
    windows = [(texts(payload(c), "dateFrom")[0], texts(payload(c), "dateTo")[0])
               for c in rsps.calls if payload(c).tag.endswith("GetLessons")]
    assert windows == [("2026-11-01", "2026-11-07"), ("2026-11-08", "2026-11-14"),
                       ("2026-11-15", "2026-11-20")]
    assert [x.id for x in lessons] == ["A", "B", "C"]


def test_roster_is_read_once_per_journal(client, rsps):
    journal = EklaseJournal(client, client.settings)
    answer(rsps, "GetRoster", "roster.xml")
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("A")))
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("B")))
    journal.lessons(D(2026, 11, 30), D(2026, 11, 30))
    journal.lessons(D(2026, 11, 30), D(2026, 11, 30))
    ops = [etree_name(payload(c)) for c in rsps.calls]
    assert ops == ["GetRoster", "GetLessons", "GetLessons"]


def etree_name(element) -> str:
    return element.tag.rpartition("}")[2]


# --------------------------------------------------------------------------- notices, health


def test_notices_map_and_deduplicate_across_chunks(client, rsps):
    journal = _journal(client, chunk_days=1)
    answer(rsps, "GetNotices", "notices.xml")
    answer(rsps, "GetNotices", "notices.xml")
    notices = journal.notices(D(2026, 11, 30), D(2026, 12, 1))
    assert [n.id for n in notices] == ["N1", "N2"]
    first, second = notices
    assert (first.student_id, first.kind, first.date_from, first.date_to, first.agreement,
            first.new_due) == ("s1", NoticeKind.ILLNESS, D(2026, 11, 30), D(2026, 12, 1),
                               None, None)
    assert first.received_at == dt.datetime(2026, 11, 30, 7, 40, tzinfo=RIGA)
    assert second.agreement is Agreement.EXTENDED_DEADLINE
    assert second.new_due == dt.datetime(2026, 12, 2, 17, 0, tzinfo=RIGA)


def test_notice_with_reversed_dates_is_skipped(client, rsps):
    journal = EklaseJournal(client, client.settings)
    answer(rsps, "GetNotices", envelope(
        "<j:GetNoticesResponse><j:notice><j:id>N9</j:id><j:studentId>s1</j:studentId>"
        "<j:kind>illness</j:kind><j:dateFrom>2026-12-02</j:dateFrom><j:dateTo>2026-11-30"
        "</j:dateTo><j:receivedAt>2026-11-30T07:40:00+02:00</j:receivedAt></j:notice>"
        "</j:GetNoticesResponse>"))
    assert journal.notices(D(2026, 11, 30), D(2026, 11, 30)) == []
    assert [p.record for p in journal.problems] == ["notice:N9"]


def test_health_reports_the_gateway_version(client, rsps):
    answer(rsps, "GetServiceInfo", "service_info.xml")
    assert EklaseJournal(client, client.settings).health().startswith(
        "ok: journal gateway 1.2.0")
