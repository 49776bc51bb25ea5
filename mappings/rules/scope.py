"""Which lessons a check looks at: the school year (points 7, 8) and recent days (14.2, 16).

The jobs pass whatever the journal holds; these helpers pick the lessons a rule is about, so
the rules themselves stay short. Lessons before the procedure was in force (point 47) are
never in scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from mappings.calendar import school_year, to_riga
from mappings.model import Lesson
from mappings.policy import Policy
from mappings.rules.effective import lesson_in_force


def riga_today(now: dt.datetime) -> dt.date:
    """The Riga calendar date of the instant ``now``."""
    return to_riga(now).date()


def remote_in_force(lesson: Lesson, policy: Policy) -> bool:
    """A remote lesson the procedure applies to (points 2, 47)."""
    return lesson.is_remote and lesson_in_force(lesson, policy)


def in_school_year(
    lessons: Iterable[Lesson], now: dt.datetime, policy: Policy
) -> tuple[Lesson, ...]:
    """Lessons of the school year (1 Sep – 31 Aug) that contains ``now``, in force (7, 8, 47).

    Returns:
        The lessons, ordered by (date, number, id).
    """
    first, last = school_year(riga_today(now))
    chosen = (
        lesson
        for lesson in lessons
        if first <= lesson.date <= last and lesson_in_force(lesson, policy)
    )
    return tuple(sorted(chosen, key=lambda lesson: (lesson.date, lesson.number, lesson.id)))


def within_check_days(lesson: Lesson, now: dt.datetime, days: int) -> bool:
    """The lesson is dated at most ``days`` days before the Riga date of ``now`` (14.2, 16)."""
    return lesson.date >= riga_today(now) - dt.timedelta(days=days)
