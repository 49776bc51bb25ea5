"""GatewaySink: read back before every write; a person's mark is never written over."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from connectors.base import JournalSink, WriteResult, WriteStatus
from connectors.eklase.sink import GatewaySink
from connectors.errors import NotFoundError, ProtocolError
from mappings.model import Lesson, LessonMode, Mark
from tests.connectors.eklase.conftest import (
    answer,
    envelope,
    lesson_xml,
    lessons_answer,
    mark_xml,
    payload,
    texts,
)

RIGA = ZoneInfo("Europe/Riga")
LESSON = Lesson(id="L1", group_id="g1", subject_id="m1", teacher_id="t1",
                date=dt.date(2026, 11, 30), number=2,
                start=dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA),
                end=dt.datetime(2026, 11, 30, 9, 45, tzinfo=RIGA), mode=LessonMode.REMOTE_SYNC)
MARK = Mark("L1", "s1", "n", False, ("30", "43"), "not_connected")


def _sink(client) -> GatewaySink:
    return GatewaySink(client, "kartiba", lessons={"L1": LESSON})


def _operations(rsps) -> list[str]:
    return [payload(c).tag.rpartition("}")[2] for c in rsps.calls]


def test_sink_implements_the_protocol(client):
    assert isinstance(_sink(client), JournalSink)


@pytest.mark.parametrize(
    ("marks", "result"),
    [
        pytest.param(mark_xml("s1", "t1"), WriteResult(WriteStatus.REFUSED, "manual_mark"),
                     id="teacher-absence-mark"),
        pytest.param(mark_xml("s1", "t2", code="8"),
                     WriteResult(WriteStatus.REFUSED, "manual_mark"), id="a-grade-by-anyone"),
        pytest.param(mark_xml("s1", "kartiba") + mark_xml("s1", "t1"),
                     WriteResult(WriteStatus.REFUSED, "manual_mark"),
                     id="ours-and-a-persons"),
        pytest.param(mark_xml("s1", "kartiba"), WriteResult(WriteStatus.ALREADY_PRESENT),
                     id="ours-already-there"),
    ],
)
def test_existing_mark_means_no_set_attendance_mark_call(client, rsps, marks, result):
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1", marks=marks)))
    assert _sink(client).write(MARK, MARK.key, "kārtības 30., 43. p.") == result
    assert _operations(rsps) == ["GetLessons"]


@pytest.mark.parametrize(
    ("fixture", "result"),
    [
        pytest.param("set_mark_created.xml", WriteResult(WriteStatus.CREATED), id="created"),
        pytest.param("set_mark_already-present.xml", WriteResult(WriteStatus.ALREADY_PRESENT),
                     id="already-present"),
        pytest.param("set_mark_refused.xml", WriteResult(WriteStatus.REFUSED, "manual_mark"),
                     id="refused"),
    ],
)
def test_no_mark_for_the_student_means_one_write(client, rsps, fixture, result):
    other = mark_xml("s2", "t1")  # another student's mark does not matter
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1", marks=other)))
    answer(rsps, "SetAttendanceMark", fixture)
    assert _sink(client).write(MARK, "key-1", "kārtības 30., 43. p.") == result
    assert _operations(rsps) == ["GetLessons", "SetAttendanceMark"]
    read, write = (payload(c) for c in rsps.calls)
    assert (texts(read, "dateFrom"), texts(read, "dateTo"), texts(read, "groupId")) == (
        ["2026-11-30"], ["2026-11-30"], [])  # the whole day: every group at once
    assert texts(write, "idempotencyKey") == ["key-1"]
    assert texts(write, "point") == ["30", "43"]
    assert texts(write, "excused") == ["false"]


def test_write_reads_back_afresh_but_lesson_marks_is_cached(client, rsps):
    sink = _sink(client)
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1")))
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1", marks=mark_xml("s1", "t1"))))
    assert sink.lesson_marks("L1") == []
    assert sink.lesson_marks("L1") == []  # cached: one call so far
    assert sink.write(MARK, MARK.key, "") == WriteResult(WriteStatus.REFUSED, "manual_mark")
    assert _operations(rsps) == ["GetLessons", "GetLessons"]


def test_written_mark_joins_the_read_back(client, rsps):
    sink = _sink(client)
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1")))
    answer(rsps, "SetAttendanceMark", "set_mark_created.xml")
    assert sink.write(MARK, MARK.key, "").status is WriteStatus.CREATED
    assert [m.author_id for m in sink.lesson_marks("L1")] == ["kartiba"]
    assert _operations(rsps) == ["GetLessons", "SetAttendanceMark"]


def test_one_read_back_per_lesson_day_and_group_not_per_mark(client, rsps):
    """Several marks of one lesson: one fresh GetLessons, then one SetAttendanceMark each."""
    sink = _sink(client)
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1")))
    answer(rsps, "SetAttendanceMark", "set_mark_created.xml")
    answer(rsps, "SetAttendanceMark", "set_mark_created.xml")
    other = Mark("L1", "s2", "n", False, ("30",), "not_connected")
    assert sink.write(MARK, MARK.key, "").status is WriteStatus.CREATED
    assert sink.write(other, other.key, "").status is WriteStatus.CREATED
    assert sink.write(MARK, MARK.key, "").status is WriteStatus.ALREADY_PRESENT
    assert _operations(rsps) == ["GetLessons", "SetAttendanceMark", "SetAttendanceMark"]


def test_unreadable_mark_is_treated_as_a_persons(client, rsps, caplog):
    broken = ("<j:mark><j:studentId>s1</j:studentId><j:code>n</j:code>"
              "<j:enteredAt>2026-11-30T09:50:00+02:00</j:enteredAt></j:mark>")
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1", marks=broken)))
    with caplog.at_level(logging.WARNING, "kartiba.eklase"):
        result = _sink(client).write(MARK, MARK.key, "")
    assert result == WriteResult(WriteStatus.REFUSED, "manual_mark")
    assert "lesson L1" in caplog.text


def test_unknown_lesson_is_not_found_without_any_call(client, rsps):
    with pytest.raises(NotFoundError, match="L9"):
        _sink(client).write(Mark("L9", "s1", "n", False, ("30",), "x"), "k", "")
    assert len(rsps.calls) == 0


def test_lesson_gone_from_the_journal_is_not_found(client, rsps):
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L2")))
    with pytest.raises(NotFoundError, match="no longer"):
        _sink(client).write(MARK, MARK.key, "")
    assert _operations(rsps) == ["GetLessons"]


def test_remembered_lessons_can_be_written(client, rsps):
    sink = GatewaySink(client, "kartiba")
    sink.remember([LESSON])
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1")))
    answer(rsps, "SetAttendanceMark", "set_mark_created.xml")
    assert sink.write(MARK, MARK.key, "").status is WriteStatus.CREATED


def test_lessons_mapping_is_read_live(client, rsps):
    lessons: dict[str, Lesson] = {}
    sink = GatewaySink(client, "kartiba", lessons=lessons)
    lessons["L1"] = LESSON  # read by the journal after the sink was built
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1")))
    assert sink.lesson_marks("L1") == []


def test_answer_outside_the_contract_is_a_protocol_error(client, rsps):
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1")))
    answer(rsps, "SetAttendanceMark", envelope(
        "<j:SetAttendanceMarkResponse><j:status>maybe</j:status></j:SetAttendanceMarkResponse>"))
    with pytest.raises(ProtocolError):
        _sink(client).write(MARK, MARK.key, "")


def test_flush_sends_nothing(client):
    assert _sink(client).flush() == 0
