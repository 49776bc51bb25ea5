"""Kārtības 8. punkts: no remote learning in qualification practice (kvalifikācijas prakse).

A remote lesson of a practice subject is a violation: it is never evaluated for attendance
and the teacher and oversight are alerted.
"""

from __future__ import annotations

from mappings.model import Alert, AlertKind, Lesson, School, SubjectKind
from mappings.rules.alerts import make_alert


def is_practice(lesson: Lesson, school: School) -> bool:
    """Point 8: the lesson belongs to a qualification-practice subject."""
    subject = school.subjects.get(lesson.subject_id)
    return subject is not None and subject.kind is SubjectKind.QUALIFICATION_PRACTICE


def practice_remote(lesson: Lesson, school: School) -> Alert | None:
    """Point 8: a qualification-practice lesson held remotely."""
    if not (lesson.is_remote and is_practice(lesson, school)):
        return None
    return make_alert(
        AlertKind.PRACTICE_REMOTE,
        lesson.id,
        detail={"group_id": lesson.group_id, "subject_id": lesson.subject_id,
                "date": lesson.date.isoformat()},
    )
