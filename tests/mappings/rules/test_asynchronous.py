"""Asynchronous lessons: kārtība points 31, 35, 42 (through ``evaluate_async``)."""

from __future__ import annotations

import pytest

from mappings.evaluate import evaluate_async, lesson_info
from mappings.model import Agreement, AlertKind, NoticeKind, Outcome
from mappings.policy import DEFAULT_POLICY
from mappings.rules.asynchronous import lesson_due, student_due
from tests.mappings.factories import (
    ASYNC_TEXT_DUE_17,
    SYSTEM,
    activity,
    async_lesson,
    at,
    by_student,
    marks_by_student,
    notice,
    record,
    school,
    student,
    uzdots,
)

AFTER = at("10:00", "2026-12-01")  # after the default due (23:59) + 60 min


def judge(*records, lesson_=None, now=AFTER, evidence=None, school_=None):
    evidence = [activity(*records)] if evidence is None else evidence
    return evaluate_async(lesson_ or async_lesson(), school_ or school(), evidence, (),
                          DEFAULT_POLICY, now, system_author=SYSTEM)


DUE_17 = async_lesson(entry=uzdots(ASYNC_TEXT_DUE_17))

ROWS = [
    pytest.param([record(at("15:00"), "s1")], None, Outcome.PRESENT, "activity",
                 id="p31-activity-on-time"),
    pytest.param([record(at("08:00"), "s1")], None, Outcome.PRESENT, "activity",
                 id="p35-work-before-the-lesson-counts"),
    pytest.param([record(at("23:59"), "s1")], None, Outcome.PRESENT, "activity",
                 id="p35-activity-exactly-at-default-due"),
    pytest.param([record(at("08:00", "2026-12-01"), "s1")], None, Outcome.ABSENT_UNEXCUSED,
                 "no_activity", id="p31-activity-late"),
    pytest.param([], None, Outcome.ABSENT_UNEXCUSED, "no_activity", id="p31-no-activity"),
    pytest.param([record(at("16:30"), "s1")], DUE_17, Outcome.PRESENT, "activity",
                 id="p31-uzdots-due-met"),
    pytest.param([record(at("17:30"), "s1")], DUE_17, Outcome.ABSENT_UNEXCUSED, "no_activity",
                 id="p31-record-after-uzdots-due-does-not-count"),
    pytest.param([record(at("15:00"), name="Janis Berzins")], None, Outcome.PRESENT, "activity",
                 id="p31-import-row-matched-by-name"),
    pytest.param([record(at("15:00"), email="JANIS.BERZINS@audzekni.school.lv", name="x")],
                 None, Outcome.PRESENT, "activity", id="p31-import-row-matched-by-email"),
    pytest.param([record(at("15:00"), name="Nezināms Skolēns")], None, Outcome.ABSENT_UNEXCUSED,
                 "no_activity", id="p31-unknown-row-ignored"),
    pytest.param([record(at("15:00"), "s21")], None, Outcome.ABSENT_UNEXCUSED, "no_activity",
                 id="p31-other-groups-record-ignored"),
]


@pytest.mark.parametrize(("records", "the_lesson", "outcome", "reason"), ROWS)
def test_engagement(records, the_lesson, outcome, reason):
    result = judge(*records, lesson_=the_lesson)
    verdict = by_student(result)["s1"]
    assert (verdict.outcome, verdict.reason, verdict.points) == (outcome, reason, ("31",))
    assert ("s1" in marks_by_student(result)) is (outcome is Outcome.ABSENT_UNEXCUSED)
    assert result.final


def test_p31_detail_shows_due_and_late_activity():
    verdict = by_student(judge(record(at("08:00", "2026-12-01"), "s1")))["s1"]
    assert verdict.detail["due"] == "2026-11-30T23:59:00+02:00"
    assert verdict.detail["activity_at"] is None
    assert verdict.detail["late_activity_at"] == "2026-12-01T08:00:00+02:00"


def test_p31_several_activities_any_one_counts():
    other = activity(record(at("14:00"), "s1"), url="https://www.uzdevumi.lv/p/fizika/123")
    result = judge(evidence=[activity(), other])
    assert by_student(result)["s1"].outcome is Outcome.PRESENT


def test_p31_found_and_missing_activities_mixed_judges_on_found():
    result = judge(evidence=[activity(found=False), activity(record(at("14:00"), "s1"))])
    assert by_student(result)["s1"].outcome is Outcome.PRESENT
    assert by_student(result)["s2"].outcome is Outcome.ABSENT_UNEXCUSED
    assert not [a for a in result.alerts if a.kind is AlertKind.EVIDENCE_MISSING]


@pytest.mark.parametrize(
    ("now", "pending"),
    [
        pytest.param(at("23:59"), True, id="p35-not-before-due"),
        pytest.param(at("00:58", "2026-12-01"), True, id="p35-not-before-due-plus-60"),
        pytest.param(at("00:59", "2026-12-01"), False, id="p35-judged-at-due-plus-60"),
    ],
)
def test_p35_not_judged_before_due(now, pending):
    result = judge(record(at("15:00"), "s1"), now=now)
    outcomes = {v.outcome for v in result.verdicts}
    assert (outcomes == {Outcome.NOT_YET_DUE}) is pending
    assert result.final is not pending
    assert bool(result.marks) is not pending
    if pending:
        assert not result.alerts


def test_p31_namesake_import_row_is_never_guessed():
    twin = student("s4", "Jānis", "Bērziņš")
    result = judge(record(at("15:00"), name="Jānis Bērziņš"), school_=school(extra=[twin]))
    verdicts = by_student(result)
    assert {verdicts["s1"].reason, verdicts["s4"].reason} == {"ambiguous_identity"}
    assert {verdicts["s1"].outcome, verdicts["s4"].outcome} == {Outcome.NOT_EVALUATED}
    assert not {"s1", "s4"} & set(marks_by_student(result))


def test_p42_student_due_moves_only_for_that_student():
    lesson_ = async_lesson()
    info = lesson_info(lesson_, DEFAULT_POLICY)
    ext = notice("s1", NoticeKind.TECH_PROBLEM, at("12:00"),
                 agreement=Agreement.EXTENDED_DEADLINE, new_due=at("17:00", "2026-12-02"))
    assert lesson_due(lesson_, info, DEFAULT_POLICY) == at("23:59")
    assert student_due(lesson_, info, DEFAULT_POLICY, [ext], "s1") == at("17:00", "2026-12-02")
    assert student_due(lesson_, info, DEFAULT_POLICY, [ext], "s2") == at("23:59")
