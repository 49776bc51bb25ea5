"""The entry points the jobs call: timing, lesson-level outcomes and result invariants."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

import mappings
from mappings.evaluate import (
    absence_alert,
    evaluate_async,
    evaluate_sync,
    evaluation_time,
    is_attendance_due,
    lesson_info,
)
from mappings.model import (
    Agreement,
    AlertKind,
    Audience,
    LessonMode,
    Mark,
    NoticeKind,
    Outcome,
    UzdotsInfo,
)
from mappings.points import sort_points
from mappings.policy import DEFAULT_POLICY
from tests.mappings.factories import (
    ASYNC_TEXT_DUE_17,
    STUDENTS,
    SYSTEM,
    activity,
    async_lesson,
    at,
    journal_mark,
    lesson,
    line,
    meeting,
    notice,
    person,
    record,
    school,
    uzdots,
)

EXTENSION = notice("s1", NoticeKind.TECH_PROBLEM, at("12:00"),
                   agreement=Agreement.EXTENDED_DEADLINE, new_due=at("17:00", "2026-12-02"))


def test_lesson_info_of_a_lesson_without_uzdots_is_empty():
    assert lesson_info(lesson(entry=None), DEFAULT_POLICY) == UzdotsInfo()


def test_lesson_info_reads_link_due_and_criteria():
    info = lesson_info(lesson(), DEFAULT_POLICY)
    assert [m.key for m in info.meetings] == ["81234567890"]
    assert info.due == at("17:00")
    assert info.has_criteria


TIMES = [
    pytest.param(lesson(), {}, at("10:15"), id="p30-sync-end-plus-30"),
    pytest.param(async_lesson(), {}, at("00:59", "2026-12-01"),
                 id="p35-async-default-due-plus-60"),
    pytest.param(async_lesson(entry=uzdots(ASYNC_TEXT_DUE_17)), {}, at("18:00"),
                 id="p35-async-uzdots-due-plus-60"),
    pytest.param(async_lesson(), {"notices": [EXTENSION], "student_id": "s1"},
                 at("18:00", "2026-12-02"), id="p42-extended-due-for-that-student"),
    pytest.param(async_lesson(), {"notices": [EXTENSION], "student_id": "s2"},
                 at("00:59", "2026-12-01"), id="p42-other-student-not-extended"),
    pytest.param(async_lesson(), {"notices": [EXTENSION]}, at("00:59", "2026-12-01"),
                 id="p42-lesson-level-ignores-extensions"),
    pytest.param(async_lesson(subject="ch"), {"school": school()}, at("10:15"),
                 id="p13-class-hour-typed-async-timed-as-sync"),
    pytest.param(async_lesson(day="2026-10-24"), {},
                 dt.datetime.fromisoformat("2026-10-25T00:59:00+03:00"),
                 id="p35-dst-summer-time-offset"),
    pytest.param(async_lesson(day="2026-10-25"), {},
                 dt.datetime.fromisoformat("2026-10-26T00:59:00+02:00"),
                 id="p35-dst-day-itself-winter-offset"),
]


@pytest.mark.parametrize(("the_lesson", "kw", "expected"), TIMES)
def test_evaluation_time(the_lesson, kw, expected):
    info = lesson_info(the_lesson, DEFAULT_POLICY)
    got = evaluation_time(the_lesson, info, DEFAULT_POLICY, **kw)
    assert got == expected
    assert got.utcoffset() == expected.utcoffset()


def test_evaluation_delays_are_policy():
    policy = DEFAULT_POLICY.with_overrides(
        {"sync_evaluate_after_minutes": 60, "async_evaluate_after_minutes": 0,
         "async_default_due_time": "20:00"})
    assert evaluation_time(lesson(), UzdotsInfo(), policy) == at("10:45")
    assert evaluation_time(async_lesson(), UzdotsInfo(), policy) == at("20:00")


@pytest.mark.parametrize(
    ("now", "due"),
    [
        pytest.param(at("10:14"), False, id="p30-a-minute-early"),
        pytest.param(at("10:15"), True, id="p30-at-evaluation-time"),
    ],
)
def test_is_attendance_due(now, due):
    the_lesson = lesson()
    assert is_attendance_due(the_lesson, lesson_info(the_lesson, DEFAULT_POLICY),
                             DEFAULT_POLICY, now) is due


def test_p30_not_yet_due_nothing_happens():
    result = evaluate_sync(lesson(), school(), meeting(), (), DEFAULT_POLICY, at("10:14"),
                           system_author=SYSTEM)
    assert {v.outcome for v in result.verdicts} == {Outcome.NOT_YET_DUE}
    assert len(result.verdicts) == 3
    assert (result.marks, result.skips, result.alerts, result.final) == ((), (), (), False)


def sync_missing(evidence, entry):
    the_lesson = lesson(entry=entry)
    return evaluate_sync(the_lesson, school(), evidence, (), DEFAULT_POLICY, at("11:00"),
                         system_author=SYSTEM)


def async_missing(evidence, entry):
    the_lesson = async_lesson(entry=entry)
    return evaluate_async(the_lesson, school(), evidence, (), DEFAULT_POLICY,
                          at("10:00", "2026-12-01"), system_author=SYSTEM)


MISSING = [
    pytest.param(sync_missing, None, uzdots(), "30", False, "no_evidence",
                 id="p30-link-but-no-evidence-not-final"),
    pytest.param(sync_missing, None, uzdots("Stunda notiks tiešsaistē."), "30", True, "no_link",
                 id="p30-no-usable-link-final"),
    pytest.param(sync_missing, None, None, "30", True, "no_link", id="p30-no-uzdots-final"),
    pytest.param(sync_missing, meeting(found=False), uzdots(), "30", False, "not_found",
                 id="p30-platform-has-no-data-not-final"),
    pytest.param(async_missing, None, uzdots(ASYNC_TEXT_DUE_17), "31", False, "no_evidence",
                 id="p31-link-but-no-evidence-not-final"),
    pytest.param(async_missing, None, uzdots("Izpildīt darba lapu."), "31", True, "no_link",
                 id="p31-no-linked-activity-final"),
    pytest.param(async_missing, [activity(found=False)], uzdots(ASYNC_TEXT_DUE_17), "31",
                 False, "not_found", id="p31-all-activities-not-found-not-final"),
]


@pytest.mark.parametrize(("evaluate", "evidence", "entry", "point", "final", "cause"), MISSING)
def test_evidence_missing(evaluate, evidence, entry, point, final, cause):
    result = evaluate(evidence, entry)
    assert not result.marks
    assert {(v.outcome, v.reason, v.points) for v in result.verdicts} == {
        (Outcome.NOT_EVALUATED, "evidence_missing", (point,))}
    [alert] = result.alerts
    assert (alert.kind, alert.lesson_id, alert.student_id, alert.audience, alert.points) == (
        AlertKind.EVIDENCE_MISSING, "L1", None, (Audience.TEACHER,), (point,))
    assert alert.detail["cause"] == cause
    assert result.final is final


@pytest.mark.parametrize(
    "evaluate",
    [
        pytest.param(lambda le: evaluate_sync(le, school(), meeting(), (), DEFAULT_POLICY,
                                              at("11:00"), system_author=SYSTEM),
                     id="sync-in-person"),
        pytest.param(lambda le: evaluate_async(le, school(), [activity()], (), DEFAULT_POLICY,
                                               at("11:00", "2026-12-02"), system_author=SYSTEM),
                     id="async-in-person"),
    ],
)
def test_in_person_lesson_gives_an_empty_final_result(evaluate):
    result = evaluate(lesson(mode=LessonMode.IN_PERSON))
    assert (result.verdicts, result.marks, result.alerts, result.final) == ((), (), (), True)


@pytest.mark.parametrize(
    ("excused", "reason"),
    [
        pytest.param(False, "not_connected", id="p22-p32-unexcused-n"),
        pytest.param(True, "notice_before_start", id="p22-p32-excused-n"),
    ],
)
def test_absence_alert(excused, reason):
    mark = Mark("L1", "s1", "n", excused, ("30",), reason)
    alert = absence_alert(mark)
    assert (alert.kind, alert.lesson_id, alert.student_id, alert.audience, alert.points,
            alert.excused) == (AlertKind.ABSENCE, "L1", "s1", (Audience.CLASS_TEACHER,),
                               ("22", "32"), excused)
    assert alert.detail["reason"] == reason


def busy_sync_result():
    """A lesson touching many rules at once."""
    rows = (
        person("Jānis Bērziņš", ("09:00", "09:45")),
        person("Anna Kalniņa", ("09:00", "09:12")),
        person("Nezināms", ("09:00", "09:45")),
    )
    the_lesson = lesson(marks=[journal_mark("s3", "7", "t1")])
    return evaluate_sync(the_lesson, school(), meeting(*rows, chat=[line("09:02", "Anna")]),
                         [notice("s2", NoticeKind.ILLNESS, at("09:30"))], DEFAULT_POLICY,
                         at("11:00"), system_author=SYSTEM)


def test_result_invariants():
    result = busy_sync_result()
    assert result.final
    assert [v.student_id for v in result.verdicts] == ["s1", "s2", "s3"]
    verdicts = {v.student_id: v for v in result.verdicts}
    for item in (*result.verdicts, *result.marks, *result.alerts):
        assert item.points == sort_points(item.points)
        assert item.points
    for mark in result.marks:
        assert (mark.points, mark.reason) == (verdicts[mark.student_id].points,
                                              verdicts[mark.student_id].reason)
    assert [m.student_id for m in result.marks] == ["s2"]
    assert [s.student_id for s in result.skips] == ["s3"]
    kinds = sorted(a.kind.value for a in result.alerts)
    assert kinds == ["chat_not_registered", "unmatched_participant"]


def test_no_names_in_verdict_or_mark_details():
    result = busy_sync_result()
    names = {part for s in STUDENTS for part in (s.first_name, s.last_name)} | {"Nezināms"}
    for item in (*result.verdicts, *result.marks):
        text = repr(item)
        assert not [n for n in names if n in text]


def test_async_then_sync_same_world_deterministic():
    args = (async_lesson(), school(), [activity(record(at("12:00"), "s1"))], (),
            DEFAULT_POLICY, at("10:00", "2026-12-01"))
    assert evaluate_async(*args, system_author=SYSTEM) == evaluate_async(*args,
                                                                         system_author=SYSTEM)


FORBIDDEN_CALLS = {"now", "today", "utcnow", "time", "getenv", "open"}


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=str(p.relative_to(Path(mappings.__file__).parent)))
     for p in sorted(Path(mappings.__file__).parent.joinpath("rules").glob("*.py"))]
    + [pytest.param(Path(mappings.__file__).parent / name, id=name)
       for name in ("evaluate.py", "explain.py")],
)
def test_rules_are_pure(path):
    """No clock, environment or file access in the rules (DESIGN: mappings is pure)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"os", "time", "sandbox", "connectors", "sync_jobs", "pathlib"}
    calls = {node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
             for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)}
    assert not calls & FORBIDDEN_CALLS
