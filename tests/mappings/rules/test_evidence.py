"""No wrong "n": incomplete evidence, the held part (p. 30) and every linked meeting (p. 16, 30)."""

from __future__ import annotations

import dataclasses

import pytest

from mappings.evaluate import evaluate_async, evaluate_sync
from mappings.model import (
    ActivityUser,
    AlertKind,
    EvidenceGap,
    LessonMode,
    Outcome,
    Segment,
)
from mappings.policy import DEFAULT_POLICY
from mappings.rules.evidence import INCOMPLETE, held_part, meeting_gap, union
from tests.mappings.factories import (
    ASYNC_TEXT_DUE_17,
    SYSTEM,
    ZOOM_URL,
    activity,
    async_lesson,
    at,
    by_student,
    lesson,
    marks_by_student,
    meeting,
    person,
    record,
    school,
    uzdots,
)

AFTER = at("10:30")  # sync lesson 09:00-09:45 judged from 10:15
ASYNC_AFTER = at("18:30")  # due 17:00, judged from 18:00
TEAMS_URL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0"
TWO_LINKS = (f"Stunda {ZOOM_URL}, rezerves saite https://meet.google.com/abc-defg-hij. "
             "Termiņš: 30.11.2026 17:00. Vērtēšanas kritēriji pielikumā.")


def sync(evidence, *, closing=False, lsn=None):
    return evaluate_sync(lsn or lesson(), school(), evidence, (), DEFAULT_POLICY, AFTER,
                         system_author=SYSTEM, closing=closing)


def asyn(evidence, *, closing=False):
    lsn = async_lesson(entry=uzdots(ASYNC_TEXT_DUE_17))
    return evaluate_async(lsn, school(), evidence, (), DEFAULT_POLICY, ASYNC_AFTER,
                          system_author=SYSTEM, closing=closing)


def gapped(gap: str, **kw):
    return dataclasses.replace(meeting(found=False), gap=gap, **kw)


def all_there():
    return (person("Jānis Bērziņš", ("09:00", "09:45")),
            person("Anna Kalniņa", ("09:00", "09:45")),
            person("Pēteris Ozoliņš", ("09:00", "09:45")))


# --------------------------------------------------------------------------- incomplete sync


@pytest.mark.parametrize("gap", [
    pytest.param(EvidenceGap.MEETING_RUNNING, id="meeting-running"),
    pytest.param(EvidenceGap.REPORT_NOT_READY, id="report-not-ready"),
    pytest.param(EvidenceGap.NO_ACCESS, id="no-access"),
    pytest.param(EvidenceGap.FETCH_FAILED, id="fetch-failed"),
    pytest.param(EvidenceGap.ORGANIZER_UNREADABLE, id="organizer-unreadable"),
])
def test_incomplete_meeting_gives_no_mark_no_alert_and_stays_open(gap):
    result = sync([gapped(gap)])
    assert result.marks == () and result.alerts == () and not result.final
    assert {v.reason for v in result.verdicts} == {INCOMPLETE}
    assert {v.outcome for v in result.verdicts} == {Outcome.NOT_EVALUATED}


def test_incomplete_meeting_at_the_closing_look_tells_the_teacher_why():
    result = sync([gapped(EvidenceGap.REPORT_NOT_READY, gap_detail="zoom 3001")], closing=True)
    assert result.marks == () and result.final
    (alert,) = result.alerts
    assert alert.kind is AlertKind.EVIDENCE_MISSING
    assert alert.detail["cause"] == "report_not_ready"
    assert alert.detail["gap_detail"] == "zoom 3001"
    assert alert.points == ("30",)


def test_one_incomplete_link_of_two_blocks_every_mark():
    """The student missing from the main meeting may be in the backup whose report is not
    ready: no "n" for anyone until both are complete."""
    main = meeting(person("Jānis Bērziņš", ("09:00", "09:45")))
    backup = dataclasses.replace(gapped(EvidenceGap.MEETING_RUNNING), platform="meet",
                                 key="abc-defg-hij")
    result = sync([main, backup], lsn=lesson(entry=uzdots(TWO_LINKS)))
    assert result.marks == () and not result.final


def test_invalid_link_is_definitive_not_a_gap():
    result = sync([gapped(EvidenceGap.INVALID_LINK)])
    assert result.marks == ()
    (alert,) = result.alerts
    assert alert.kind is AlertKind.EVIDENCE_MISSING and alert.detail["cause"] == "invalid_link"


def test_complete_but_closing_judges_normally_and_is_final():
    result = sync([meeting(*all_there()[:2])], closing=True)
    assert set(marks_by_student(result)) == {"s3"} and result.final


# --------------------------------------------------------------------------- every link (16, 30)


def test_presence_is_the_union_over_every_linked_meeting():
    """Point 30: students who moved to the backup meeting were present."""
    main = meeting(person("Jānis Bērziņš", ("09:00", "09:45")),
                   person("Anna Kalniņa", ("09:00", "09:10")))
    backup = dataclasses.replace(
        meeting(person("Anna Kalniņa", ("09:10", "09:45"))), platform="meet", key="abc-defg-hij")
    result = sync([main, backup], lsn=lesson(entry=uzdots(TWO_LINKS)))
    verdicts = by_student(result)
    assert verdicts["s1"].outcome is Outcome.PRESENT
    assert verdicts["s2"].outcome is Outcome.PRESENT
    assert set(marks_by_student(result)) == {"s3"}


