"""A lesson changed after kartiba wrote "n" on it: points 43, 33, 32 (issue 12)."""

from __future__ import annotations

import dataclasses

import pytest

from mappings.model import AlertKind, Audience, LessonMode, NoticeKind
from mappings.rules.changes import lesson_changed_after_marks
from mappings.rules.notices import known_notices, withdrawn
from tests.mappings.factories import SYSTEM, at, journal_mark, lesson, notice

OURS = (journal_mark("s1", "n", SYSTEM), journal_mark("s3", "n", SYSTEM))  # entered 10:00


@pytest.mark.parametrize(("change", "marks", "how"), [
    pytest.param({"cancelled": True}, OURS, "cancelled", id="p43-cancelled-after-n"),
    pytest.param({"mode": LessonMode.IN_PERSON}, OURS, "in_person", id="p43-turned-in-person"),
    pytest.param({"modified_at": at("12:00"), "start": at("10:00"), "end": at("10:45")}, OURS,
                 "changed", id="p43-moved-after-n"),
    pytest.param({"modified_at": at("08:00")}, OURS, None, id="p43-changed-before-n-no-alert"),
    pytest.param({}, OURS, None, id="p43-unchanged-no-alert"),
    pytest.param({"cancelled": True}, (journal_mark("s1", "n", "t1"),), None,
                 id="p43-only-a-persons-mark-no-alert"),
    pytest.param({"cancelled": True}, (), None, id="p43-no-marks-no-alert"),
])
def test_p43_lesson_changed_after_marks(change, marks, how):
    the_lesson = dataclasses.replace(lesson(marks=marks), **change)
    alert = lesson_changed_after_marks(the_lesson, SYSTEM)
    if how is None:
        assert alert is None
        return
    assert (alert.kind, alert.lesson_id, alert.student_id, alert.points) == (
        AlertKind.LESSON_CHANGED_AFTER_MARKS, "L1", None, ("32", "33", "43"))
    assert alert.audience == (Audience.TEACHER, Audience.CLASS_TEACHER)
    assert alert.detail["change"] == how
    assert alert.detail["marked_students"] == ("s1", "s3")


def test_a_cancelled_lesson_is_not_a_remote_lesson_that_takes_place():
    assert not dataclasses.replace(lesson(), cancelled=True).is_remote
    assert lesson().is_remote


def test_a_withdrawn_notice_stops_counting_from_its_withdrawal():
    withdrawn_notice = dataclasses.replace(notice("s1", NoticeKind.ILLNESS, at("07:00")),
                                           withdrawn_at=at("12:00"))
    assert not withdrawn(withdrawn_notice, at("11:59"))
    assert withdrawn(withdrawn_notice, at("12:00"))
    assert known_notices([withdrawn_notice], at("11:00")) == (withdrawn_notice,)
    assert known_notices([withdrawn_notice], at("13:00")) == ()
