"""No remote qualification practice: kārtība point 8."""

from __future__ import annotations

import datetime as dt

import pytest

from mappings.evaluate import check_practice, evaluate_async, evaluate_sync
from mappings.model import AlertKind, Audience, LessonMode
from mappings.policy import DEFAULT_POLICY
from tests.mappings.factories import SYSTEM, at, lesson, meeting, school

NOW = at("18:00")

ROWS = [
    pytest.param({"subject": "pr"}, True, id="p8-remote-sync-practice"),
    pytest.param({"subject": "pr", "mode": LessonMode.REMOTE_ASYNC}, True,
                 id="p8-remote-async-practice"),
    pytest.param({"subject": "pr", "mode": LessonMode.IN_PERSON}, False,
                 id="p8-in-person-practice-is-fine"),
    pytest.param({"subject": "m1"}, False, id="p8-remote-ordinary-subject"),
    pytest.param({"subject": "pr", "day": "2026-05-04"}, False, id="p8-previous-school-year"),
    pytest.param({"subject": "pr", "day": "2027-01-11"}, True, id="p8-planned-later-this-year"),
]


@pytest.mark.parametrize(("kw", "alerted"), ROWS)
def test_p8_practice_remote(kw, alerted):
    alerts = check_practice([lesson(**kw)], school(), DEFAULT_POLICY, NOW)
    assert bool(alerts) is alerted
    for alert in alerts:
        assert (alert.kind, alert.lesson_id, alert.student_id, alert.points, alert.audience) == (
            AlertKind.PRACTICE_REMOTE, "L1", None, ("8",), (Audience.TEACHER, Audience.OVERSIGHT))


def test_p8_one_alert_per_remote_practice_lesson():
    lessons = [lesson(f"L{i}", day=dt.date(2026, 11, 23 + i), subject="pr") for i in range(3)]
    alerts = check_practice(lessons, school(), DEFAULT_POLICY, NOW)
    assert [a.lesson_id for a in alerts] == ["L0", "L1", "L2"]


@pytest.mark.parametrize(
    "evaluate",
    [
        pytest.param(lambda le: evaluate_sync(le, school(), meeting(), (), DEFAULT_POLICY,
                                              at("11:00"), system_author=SYSTEM),
                     id="p8-no-sync-attendance-for-practice"),
        pytest.param(lambda le: evaluate_async(le, school(), [], (), DEFAULT_POLICY,
                                               at("11:00", "2026-12-02"), system_author=SYSTEM),
                     id="p8-no-async-attendance-for-practice"),
    ],
)
def test_p8_practice_is_never_evaluated_for_attendance(evaluate):
    result = evaluate(lesson(subject="pr"))
    assert (result.verdicts, result.marks, result.alerts, result.final) == ((), (), (), True)