def test_a_link_without_data_does_not_hide_the_other():
    backup = dataclasses.replace(meeting(*all_there()), platform="meet", key="abc-defg-hij")
    result = sync([meeting(found=False), backup], lsn=lesson(entry=uzdots(TWO_LINKS)))
    assert result.marks == () and result.alerts == ()


def test_union_joins_chat_and_sessions():
    one = dataclasses.replace(meeting(chat=()), sessions=(Segment(at("09:00"), at("09:20")),))
    two = dataclasses.replace(meeting(), key="2", sessions=(Segment(at("09:25"), at("09:40")),))
    merged = union([one, two])
    assert merged.chat == () and len(merged.sessions) == 2
    assert union([meeting(found=False)]) is None
    assert meeting_gap([one, gapped("warnings")]) == "warnings"


# --------------------------------------------------------------------------- held part (30)


@pytest.mark.parametrize(("sessions", "expected"), [
    pytest.param((), ("09:00", "09:45"), id="no-session-times-whole-lesson"),
    pytest.param((("08:55", "09:20"),), ("09:00", "09:20"), id="ended-early"),
    pytest.param((("09:10", "10:00"),), ("09:10", "09:45"), id="started-late"),
    pytest.param((("09:02", "09:15"), ("09:20", "09:40")), ("09:02", "09:40"), id="restarted"),
    pytest.param((("07:50", "08:40"), ("09:05", "09:50")), ("09:05", "09:45"),
                 id="earlier-session-ignored"),
])
def test_held_part(sessions, expected):
    held = held_part(at("09:00"), at("09:45"), [Segment(at(a), at(b)) for a, b in sessions])
    assert (held.start, held.end) == (at(expected[0]), at(expected[1]))


def test_teacher_ending_early_does_not_make_students_leave_without_reason():
    """Point 30 "nepamatoti atslēdzas": the meeting ended at 09:20, everyone stayed to it."""
    rows = [person(n, ("09:00", "09:20")) for n in ("Jānis Bērziņš", "Anna Kalniņa")]
    rows.append(person("Pēteris Ozoliņš", ("09:00", "09:05")))
    ev = dataclasses.replace(meeting(*rows), sessions=(Segment(at("08:58"), at("09:20")),))
    result = sync([ev])
    verdicts = by_student(result)
    assert verdicts["s1"].outcome is Outcome.PRESENT
    assert verdicts["s2"].outcome is Outcome.PRESENT
    assert verdicts["s1"].detail["held_minutes"] == 20.0
    assert set(marks_by_student(result)) == {"s3"}  # 5 of 20 held minutes


def test_sessions_outside_the_lesson_mean_no_meeting_for_it():
    ev = dataclasses.replace(meeting(*all_there()), sessions=(Segment(at("07:50"), at("08:40")),))
    result = sync([ev])
    assert result.marks == ()
    assert result.alerts[0].kind is AlertKind.EVIDENCE_MISSING


# --------------------------------------------------------------------------- asynchronous (31)


def test_async_warnings_mean_no_mark_for_students_without_activity():
    ev = dataclasses.replace(activity(record(at("12:00"), sid="s1")), gap="warnings")
    result = asyn([ev])
    assert result.marks == () and not result.final
    verdicts = by_student(result)
    assert verdicts["s1"].outcome is Outcome.PRESENT  # a submission seen is a submission
    assert verdicts["s2"].reason == INCOMPLETE


def test_async_student_not_visible_gets_no_mark_others_do():
    visible = (ActivityUser(student_id="s1"), ActivityUser(email="anna.kalnina@audzekni.school.lv"))
    ev = dataclasses.replace(activity(record(at("12:00"), sid="s1")), visible=visible)
    result = asyn([ev])
    assert set(marks_by_student(result)) == {"s2"}
    assert by_student(result)["s3"].reason == INCOMPLETE
    assert not result.final


def test_async_not_visible_at_closing_tells_the_teacher():
    ev = dataclasses.replace(activity(), visible=(ActivityUser(student_id="s1"),))
    result = asyn([ev], closing=True)
    assert set(marks_by_student(result)) == {"s1"}
    (alert,) = result.alerts
    assert alert.kind is AlertKind.EVIDENCE_MISSING
    assert alert.detail == {"cause": "not_visible", "students": 2}
    assert result.final


def test_async_fetch_failed_on_the_only_activity_is_incomplete_not_missing():
    ev = dataclasses.replace(activity(found=False), gap=EvidenceGap.FETCH_FAILED)
    result = asyn([ev])
    assert result.marks == () and result.alerts == () and not result.final


def test_async_complete_evidence_still_marks():
    result = asyn([activity(record(at("12:00"), sid="s1"))])
    assert set(marks_by_student(result)) == {"s2", "s3"} and result.final


def test_sync_lesson_mode_is_untouched_by_async_rules():
    assert lesson().mode is LessonMode.REMOTE_SYNC
