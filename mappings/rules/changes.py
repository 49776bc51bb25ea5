"""A lesson that changed after kartiba wrote "n" on it: points 43, 33, 32.

The journal changes while the school works: a lesson is cancelled, moved or turned in-person
after kartiba judged it and wrote "n" (point 43). kartiba never deletes or changes what it
wrote — the subject teacher, who is responsible for the lesson (point 33), and the class
teachers, who follow absences (point 32), decide. They are told once
(``lesson_changed_after_marks``); every alert goes through the ledger.
"""

from __future__ import annotations

import datetime as dt

from mappings.model import Alert, AlertKind, JournalMark, Lesson
from mappings.rules.alerts import make_alert
from mappings.rules.verdicts import iso

CANCELLED = "cancelled"
IN_PERSON = "in_person"
CHANGED = "changed"


def own_marks(lesson: Lesson, system_author: str) -> tuple[JournalMark, ...]:
    """The marks kartiba wrote that still stand in the lesson."""
    return tuple(m for m in lesson.marks if m.author_id == system_author)


def change_after(lesson: Lesson, since: dt.datetime | None) -> str | None:
    """How the lesson changed after ``since``: cancelled, in person, or its time or mode.

    Returns:
        ``"cancelled"``, ``"in_person"``, ``"changed"`` (time or lessonType modified after
        ``since``), or None when the lesson still reads as it did.
    """
    if lesson.cancelled:
        return CANCELLED
    if not lesson.mode.is_remote:
        return IN_PERSON
    if since is not None and lesson.modified_at is not None and lesson.modified_at > since:
        return CHANGED
    return None


def lesson_changed_after_marks(lesson: Lesson, system_author: str) -> Alert | None:
    """Point 43 (with 32, 33): kartiba's "n" stands on a lesson that was later changed.

    kartiba never deletes: the subject teacher and the class teachers of the students marked
    are told, once, so a person can decide.

    Args:
        lesson: the lesson as the journal shows it now.
        system_author: kartiba's journal account.

    Returns:
        The alert, or None when kartiba has no mark standing there or nothing changed since.
    """
    ours = own_marks(lesson, system_author)
    if not ours:
        return None
    written = [m.entered_at for m in ours if m.entered_at is not None]
    how = change_after(lesson, min(written) if written else None)
    if how is None:
        return None
    return make_alert(
        AlertKind.LESSON_CHANGED_AFTER_MARKS,
        lesson.id,
        detail={
            "change": how,
            "modified_at": iso(lesson.modified_at),
            "marked_students": tuple(sorted({m.student_id for m in ours})),
        },
    )
