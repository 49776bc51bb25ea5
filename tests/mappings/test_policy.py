"""Policy defaults (docs/POLICY.md) and validated overrides."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from mappings.policy import DEFAULT_POLICY, Policy, PolicyError

D = dt.date
T = dt.time


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("timezone", "Europe/Riga", id="all-timezone"),
        pytest.param("effective_from", D(2023, 3, 1), id="p47-effective-from"),
        pytest.param("uzdots_deadline_time", T(17, 0), id="p16-deadline-17h"),
        pytest.param("join_grace_minutes", 10, id="p30-grace"),
        pytest.param("min_presence_share", 0.5, id="p30-half"),
        pytest.param("sync_evaluate_after_minutes", 30, id="p30-evaluate-after"),
        pytest.param("async_evaluate_after_minutes", 60, id="p31-evaluate-after"),
        pytest.param("async_default_due_time", T(23, 59), id="p35-default-due"),
        pytest.param("attendance_window_days", 7, id="p30-p31-window"),
        pytest.param("uzdots_check_days", 7, id="p16-check-window"),
        pytest.param("instance_before_minutes", 30, id="p30-instances-before"),
        pytest.param("instance_after_minutes", 120, id="p30-instances-after"),
        pytest.param("quota_warn_share", 0.16, id="p7-warn"),
        pytest.param("quota_max_share", 0.20, id="p7-max"),
        pytest.param("fuzzy_min_score", 88.0, id="identity-fuzzy-score"),
        pytest.param("fuzzy_margin", 8.0, id="identity-fuzzy-margin"),
        pytest.param("criteria_words", ("kritērij", "vērtēšan"), id="p16-criteria-words"),
        pytest.param("non_teaching_days", (), id="p16-non-teaching"),
    ],
)
def test_defaults_follow_design(field: str, expected: Any) -> None:
    assert getattr(DEFAULT_POLICY, field) == expected


def test_policy_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_POLICY.join_grace_minutes = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        pytest.param({"uzdots_deadline_time": "16:30"}, "uzdots_deadline_time", T(16, 30),
                     id="p16-time-string"),
        pytest.param({"uzdots_deadline_time": "9:00"}, "uzdots_deadline_time", T(9, 0),
                     id="p16-time-one-digit-hour"),
        pytest.param({"uzdots_deadline_time": "16.45"}, "uzdots_deadline_time", T(16, 45),
                     id="p16-time-latvian-dot"),
        pytest.param({"effective_from": "2023-09-01"}, "effective_from", D(2023, 9, 1),
                     id="p47-date-string"),
        pytest.param({"min_presence_share": "0.6"}, "min_presence_share", 0.6,
                     id="p30-share-string"),
        pytest.param({"min_presence_share": "60 %"}, "min_presence_share", 0.6,
                     id="p30-share-percent"),
        pytest.param({"min_presence_share": 1}, "min_presence_share", 1.0, id="p30-share-int"),
        pytest.param({"join_grace_minutes": "15"}, "join_grace_minutes", 15,
                     id="p30-grace-string"),
        pytest.param({"join_grace_minutes": 15.0}, "join_grace_minutes", 15,
                     id="p30-grace-whole-float"),
        pytest.param({"non_teaching_days": ["2026-11-27", "2026-11-26", "2026-11-27"]},
                     "non_teaching_days", (D(2026, 11, 26), D(2026, 11, 27)),
                     id="p16-days-list-sorted-unique"),
        pytest.param({"non_teaching_days": "2026-11-27, 2026-12-23"}, "non_teaching_days",
                     (D(2026, 11, 27), D(2026, 12, 23)), id="p16-days-comma-string"),
        pytest.param({"non_teaching_days": [D(2026, 11, 27)]}, "non_teaching_days",
                     (D(2026, 11, 27),), id="p16-days-date-objects"),
        pytest.param({"criteria_words": ["kritērij", "vērtēšan", "rubrik"]}, "criteria_words",
                     ("kritērij", "vērtēšan", "rubrik"), id="p16-words-list"),
        pytest.param({"quota_warn_share": 0.1, "quota_max_share": 0.15}, "quota_max_share",
                     0.15, id="p7-both-shares"),
        pytest.param({"fuzzy_min_score": 92}, "fuzzy_min_score", 92.0, id="identity-score"),
    ],
)  # fmt: skip
def test_valid_overrides(overrides: dict[str, Any], field: str, expected: Any) -> None:
    changed = DEFAULT_POLICY.with_overrides(overrides)
    assert getattr(changed, field) == expected
    assert isinstance(getattr(changed, field), type(expected))
    # The original is untouched; other fields keep their defaults.
    assert getattr(DEFAULT_POLICY, field) != expected
    untouched = [f.name for f in dataclasses.fields(Policy) if f.name not in overrides]
    assert all(getattr(changed, n) == getattr(DEFAULT_POLICY, n) for n in untouched)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"min_presence": 0.5},
                     "policy.min_presence: unknown setting (did you mean 'min_presence_share'?)",
                     id="unknown-key-suggests"),
        pytest.param({"colour": "red"}, "policy.colour: unknown setting", id="unknown-key"),
        pytest.param({"min_presence_share": 1.5}, "policy.min_presence_share: must be between 0 and 1",
                     id="p30-share-above-one"),
        pytest.param({"min_presence_share": "half"}, "policy.min_presence_share: must be a number",
                     id="p30-share-word"),
        pytest.param({"min_presence_share": True}, "policy.min_presence_share: must be a number",
                     id="p30-share-bool"),
        pytest.param({"join_grace_minutes": -1}, "policy.join_grace_minutes: must be between",
                     id="p30-negative-grace"),
        pytest.param({"join_grace_minutes": 2.5}, "policy.join_grace_minutes: must be a whole number",
                     id="p30-fractional-minutes"),
        pytest.param({"uzdots_deadline_time": "25:00"}, "policy.uzdots_deadline_time: must be a time",
                     id="p16-bad-time"),
        pytest.param({"uzdots_deadline_time": 17}, "policy.uzdots_deadline_time: must be a time",
                     id="p16-number-for-time"),
        pytest.param({"effective_from": "2023-02-30"}, "policy.effective_from: must be a date",
                     id="p47-bad-date"),
        pytest.param({"effective_from": dt.datetime(2023, 3, 1)}, "policy.effective_from: must be a date",
                     id="p47-datetime-not-date"),
        pytest.param({"non_teaching_days": ["2026-11-27", "x"]}, "policy.non_teaching_days: must be a date",
                     id="p16-bad-day-in-list"),
        pytest.param({"non_teaching_days": 5}, "policy.non_teaching_days: must be a list",
                     id="p16-days-not-list"),
        pytest.param({"quota_warn_share": 0.3}, "policy.quota_warn_share: must not exceed quota_max_share",
                     id="p7-warn-above-max"),
        pytest.param({"quota_max_share": -0.1}, "policy.quota_max_share: must be between 0 and 1",
                     id="p7-negative-max"),
        pytest.param({"timezone": "Europe/London"}, "policy.timezone: only Europe/Riga",
                     id="all-other-timezone"),
        pytest.param({"criteria_words": ["kritērij", " "]}, "policy.criteria_words: must be a list of non-empty",
                     id="p16-blank-word"),
        pytest.param({"attendance_window_days": 0}, "policy.attendance_window_days: must be between 1",
                     id="p30-zero-window"),
        pytest.param({"fuzzy_min_score": 101}, "policy.fuzzy_min_score: must be between 0 and 100",
                     id="identity-score-above-100"),
    ],
)  # fmt: skip
def test_invalid_overrides(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        DEFAULT_POLICY.with_overrides(overrides)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)


def test_overrides_must_be_a_mapping() -> None:
    with pytest.raises(PolicyError):
        DEFAULT_POLICY.with_overrides(["min_presence_share", 0.5])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        pytest.param({"min_presence_share": 2.0}, "min_presence_share", id="range"),
        pytest.param({"join_grace_minutes": "10"}, "join_grace_minutes", id="type"),
        pytest.param({"non_teaching_days": ["2026-11-27"]}, "non_teaching_days", id="list-type"),
    ],
)
def test_constructor_validates_too(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy(**kwargs)
    assert caught.value.key == key


def test_to_dict_round_trips_through_overrides() -> None:
    custom = DEFAULT_POLICY.with_overrides(
        {"non_teaching_days": ["2026-11-27"], "uzdots_deadline_time": "16:00", "fuzzy_margin": 5}
    )
    plain = custom.to_dict()
    assert plain["uzdots_deadline_time"] == "16:00"
    assert plain["non_teaching_days"] == ["2026-11-27"]
    assert set(plain) == {f.name for f in dataclasses.fields(Policy)}
    assert DEFAULT_POLICY.with_overrides(plain) == custom
