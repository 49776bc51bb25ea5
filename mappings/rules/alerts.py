"""Who hears about what: alert kinds, their audience and points (docs/CONVENTIONS.md).

The subject teacher owns the alerts about their lessons (point 33); the class teacher hears
about removals and absences (points 19, 22, 32); oversight hears about the quota and practice
(point 6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mappings.model import Alert, AlertKind, Audience, frozen_map
from mappings.points import sort_points

_TEACHER = (Audience.TEACHER,)
_CLASS_TEACHER = (Audience.CLASS_TEACHER,)
_TEACHER_AND_OVERSIGHT = (Audience.TEACHER, Audience.OVERSIGHT)
_TEACHER_AND_CLASS_TEACHER = (Audience.TEACHER, Audience.CLASS_TEACHER)

AUDIENCE: Mapping[AlertKind, tuple[Audience, ...]] = frozen_map(
    {
        AlertKind.UZDOTS_MISSING: _TEACHER,
        AlertKind.UZDOTS_LATE: _TEACHER,
        AlertKind.UZDOTS_INCOMPLETE: _TEACHER,
        AlertKind.TOPIC_MISSING: _TEACHER,
        AlertKind.ABSENCE: _CLASS_TEACHER,
        AlertKind.CHAT_NOT_REGISTERED: _TEACHER,
        AlertKind.UNMATCHED_PARTICIPANT: _TEACHER,
        AlertKind.EVIDENCE_MISSING: _TEACHER,
        AlertKind.REMOVED_BY_TEACHER: _CLASS_TEACHER,
        AlertKind.QUOTA_WARNING: _TEACHER_AND_OVERSIGHT,
        AlertKind.QUOTA_EXCEEDED: _TEACHER_AND_OVERSIGHT,
        AlertKind.PRACTICE_REMOTE: _TEACHER_AND_OVERSIGHT,
        AlertKind.MARK_NOT_WRITTEN: _TEACHER_AND_CLASS_TEACHER,
        AlertKind.LESSON_CHANGED_AFTER_MARKS: (Audience.TEACHER, Audience.CLASS_TEACHER),
    }
)
"""Audience of each alert kind."""

POINTS: Mapping[AlertKind, tuple[str, ...]] = frozen_map(
    {
        AlertKind.UZDOTS_MISSING: ("16",),
        AlertKind.UZDOTS_LATE: ("16",),
        AlertKind.UZDOTS_INCOMPLETE: ("16",),
        AlertKind.TOPIC_MISSING: ("14.2",),
        AlertKind.ABSENCE: ("22", "32"),
        AlertKind.CHAT_NOT_REGISTERED: ("30",),
        AlertKind.UNMATCHED_PARTICIPANT: ("30",),
        AlertKind.EVIDENCE_MISSING: ("30",),  # 31 for an asynchronous lesson
        AlertKind.REMOVED_BY_TEACHER: ("19",),
        AlertKind.QUOTA_WARNING: ("7",),
        AlertKind.QUOTA_EXCEEDED: ("7",),
        AlertKind.PRACTICE_REMOTE: ("8",),
        AlertKind.MARK_NOT_WRITTEN: ("22", "32", "43"),
        AlertKind.LESSON_CHANGED_AFTER_MARKS: ("32", "33", "43"),
    }
)
"""Default kārtība points of each alert kind."""


def make_alert(
    kind: AlertKind,
    lesson_id: str | None,
    student_id: str | None = None,
    *,
    points: Iterable[str] | None = None,
    excused: bool | None = None,
    detail: Mapping[str, object] | None = None,
) -> Alert:
    """An alert routed by :data:`AUDIENCE`, citing :data:`POINTS` unless ``points`` is given.

    Args:
        kind: what happened.
        lesson_id: the lesson concerned, or None.
        student_id: the student concerned, or None.
        points: the points to cite instead of the kind's default ones.
        excused: for ``absence`` only: whether the "n" is excused.
        detail: numbers and ids the recipient needs (names only where a teacher must act).
    """
    return Alert(
        kind=kind,
        lesson_id=lesson_id,
        student_id=student_id,
        audience=AUDIENCE[kind],
        points=sort_points(POINTS[kind] if points is None else points),
        excused=excused,
        detail=frozen_map(detail),
    )
