"""Asynchronous lessons: points 31, 35 and 42.

Point 31: the lesson counts as missed when the student did not engage and did not act per the
teacher's instructions — read as: no activity (submission, finished attempt, completion,
imported result) on a linked platform by the due time. Point 35: self-paced work may be done
at another time within the teacher's deadline, so nothing is judged before the due time
(plus ``policy.async_evaluate_after_minutes``). Point 42: a deadline extended after a technical
problem moves the student's due time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mappings.calendar import local
from mappings.identity import RosterIndex, match_person
from mappings.model import (
    ActivityEvidence,
    ActivityRecord,
    Lesson,
    Notice,
    Outcome,
    Student,
    UzdotsInfo,
    Verdict,
)
from mappings.policy import Policy
from mappings.rules.notices import extended_due
from mappings.rules.verdicts import iso, not_evaluated, verdict

BASE_POINT = "31"


def lesson_due(lesson: Lesson, info: UzdotsInfo, policy: Policy) -> dt.datetime:
    """Points 31, 35: the due time from UZDOTS, else ``async_default_due_time`` that day."""
    if info.due is not None:
        return info.due
    return local(lesson.date, policy.async_default_due_time)


def student_due(
    lesson: Lesson,
    info: UzdotsInfo,
    policy: Policy,
    notices: Iterable[Notice] = (),
    student_id: str | None = None,
) -> dt.datetime:
    """Point 42: the student's due time — an agreed extended deadline replaces the lesson's."""
    if student_id is not None:
        extended = extended_due(notices, student_id, lesson.date)
        if extended is not None:
            return extended
    return lesson_due(lesson, info, policy)


def async_evaluation_time(due: dt.datetime, policy: Policy) -> dt.datetime:
    """Point 35: an asynchronous lesson is judged ``async_evaluate_after_minutes`` after due."""
    return due + dt.timedelta(minutes=policy.async_evaluate_after_minutes)


@dataclass(frozen=True, slots=True)
class Engagement:
    """Who did what on the linked platforms.

    Attributes:
        times: student id -> instants of their activity records, sorted.
        ambiguous: student id -> number of records that could be them or a namesake.
    """

    times: Mapping[str, tuple[dt.datetime, ...]]
    ambiguous: Mapping[str, int]

    def first_by(self, student_id: str, due: dt.datetime) -> dt.datetime | None:
        """Point 31: the student's first activity at or before ``due``, or None."""
        return next((t for t in self.times.get(student_id, ()) if t <= due), None)


def engagement(
    evidence: Iterable[ActivityEvidence],
    roster: Sequence[Student],
    policy: Policy,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> Engagement:
    """Attribute every activity record of the found evidence to roster students.

    A record names its student directly (``student_id``) or is matched by name and e-mail
    like meeting participants; a record that fits several namesakes is attributed to none and
    counted as ambiguous for each candidate. Records of students outside the roster are
    ignored.
    """
    ids = {s.id for s in roster}
    index = RosterIndex(roster, aliases)
    times: dict[str, list[dt.datetime]] = {}
    ambiguous: dict[str, int] = {}
    for ev in evidence:
        if not ev.found:
            continue
        for record in ev.records:
            owners = record_owners(record, index, policy)
            if len(owners) == 1 and owners[0] in ids:
                times.setdefault(owners[0], []).append(record.at)
            elif len(owners) > 1:
                for owner in owners:
                    ambiguous[owner] = ambiguous.get(owner, 0) + 1
    return Engagement(
        times={sid: tuple(sorted(ts)) for sid, ts in times.items()},
        ambiguous=ambiguous,
    )


def record_owners(
    record: ActivityRecord, index: RosterIndex, policy: Policy
) -> tuple[str, ...]:
    """The candidate students of one activity record (0 none, 1 matched, >1 namesakes)."""
    if record.student_id:
        return (record.student_id,)
    if not (record.name or record.email):
        return ()
    return match_person(record.name, record.email, index, policy)


def activity_verdict(
    lesson: Lesson, student_id: str, engaged: Engagement, due: dt.datetime
) -> Verdict:
    """Point 31: present with an activity by the due time, else absent (unexcused)."""
    first = engaged.first_by(student_id, due)
    detail = {"due": iso(due), "activity_at": iso(first)}
    if first is not None:
        return verdict(lesson, student_id, Outcome.PRESENT, (BASE_POINT,), "activity", detail)
    later = engaged.times.get(student_id, ())
    if later:
        detail["late_activity_at"] = iso(later[0])
    return verdict(
        lesson, student_id, Outcome.ABSENT_UNEXCUSED, (BASE_POINT,), "no_activity", detail
    )


def ambiguous_verdict(lesson: Lesson, student_id: str, records: int) -> Verdict:
    """Point 31 + "never guess": a record that could be a namesake — no automatic verdict."""
    return not_evaluated(
        lesson, student_id, BASE_POINT, "ambiguous_identity", {"records": records}
    )
