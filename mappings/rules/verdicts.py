"""The decision on one student in one lesson, and whether an "n" follows it (point 43).

A :class:`Judgement` is a :class:`~mappings.model.Verdict` plus the one bit the verdict does
not carry: whether the journal gets an "n". Rules build verdicts with :func:`verdict`, so
points are always sorted and details always read-only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mappings.calendar import to_riga
from mappings.model import Lesson, Mark, Outcome, Verdict, frozen_map
from mappings.points import sort_points

ABSENCE_CODE = "n"
"""The journal code of an absence (point 43)."""


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict and whether it is written to the journal as an "n".

    Attributes:
        verdict: the decision with its points and reason.
        writes_mark: True when the verdict becomes an "n" (excused when the verdict is
            ``absent_excused``).
    """

    verdict: Verdict
    writes_mark: bool = False

    def mark(self) -> Mark | None:
        """The "n" this judgement asks for, or None."""
        if not self.writes_mark:
            return None
        v = self.verdict
        return Mark(
            lesson_id=v.lesson_id,
            student_id=v.student_id,
            code=ABSENCE_CODE,
            excused=v.outcome is Outcome.ABSENT_EXCUSED,
            points=v.points,
            reason=v.reason,
        )


def iso(t: dt.datetime | None) -> str | None:
    """An instant as ISO 8601 in Riga time, for alert and verdict details."""
    return None if t is None else to_riga(t).isoformat()


def verdict(
    lesson: Lesson,
    student_id: str,
    outcome: Outcome,
    points: Iterable[str],
    reason: str,
    detail: Mapping[str, object] | None = None,
) -> Verdict:
    """A verdict with sorted points and a read-only detail."""
    return Verdict(
        lesson_id=lesson.id,
        student_id=student_id,
        outcome=outcome,
        points=sort_points(points),
        reason=reason,
        detail=frozen_map(detail),
    )


def amend(
    base: Verdict,
    outcome: Outcome,
    points: Iterable[str],
    reason: str,
    extra: Mapping[str, object] | None = None,
) -> Verdict:
    """The verdict ``base`` re-decided: new outcome, points and reason, detail extended.

    The detail keeps ``base``'s numbers and records its reason as ``base_reason``, so an
    explanation can say both what the evidence showed and why the decision changed.
    """
    detail = {"base_reason": base.reason, **base.detail, **(extra or {})}
    return dataclasses.replace(
        base,
        outcome=outcome,
        points=sort_points(points),
        reason=reason,
        detail=frozen_map(detail),
    )


def not_yet_due(
    lesson: Lesson, student_id: str, base_point: str, evaluate_at: dt.datetime
) -> Verdict:
    """Points 30/35: nothing is judged before the evaluation time."""
    return verdict(
        lesson,
        student_id,
        Outcome.NOT_YET_DUE,
        (base_point,),
        "not_yet_due",
        {"evaluate_at": iso(evaluate_at)},
    )


def not_evaluated(
    lesson: Lesson,
    student_id: str,
    point: str,
    reason: str,
    detail: Mapping[str, object] | None = None,
) -> Verdict:
    """A verdict the rules deliberately leave open (no mark, ever)."""
    return verdict(lesson, student_id, Outcome.NOT_EVALUATED, (point,), reason, detail)
