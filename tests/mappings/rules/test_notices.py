"""Absence notices and technical problems: kārtība points 20, 28, 39, 41, 42, 43."""

from __future__ import annotations

import pytest

from mappings.evaluate import evaluate_async, evaluate_sync
from mappings.model import Agreement, NoticeKind, Outcome
from mappings.policy import DEFAULT_POLICY
from mappings.rules.notices import covering, extended_due, known_notices
from tests.mappings.factories import (
    STUDENTS,
    SYSTEM,
    activity,
    async_lesson,
    at,
    by_student,
    lesson,
    marks_by_student,
    meeting,
    notice,
    person,
    record,
    school,
)

ILL, OTHER, TECH = NoticeKind.ILLNESS, NoticeKind.OTHER, NoticeKind.TECH_PROBLEM
EXCUSED, UNEXCUSED = Outcome.ABSENT_EXCUSED, Outcome.ABSENT_UNEXCUSED


def sync_result(notices, now=at("11:00"), s1_rows=()):
    """L1 09:00–09:45 (evaluated from 10:15); s2, s3 on time; s1 absent unless ``s1_rows``."""
    others = [person(s.full_name, ("09:00", "09:45"), email=s.email) for s in STUDENTS[1:3]]
    evidence = meeting(*others, *s1_rows)
    return evaluate_sync(lesson(), school(), evidence, notices, DEFAULT_POLICY, now,
                         system_author=SYSTEM)


SYNC = [
    pytest.param([], UNEXCUSED, "not_connected", ("30",), ("n", False), id="p30-no-notice"),
    pytest.param([notice("s1", ILL, at("07:40"))], EXCUSED, "notice_before_start",
                 ("20", "28", "30"), ("n", True), id="p20-p28-illness-morning-before"),
    pytest.param([notice("s1", ILL, at("21:00", "2026-11-29"))], EXCUSED, "notice_before_start",
                 ("20", "28", "30"), ("n", True), id="p28-illness-evening-before"),
    pytest.param([notice("s1", OTHER, at("08:59"))], EXCUSED, "notice_before_start",
                 ("20", "28", "30"), ("n", True), id="p20-other-reason-before-start"),
    pytest.param([notice("s1", ILL, at("09:00"))], UNEXCUSED, "notice_after_start",
                 ("20", "30"), ("n", False), id="p20-notice-at-start-is-not-before"),
    pytest.param([notice("s1", ILL, at("09:20"))], UNEXCUSED, "notice_after_start",
                 ("20", "30"), ("n", False), id="p20-illness-after-start"),
    pytest.param([notice("s1", ILL, at("07:40"), "2026-12-01")], UNEXCUSED, "not_connected",
                 ("30",), ("n", False), id="p20-notice-for-another-day-ignored"),
    pytest.param([notice("s1", ILL, at("07:40", "2026-11-27"), "2026-11-27", "2026-12-02")],
                 EXCUSED, "notice_before_start", ("20", "28", "30"), ("n", True),
                 id="p28-notice-range-covers-lesson"),
    pytest.param([notice("s2", ILL, at("07:40"))], UNEXCUSED, "not_connected", ("30",),
                 ("n", False), id="p20-notice-of-another-student-ignored"),
    pytest.param([notice("s1", TECH, at("09:20"))], EXCUSED, "tech_problem_contacted",
                 ("41",), None, id="p41-tech-problem-teacher-contacted"),
    pytest.param([notice("s1", TECH, at("09:20"), agreement=Agreement.CATCH_UP)], EXCUSED,
                 "tech_problem_contacted", ("41",), None, id="p41-tech-problem-catch-up-agreed"),
    pytest.param([notice("s1", TECH, at("10:15"))], EXCUSED, "tech_problem_contacted",
                 ("41",), None, id="p41-contact-exactly-at-evaluation-time"),
    pytest.param([notice("s1", TECH, at("10:16"))], UNEXCUSED, "tech_problem_late",
                 ("30", "39", "43"), ("n", False), id="p39-p43-tech-problem-not-contacted"),
    pytest.param([notice("s1", ILL, at("12:00"))], UNEXCUSED, "not_connected", ("30",),
                 ("n", False), id="p20-notice-received-after-now-unknown"),
    pytest.param([notice("s1", TECH, at("09:20"), nid="N1"),
                  notice("s1", ILL, at("09:30"), nid="N2")], EXCUSED, "tech_problem_contacted",
                 ("41",), None, id="p41-tech-contact-beats-late-illness-notice"),
    pytest.param([notice("s1", ILL, at("07:40"), nid="N1"),
                  notice("s1", TECH, at("10:30"), nid="N2")], EXCUSED, "notice_before_start",
                 ("20", "28", "30"), ("n", True), id="p20-timely-notice-beats-late-tech"),
    pytest.param([notice("s1", TECH, at("10:16"), agreement=Agreement.CATCH_UP)], UNEXCUSED,
                 "tech_problem_late", ("30", "39", "43"), ("n", False),
                 id="p41-sync-catch-up-after-evaluation-is-not-at-once"),
    pytest.param([notice("s1", TECH, at("09:20"), agreement=Agreement.EXTENDED_DEADLINE,
                         new_due=at("17:00", "2026-12-01"))], EXCUSED, "tech_problem_contacted",
                 ("41",), None, id="p41-extension-on-a-sync-lesson-is-contact"),
]


