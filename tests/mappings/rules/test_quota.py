"""At most 20 % remote hours per group × subject per school year: kārtība point 7."""

from __future__ import annotations

import datetime as dt

import pytest

from mappings.evaluate import check_quota
from mappings.model import AlertKind, Audience, LessonMode
from mappings.policy import DEFAULT_POLICY
from tests.mappings.factories import lesson, school

NOW = dt.datetime.fromisoformat("2026-11-30T18:00:00+02:00")
FIRST = dt.date(2026, 9, 1)


def series(count, subject="m2", group="g1", mode=LessonMode.REMOTE_ASYNC, start=FIRST,
           prefix="Q", teacher="t1"):
    """``count`` lessons, two a day (numbers 1 and 2), in date order."""
    return [
        lesson(f"{prefix}{i:02d}", day=start + dt.timedelta(days=i // 2), number=1 + i % 2,
               subject=subject, group=group, mode=mode, teacher=teacher, entry=None)
        for i in range(count)
    ]


ROWS = [  # subject m2 has 25 planned hours for g1: warn from 4 (16 %), exceeded from 6 (24 %)
    pytest.param(3, None, None, id="p7-below-warning"),
    pytest.param(4, AlertKind.QUOTA_WARNING, "Q03", id="p7-warning-at-16-percent"),
    pytest.param(5, AlertKind.QUOTA_WARNING, "Q03", id="p7-exactly-20-percent-is-a-warning"),
    pytest.param(6, AlertKind.QUOTA_EXCEEDED, "Q05", id="p7-exceeded-above-20-percent"),
    pytest.param(12, AlertKind.QUOTA_EXCEEDED, "Q05", id="p7-exceeded-names-crossing-lesson"),
]


@pytest.mark.parametrize(("remote", "kind", "crossing"), ROWS)
def test_p7_thresholds(remote, kind, crossing):
    lessons = series(remote) + series(20, mode=LessonMode.IN_PERSON, prefix="P")
    alerts = check_quota(list(reversed(lessons)), school(), DEFAULT_POLICY, NOW)
    if kind is None:
        assert alerts == ()
        return
    [alert] = alerts
    assert (alert.kind, alert.lesson_id, alert.student_id, alert.points) == (
        kind, crossing, None, ("7",))
    assert alert.audience == (Audience.TEACHER, Audience.OVERSIGHT)
    assert alert.detail["remote_hours"] == remote
    assert alert.detail["planned_hours"] == 25
    assert alert.detail["share"] == pytest.approx(remote / 25)


def test_p7_crossing_lesson_follows_date_then_number():
    lessons = [
        lesson("late", day=dt.date(2026, 10, 2), number=1, subject="m2", entry=None),
        lesson("b", day=dt.date(2026, 10, 1), number=5, subject="m2", entry=None),
        lesson("a", day=dt.date(2026, 10, 1), number=3, subject="m2", entry=None),
        *series(3, subject="m2"),  # in September
    ]
    [exceeded] = check_quota(lessons, school(), DEFAULT_POLICY, NOW)  # 6th = "late"
    assert (exceeded.kind, exceeded.lesson_id) == (AlertKind.QUOTA_EXCEEDED, "late")
    [warning] = check_quota(lessons[1:], school(), DEFAULT_POLICY, NOW)  # 4th = "a"
    assert (warning.kind, warning.lesson_id) == (AlertKind.QUOTA_WARNING, "a")


def test_p7_large_plan_warning_at_16_of_100():
    [alert] = check_quota(series(16, subject="m1"), school(), DEFAULT_POLICY, NOW)
    assert (alert.kind, alert.lesson_id) == (AlertKind.QUOTA_WARNING, "Q15")


NOT_CHECKED = [
    pytest.param(series(10, subject="np"), id="p7-no-planned-hours"),
    pytest.param(series(10, subject="m2", group="g2"), id="p7-no-plan-for-this-group"),
    pytest.param(series(10, subject="pr"), id="p8-practice-left-to-point-8"),
    pytest.param(series(10, subject="m2", start=dt.date(2026, 5, 4)),
                 id="p7-previous-school-year-not-counted"),
    pytest.param(series(3, subject="m2", start=dt.date(2026, 8, 27)) +
                 series(3, subject="m2", prefix="R"), id="p7-year-starts-on-1-september"),
]


@pytest.mark.parametrize("lessons", NOT_CHECKED)
def test_p7_not_counted(lessons):
    assert check_quota(lessons, school(), DEFAULT_POLICY, NOW) == ()


def test_p7_groups_counted_separately():
    lessons = series(5, subject="m1", group="g2", prefix="G", teacher="t3") + series(5)
    alerts = check_quota(lessons, school(), DEFAULT_POLICY, NOW)
    # m1 for g2: 5 of 25 (warning); m2 for g1: 5 of 25 (warning); m1 for g1 untouched
    assert sorted((a.lesson_id, a.detail["group_id"], a.detail["subject_id"]) for a in alerts) == [
        ("G03", "g2", "m1"), ("Q03", "g1", "m2")]


def test_p7_school_year_of_now_decides():
    lessons = series(6, subject="m2", start=dt.date(2026, 5, 4))
    june = dt.datetime.fromisoformat("2026-06-01T12:00:00+03:00")
    [alert] = check_quota(lessons, school(), DEFAULT_POLICY, june)
    assert alert.kind is AlertKind.QUOTA_EXCEEDED


def test_p47_lessons_before_effective_date_not_counted():
    before = series(4, subject="m2", start=dt.date(2023, 2, 20), prefix="B")
    after = series(3, subject="m2", start=dt.date(2023, 3, 1))
    now = dt.datetime.fromisoformat("2023-05-01T12:00:00+03:00")
    assert check_quota(before + after, school(), DEFAULT_POLICY, now) == ()


def test_p7_thresholds_are_policy():
    policy = DEFAULT_POLICY.with_overrides({"quota_warn_share": 0.08, "quota_max_share": 0.1})
    [alert] = check_quota(series(3), school(), policy, NOW)
    assert (alert.kind, alert.lesson_id) == (AlertKind.QUOTA_EXCEEDED, "Q02")


def test_p7_p13_class_hours_are_outside_the_quota():
    """Point 7 limits modules and subjects; class hours are held online (point 13)."""
    lessons = series(12, subject="ch", mode=LessonMode.REMOTE_SYNC)  # 12/36 = 33 %
    assert check_quota(lessons, school(), DEFAULT_POLICY, NOW) == ()
