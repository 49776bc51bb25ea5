"""Students without internet or devices: kārtība point 14.5."""

from __future__ import annotations

import pytest

from mappings.evaluate import evaluate_async, evaluate_sync
from mappings.model import Outcome
from mappings.policy import DEFAULT_POLICY
from tests.mappings.factories import (
    STUDENTS,
    SYSTEM,
    activity,
    async_lesson,
    at,
    by_student,
    lesson,
    meeting,
    school,
    student,
)

OFFLINE = student("s1", "Jānis", "Bērziņš", offline=True)


@pytest.mark.parametrize(
    "evaluate",
    [
        pytest.param(lambda sch: evaluate_sync(lesson(), sch, meeting(), (), DEFAULT_POLICY,
                                               at("11:00"), system_author=SYSTEM),
                     id="p14.5-offline-sync-not-marked"),
        pytest.param(lambda sch: evaluate_async(async_lesson(), sch, [activity()], (),
                                                DEFAULT_POLICY, at("10:00", "2026-12-01"),
                                                system_author=SYSTEM),
                     id="p14.5-offline-async-not-marked"),
    ],
)
def test_p14_5_offline_student_never_marked_from_silence(evaluate):
    result = evaluate(school(replace={"s1": OFFLINE}))
    verdict = by_student(result)["s1"]
    assert (verdict.outcome, verdict.reason, verdict.points) == (
        Outcome.NOT_EVALUATED, "offline_mode", ("14.5",))
    assert {m.student_id for m in result.marks} == {"s2", "s3"}
    assert result.final


def test_p14_5_online_classmates_unaffected():
    result = evaluate_sync(lesson(), school(students=STUDENTS), meeting(), (), DEFAULT_POLICY,
                           at("11:00"), system_author=SYSTEM)
    assert by_student(result)["s1"].outcome is Outcome.ABSENT_UNEXCUSED
