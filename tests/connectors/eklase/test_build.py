"""The package factories the jobs call: build_source / build_sink."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from connectors import eklase
from connectors.base import WriteStatus
from connectors.errors import ConfigError
from mappings.model import Lesson, LessonMode, Mark, School, Teacher
from tests.connectors.eklase.conftest import answer, lesson_xml, lessons_answer, make_settings

RIGA = ZoneInfo("Europe/Riga")
LESSON = Lesson("L1", "g1", "m1", "t1", dt.date(2026, 11, 30), 2,
                dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA),
                dt.datetime(2026, 11, 30, 9, 45, tzinfo=RIGA), LessonMode.REMOTE_SYNC)
SCHOOL = School("DTTT", teachers={"t1": Teacher("t1", "Ilze Kalniņa", "ilze@school.lv")})


def test_build_source_and_build_alias():
    settings = make_settings()
    assert isinstance(eklase.build_source(settings), eklase.EklaseJournal)
    assert eklase.build is eklase.build_source


def test_build_source_without_endpoint_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        eklase.build_source(make_settings(endpoint=""))
    assert caught.value.setting == "eklase.endpoint"


def test_gateway_sink_reuses_the_journal_client_and_its_lessons(rsps):
    settings = make_settings()
    journal = eklase.build_source(settings)
    sink = eklase.build_sink(settings, journal=journal)
    assert isinstance(sink, eklase.GatewaySink)
    assert sink.client is journal.client
    answer(rsps, "GetRoster", "roster.xml")
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1")))
    journal.lessons(dt.date(2026, 11, 30), dt.date(2026, 11, 30))  # read after the sink exists
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1")))
    answer(rsps, "SetAttendanceMark", "set_mark_created.xml")
    mark = Mark("L1", "s1", "n", False, ("30",), "x")
    assert sink.write(mark, mark.key, "").status is WriteStatus.CREATED


def test_worklist_mode_needs_mailer_and_school():
    with pytest.raises(ConfigError) as caught:
        eklase.build_sink(make_settings(mode="worklist"), lessons={"L1": LESSON})
    assert caught.value.setting == "eklase.mode"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [pytest.param(None, "lv", id="settings-default"), pytest.param("en", "en", id="override")],
)
def test_worklist_sink_from_settings(tmp_path, lang, expected):
    settings = make_settings(mode="worklist", worklist_dir=str(tmp_path))
    lessons = {"L1": LESSON}
    sink = eklase.build_sink(settings, mailer_send=lambda _m: None, school=SCHOOL,
                             lessons=lessons, lang=lang)
    assert isinstance(sink, eklase.WorklistSink)
    assert sink.lang == expected
    assert str(sink.out_dir) == str(tmp_path)


def test_worklist_sink_reads_marks_through_the_gateway(rsps, tmp_path):
    settings = make_settings(mode="worklist", worklist_dir=str(tmp_path))
    sink = eklase.build_sink(settings, mailer_send=lambda _m: None, school=SCHOOL,
                             lessons={"L1": LESSON})
    answer(rsps, "GetLessons", lessons_answer(lesson_xml("L1")))
    mark = Mark("L1", "s1", "n", False, ("30",), "x")
    assert sink.write(mark, mark.key, "").status is WriteStatus.PROPOSED
