"""A person's mark always wins: kārtība point 43 and "the system never overwrites"."""

from __future__ import annotations

import dataclasses

import pytest

from mappings.evaluate import evaluate_async, evaluate_sync
from mappings.model import AlertKind, MarkEdit, NoticeKind, Outcome, Skip
from mappings.policy import DEFAULT_POLICY
from mappings.rules.manual import write_or_skip
from mappings.rules.verdicts import Judgement, verdict
from tests.mappings.factories import (
    SYSTEM,
    activity,
    async_lesson,
    at,
    everyone_on_time,
    journal_mark,
    lesson,
    marks_by_student,
    meeting,
    notice,
    school,
)

CASES = [
    pytest.param([], True, False, id="p43-no-journal-mark-n-written"),
    pytest.param([journal_mark("s1", "8", "t1")], False, True, id="p43-teachers-grade-kept"),
    pytest.param([journal_mark("s1", "n", "t1")], False, True, id="p43-teachers-n-kept"),
    pytest.param([journal_mark("s1", "n", "t2")], False, True,
                 id="p43-class-teachers-mark-kept"),
    pytest.param([journal_mark("s1", "n", SYSTEM)], False, False,
                 id="p43-own-mark-already-written"),
    pytest.param([journal_mark("s1", "n", SYSTEM), journal_mark("s1", "5", "t1")], False, True,
                 id="p43-person-changed-after-kartiba"),
    pytest.param([journal_mark("s2", "8", "t1")], True, False,
                 id="p43-other-students-mark-irrelevant"),
]


@pytest.mark.parametrize(("marks", "written", "skipped"), CASES)
def test_p43_sync(marks, written, skipped):
    the_lesson = lesson(marks=marks)
    result = evaluate_sync(the_lesson, school(), meeting(), (), DEFAULT_POLICY, at("11:00"),
                           system_author=SYSTEM)
    assert ("s1" in marks_by_student(result)) is written
    assert (Skip("L1", "s1", "manual_mark") in result.skips) is skipped
    assert not [a for a in result.alerts if a.kind is AlertKind.ABSENCE]
    assert result.final


@pytest.mark.parametrize(("marks", "written", "skipped"), CASES)
def test_p43_async(marks, written, skipped):
    the_lesson = async_lesson(marks=marks)
    result = evaluate_async(the_lesson, school(), [activity()], (), DEFAULT_POLICY,
                            at("10:00", "2026-12-01"), system_author=SYSTEM)
    assert ("s1" in marks_by_student(result)) is written
    assert (Skip("L1", "s1", "manual_mark") in result.skips) is skipped


def test_p43_excused_n_is_skipped_too():
    the_lesson = lesson(marks=[journal_mark("s1", "n", "t2")])
    result = evaluate_sync(the_lesson, school(), meeting(), [notice("s1", NoticeKind.ILLNESS,
                           at("07:00"))], DEFAULT_POLICY, at("11:00"), system_author=SYSTEM)
    assert "s1" not in marks_by_student(result)
    assert Skip("L1", "s1", "manual_mark") in result.skips


def test_p43_present_student_with_manual_mark_needs_no_skip():
    the_lesson = lesson(marks=[journal_mark("s1", "9", "t1")])
    result = evaluate_sync(the_lesson, school(), everyone_on_time(), (), DEFAULT_POLICY,
                           at("11:00"), system_author=SYSTEM)
    assert not result.skips and not result.marks


def test_p41_no_mark_due_means_no_skip_either():
    the_lesson = lesson(marks=[journal_mark("s1", "n", "t1")])
    judgement = Judgement(verdict(the_lesson, "s1", Outcome.ABSENT_EXCUSED, ("41",), "x"))
    assert write_or_skip(judgement, the_lesson, SYSTEM) == (None, None)


@pytest.mark.parametrize(("edits", "skipped"), [
    pytest.param([MarkEdit("s1", "t1", at("10:30"), None)], True,
                 id="p43-person-deleted-a-mark-never-written-again"),
    pytest.param([MarkEdit("s1", "t1", at("10:30"), "5")], True,
                 id="p43-person-set-then-edit-listed"),
    pytest.param([MarkEdit("s2", "t1", at("10:30"), None)], False,
                 id="p43-other-students-edit-irrelevant"),
])
def test_p43_a_persons_edit_is_a_persons_decision(edits, skipped):
    the_lesson = dataclasses.replace(lesson(), mark_edits=tuple(edits))
    result = evaluate_sync(the_lesson, school(), meeting(), (), DEFAULT_POLICY, at("11:00"),
                           system_author=SYSTEM)
    assert ("s1" not in marks_by_student(result)) is skipped
    assert (Skip("L1", "s1", "manual_mark") in result.skips) is skipped