@pytest.mark.parametrize(("notices", "outcome", "reason", "points", "mark"), SYNC)
def test_sync_notices(notices, outcome, reason, points, mark):
    result = sync_result(notices)
    verdict = by_student(result)["s1"]
    assert (verdict.outcome, verdict.reason, verdict.points) == (outcome, reason, points)
    got = marks_by_student(result).get("s1")
    assert (None if got is None else (got.code, got.excused, got.points)) == (
        None if mark is None else (*mark, points))
    assert result.final


def test_p20_notice_detail_keeps_presence_numbers_and_notice_id():
    verdict = by_student(sync_result([notice("s1", ILL, at("07:40"), nid="N9")]))["s1"]
    assert verdict.detail["base_reason"] == "not_connected"
    assert verdict.detail["notice_id"] == "N9"
    assert verdict.detail["notice_received_at"] == "2026-11-30T07:40:00+02:00"
    assert verdict.detail["connected_minutes"] == 0


def test_p20_present_student_is_never_re_decided_by_a_notice():
    result = sync_result([notice("s1", ILL, at("07:40"))],
                         s1_rows=[person("Jānis Bērziņš", ("09:00", "09:45"))])
    assert by_student(result)["s1"].outcome is Outcome.PRESENT
    assert not result.marks


# --------------------------------------------------------------------------- asynchronous

EXTENSION = dict(agreement=Agreement.EXTENDED_DEADLINE, new_due=at("17:00", "2026-12-02"))


def async_result(notices, now=at("10:00", "2026-12-01"), s1_records=()):
    """Async L1 due 23:59 (evaluated from 00:59 next day); s2, s3 worked; s1 per records."""
    evidence = [activity(record(at("15:00"), "s2"), record(at("16:00"), "s3"), *s1_records)]
    return evaluate_async(async_lesson(), school(), evidence, notices, DEFAULT_POLICY, now,
                          system_author=SYSTEM)


