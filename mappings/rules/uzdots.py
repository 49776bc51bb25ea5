"""Kārtības 16. punkts: the "UZDOTS" diary entry, one working day ahead, by 17:00.

When planning remote work the teacher informs students and parents in the e-klase diary
section "UZDOTS" at least one working day before the lesson, by 17:00 (Riga time): when the
online lesson happens, when the work is due, the link to the online lesson, and the expected
results and assessment criteria. Three alerts to the teacher follow from it: the entry is
missing, late, or incomplete (late and incomplete may both fire).
"""

from __future__ import annotations

import datetime as dt

from mappings.calendar import SchoolCalendar
from mappings.model import Alert, AlertKind, Lesson, UzdotsInfo
from mappings.policy import Policy
from mappings.rules.alerts import make_alert
from mappings.rules.verdicts import iso

LINK = "link"
DUE = "due"
CRITERIA = "criteria"


def uzdots_deadline(lesson: Lesson, calendar: SchoolCalendar, policy: Policy) -> dt.datetime:
    """Point 16: ``uzdots_deadline_time`` on the working day before the lesson day."""
    return calendar.uzdots_deadline(lesson.date, policy.uzdots_deadline_time)


def uzdots_missing(lesson: Lesson, deadline: dt.datetime) -> Alert | None:
    """Point 16: there is no UZDOTS entry for the lesson at all."""
    if lesson.uzdots is not None:
        return None
    return make_alert(AlertKind.UZDOTS_MISSING, lesson.id, detail={"deadline": iso(deadline)})


def uzdots_late(lesson: Lesson, deadline: dt.datetime) -> Alert | None:
    """Point 16: the entry was created after the deadline."""
    entry = lesson.uzdots
    if entry is None or entry.created_at <= deadline:
        return None
    return make_alert(
        AlertKind.UZDOTS_LATE,
        lesson.id,
        detail={"deadline": iso(deadline), "created_at": iso(entry.created_at)},
    )


def missing_parts(info: UzdotsInfo, synchronous: bool) -> tuple[str, ...]:
    """Point 16: what the entry lacks.

    A synchronous lesson needs a meeting link; every remote lesson needs a due date/time and
    assessment criteria (an attachment or a criteria word, see ``Policy.criteria_words``).

    Returns:
        A subset of ("link", "due", "criteria"), in that order.
    """
    lacks = []
    if synchronous and not info.meetings:
        lacks.append(LINK)
    if info.due is None:
        lacks.append(DUE)
    if not info.has_criteria:
        lacks.append(CRITERIA)
    return tuple(lacks)


def uzdots_incomplete(lesson: Lesson, info: UzdotsInfo, synchronous: bool) -> Alert | None:
    """Point 16: the entry lacks the link, the due time or the criteria."""
    if lesson.uzdots is None:
        return None
    lacks = missing_parts(info, synchronous)
    if not lacks:
        return None
    return make_alert(AlertKind.UZDOTS_INCOMPLETE, lesson.id, detail={"missing": lacks})
