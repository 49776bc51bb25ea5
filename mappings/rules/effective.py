"""Kārtības 47. punkts: the procedure is in force from 2023-03-01."""

from __future__ import annotations

import datetime as dt

from mappings.model import Lesson
from mappings.policy import Policy


def in_force(day: dt.date, policy: Policy) -> bool:
    """Point 47: the procedure applies to lessons on or after ``policy.effective_from``.

    Args:
        day: the lesson's (Riga) date.
        policy: the school's policy.

    Returns:
        True when a lesson on ``day`` is judged by the procedure at all.
    """
    return day >= policy.effective_from


def lesson_in_force(lesson: Lesson, policy: Policy) -> bool:
    """Point 47 for one lesson: see :func:`in_force`."""
    return in_force(lesson.date, policy)