ASYNC = [
    pytest.param([], {}, UNEXCUSED, "no_activity", ("31",), ("n", False), id="p31-no-notice"),
    pytest.param([notice("s1", ILL, at("07:40"))], {}, EXCUSED, "notice_before_start",
                 ("20", "28", "31"), ("n", True), id="p20-p28-async-illness-before-start"),
    pytest.param([notice("s1", ILL, at("10:00"))], {}, UNEXCUSED, "notice_after_start",
                 ("20", "31"), ("n", False), id="p20-async-illness-after-start"),
    pytest.param([notice("s1", TECH, at("23:00"))], {}, EXCUSED, "tech_problem_contacted",
                 ("42",), None, id="p42-tech-problem-contacted-before-evaluation"),
    pytest.param([notice("s1", TECH, at("01:30", "2026-12-01"))], {}, UNEXCUSED,
                 "tech_problem_late", ("31", "39", "43"), ("n", False),
                 id="p39-p43-async-tech-problem-too-late"),
    pytest.param([notice("s1", TECH, at("12:00"), **EXTENSION)],
                 {"now": at("10:00", "2026-12-03"),
                  "s1_records": [record(at("10:00", "2026-12-02"), "s1")]},
                 Outcome.PRESENT, "activity", ("31",), None, id="p42-extended-deadline-met"),
    pytest.param([notice("s1", TECH, at("12:00"), **EXTENSION)],
                 {"now": at("10:00", "2026-12-03"),
                  "s1_records": [record(at("12:00", "2026-12-01"), "s1")]},
                 Outcome.PRESENT, "activity", ("31",), None,
                 id="p42-after-original-due-within-extension"),
    pytest.param([notice("s1", TECH, at("12:00"), **EXTENSION)],
                 {"now": at("10:00", "2026-12-03")},
                 UNEXCUSED, "extended_due_missed", ("31", "42"), ("n", False),
                 id="p42-extended-deadline-missed"),
    pytest.param([notice("s1", TECH, at("12:00"), **EXTENSION)],
                 {"now": at("10:00", "2026-12-03"),
                  "s1_records": [record(at("17:01", "2026-12-02"), "s1")]},
                 UNEXCUSED, "extended_due_missed", ("31", "42"), ("n", False),
                 id="p42-record-after-extended-deadline-does-not-count"),
    pytest.param([notice("s1", TECH, at("01:30", "2026-12-01"), agreement=Agreement.CATCH_UP)],
                 {}, EXCUSED, "tech_problem_agreed", ("42",), None,
                 id="p42-catch-up-known-when-judged-equals-an-extension"),
    pytest.param([notice("s1", TECH, at("01:30", "2026-12-01"),
                         agreement=Agreement.EXTENDED_DEADLINE)],
                 {}, EXCUSED, "tech_problem_agreed", ("42",), None,
                 id="p42-extension-without-new-due-is-an-agreed-solution"),
    pytest.param([notice("s1", TECH, at("11:00", "2026-12-01"), agreement=Agreement.CATCH_UP)],
                 {}, UNEXCUSED, "no_activity", ("31",), ("n", False),
                 id="p42-catch-up-not-yet-known-at-the-judging-run"),
]


@pytest.mark.parametrize(("notices", "kw", "outcome", "reason", "points", "mark"), ASYNC)
def test_async_notices(notices, kw, outcome, reason, points, mark):
    result = async_result(notices, **kw)
    verdict = by_student(result)["s1"]
    assert (verdict.outcome, verdict.reason, verdict.points) == (outcome, reason, points)
    got = marks_by_student(result).get("s1")
    assert (None if got is None else (got.code, got.excused)) == mark
    assert result.final


def test_p42_extension_pending_keeps_the_lesson_open():
    result = async_result([notice("s1", TECH, at("12:00"), **EXTENSION)])
    verdicts = by_student(result)
    assert verdicts["s1"].outcome is Outcome.NOT_YET_DUE
    assert verdicts["s1"].detail["evaluate_at"] == "2026-12-02T18:00:00+02:00"
    assert verdicts["s2"].outcome is Outcome.PRESENT
    assert not result.final


@pytest.mark.parametrize(
    ("notices", "expected"),
    [
        pytest.param([], None, id="p42-no-extension"),
        pytest.param([notice("s1", TECH, at("12:00"), agreement=Agreement.EXTENDED_DEADLINE)],
                     None, id="p42-extension-without-new-due-ignored"),
        pytest.param([notice("s1", TECH, at("12:00"), **EXTENSION, nid="a"),
                      notice("s1", TECH, at("13:00"), agreement=Agreement.EXTENDED_DEADLINE,
                             new_due=at("12:00", "2026-12-04"), nid="b")],
                     at("12:00", "2026-12-04"), id="p42-latest-extension-wins"),
        pytest.param([notice("s2", TECH, at("12:00"), **EXTENSION)], None,
                     id="p42-other-students-extension"),
        pytest.param([notice("s1", ILL, at("12:00"), **EXTENSION)], None,
                     id="p42-only-tech-problems-extend"),
    ],
)
def test_p42_extended_due(notices, expected):
    assert extended_due(notices, "s1", at("09:00").date()) == expected


def test_known_and_covering_notices():
    early = notice("s1", ILL, at("07:00"), nid="early")
    later = notice("s1", ILL, at("08:00"), nid="later")
    future = notice("s1", ILL, at("12:00"), nid="future")
    assert known_notices([future, later, early], at("11:00")) == (later, early)
    assert covering([later, early], "s1", at("07:00").date()) == (early, later)
