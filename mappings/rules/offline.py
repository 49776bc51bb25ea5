"""Kārtības 14.5. punkts: students without internet or devices work on worksheets.

Such a student (flagged "offline mode" by the class teacher, point 23) is judged on worksheet
hand-in by the teachers, never from platform silence: no automatic verdict, no "n".
"""

from __future__ import annotations

from mappings.model import Lesson, Student, Verdict
from mappings.rules.verdicts import not_evaluated


def works_offline(student: Student) -> bool:
    """Point 14.5: the student is in offline mode (worksheets instead of platforms)."""
    return student.offline_mode


def offline_verdict(lesson: Lesson, student: Student) -> Verdict:
    """Point 14.5: not evaluated from the platforms; the worksheet decides."""
    return not_evaluated(lesson, student.id, "14.5", "offline_mode")
