"""Kārtības 43. punkts and "the teacher's mark wins": kartiba never overwrites a person's mark.

Before an "n" is proposed, the journal marks already on the lesson are read:

- any mark by a person (any author other than kartiba's service account), a grade too, or
  any edit a person made to the student's mark in the lesson — set, changed or deleted,
  kartiba's own "n" included: a person's edit is a person's decision, so the "n" becomes a
  :class:`~mappings.model.Skip` (``manual_mark``), no alert, and kartiba never writes there
  again (the jobs do not list a skip where kartiba's own earlier "n" was decided on);
- a mark by kartiba itself: it was written in an earlier run — nothing new, no skip.
"""

from __future__ import annotations

from mappings.model import JournalMark, Lesson, Mark, Skip
from mappings.rules.verdicts import Judgement

MANUAL_MARK = "manual_mark"
"""The ``Skip.why`` of a mark not written because a person's mark is there."""


def marks_of(lesson: Lesson, student_id: str) -> tuple[JournalMark, ...]:
    """The journal marks the lesson holds for one student."""
    return tuple(m for m in lesson.marks if m.student_id == student_id)


def has_human_mark(lesson: Lesson, student_id: str, system_author: str) -> bool:
    """Point 43: a person already marked the student in this lesson."""
    return any(m.author_id != system_author for m in marks_of(lesson, student_id))


def person_decided(lesson: Lesson, student_id: str, system_author: str) -> bool:
    """Point 43, "the teacher's mark wins": a person's mark stands, or a person set, changed
    or deleted the student's mark in this lesson (the journal's ``markEdit`` records)."""
    edited = any(e.student_id == student_id and e.author_id != system_author
                 for e in lesson.mark_edits)
    return edited or has_human_mark(lesson, student_id, system_author)


def has_system_mark(lesson: Lesson, student_id: str, system_author: str) -> bool:
    """kartiba already wrote its mark for the student in this lesson."""
    return any(m.author_id == system_author for m in marks_of(lesson, student_id))


def write_or_skip(
    judgement: Judgement, lesson: Lesson, system_author: str
) -> tuple[Mark | None, Skip | None]:
    """Point 43: the mark to write, or the skip recorded instead, or neither.

    Args:
        judgement: the decision on one student.
        lesson: the lesson with the marks already in the journal.
        system_author: kartiba's own journal account id.

    Returns:
        ``(mark, None)`` to write an "n"; ``(None, skip)`` when a person decided there;
        ``(None, None)`` when no mark is due or kartiba wrote it already.
    """
    mark = judgement.mark()
    if mark is None:
        return None, None
    if person_decided(lesson, mark.student_id, system_author):
        return None, Skip(lesson_id=lesson.id, student_id=mark.student_id, why=MANUAL_MARK)
    if has_system_mark(lesson, mark.student_id, system_author):
        return None, None
    return mark, None
