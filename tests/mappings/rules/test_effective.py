"""In force from 2023-03-01: kārtība point 47."""

from __future__ import annotations

import datetime as dt

import pytest

from mappings.evaluate import evaluate_async, evaluate_sync
from mappings.policy import DEFAULT_POLICY
from mappings.rules.effective import in_force
from tests.mappings.factories import SYSTEM, activity, async_lesson, at, lesson, meeting, school


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(dt.date(2023, 2, 28), False, id="p47-day-before"),
        pytest.param(dt.date(2023, 3, 1), True, id="p47-effective-day"),
        pytest.param(dt.date(2026, 11, 30), True, id="p47-later"),
    ],
)
def test_p47_in_force(day, expected):
    assert in_force(day, DEFAULT_POLICY) is expected


@pytest.mark.parametrize(
    ("day", "judged"),
    [
        pytest.param("2023-02-28", False, id="p47-sync-before-effective-date-nothing"),
        pytest.param("2023-03-01", True, id="p47-sync-on-effective-date-judged"),
    ],
)
def test_p47_sync(day, judged):
    result = evaluate_sync(lesson(day=day), school(), meeting(), (), DEFAULT_POLICY,
                           at("11:00", day), system_author=SYSTEM)
    assert bool(result.marks) is judged
    assert bool(result.verdicts) is judged
    assert result.final


def test_p47_async_before_effective_date_nothing():
    result = evaluate_async(async_lesson(day="2023-02-27"), school(), [activity()], (),
                            DEFAULT_POLICY, at("10:00", "2023-03-02"), system_author=SYSTEM)
    assert (result.verdicts, result.marks, result.alerts, result.final) == ((), (), (), True)


def test_p47_effective_date_is_policy():
    policy = DEFAULT_POLICY.with_overrides({"effective_from": "2026-12-01"})
    result = evaluate_sync(lesson(), school(), meeting(), (), policy, at("11:00"),
                           system_author=SYSTEM)
    assert not result.verdicts and result.final
