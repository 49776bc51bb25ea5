"""Kārtības 7. punkts: remote learning is at most 20 % of the planned hours per school year.

Counted per group × subject (module, course) over every lesson of the school year in the
journal, past and planned, 1 lesson = 1 hour. The share is remote hours / planned hours from
``Subject.planned_hours``; a subject without planned hours for the group is not checked.
Above ``quota_max_share`` the teacher and oversight get ``quota_exceeded``; from
``quota_warn_share`` on, ``quota_warning``. The alert names the lesson at which the running
count (in date, number order) first reaches the threshold. Point 7 limits modules and
subjects (courses) only: class hours are held online by design (point 13) and qualification
practice is point 8's business, so both are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mappings.model import Alert, AlertKind, Lesson, School
from mappings.policy import Policy
from mappings.rules.alerts import make_alert
from mappings.rules.practice import is_practice
from mappings.rules.sync import is_class_hour


@dataclass(frozen=True, slots=True)
class Tally:
    """The remote lessons of one group × subject in a school year, in (date, number) order."""

    group_id: str
    subject_id: str
    planned: int
    remote: tuple[Lesson, ...]

    @property
    def share(self) -> float:
        """Remote hours / planned hours."""
        return len(self.remote) / self.planned


def counts_for_quota(lesson: Lesson, school: School) -> bool:
    """Points 7, 13: a remote lesson of a module or subject counts toward the 20 % quota.

    Point 7 limits remote learning "moduļos, mācību priekšmetos (kursos)"; class hours are
    held online by design (point 13, "Audzināšanas stundas notiek tiešsaistē") and remote
    qualification practice is point 8's alert, so neither is counted.
    """
    return (lesson.is_remote and not is_class_hour(lesson, school)
            and not is_practice(lesson, school))


def tallies(lessons: Iterable[Lesson], school: School) -> tuple[Tally, ...]:
    """Point 7: remote lessons per group × subject with planned hours (see counts_for_quota).

    Args:
        lessons: the school year's lessons in (date, number) order.
        school: the school (subjects with their planned hours).
    """
    remote: dict[tuple[str, str], list[Lesson]] = {}
    for lesson in lessons:
        if counts_for_quota(lesson, school):
            remote.setdefault((lesson.group_id, lesson.subject_id), []).append(lesson)
    result = []
    for (group_id, subject_id), counted in sorted(remote.items()):
        planned = planned_hours(school, group_id, subject_id)
        if planned > 0:
            result.append(Tally(group_id, subject_id, planned, tuple(counted)))
    return tuple(result)


def planned_hours(school: School, group_id: str, subject_id: str) -> int:
    """Point 7: the planned lesson hours of a subject for a group this year (0 = unknown)."""
    subject = school.subjects.get(subject_id)
    return 0 if subject is None else int(subject.planned_hours.get(group_id, 0) or 0)


def quota_exceeded(tally: Tally, policy: Policy) -> Alert | None:
    """Point 7: the remote share is above ``quota_max_share``."""
    if not tally.share > policy.quota_max_share:
        return None
    crossing = _crossing(tally, lambda count: count / tally.planned > policy.quota_max_share)
    return _quota_alert(AlertKind.QUOTA_EXCEEDED, tally, crossing, policy.quota_max_share)


def quota_warning(tally: Tally, policy: Policy) -> Alert | None:
    """Point 7: the remote share reached ``quota_warn_share`` (and is not above the maximum)."""
    if tally.share > policy.quota_max_share or not tally.share >= policy.quota_warn_share:
        return None
    crossing = _crossing(tally, lambda count: count / tally.planned >= policy.quota_warn_share)
    return _quota_alert(AlertKind.QUOTA_WARNING, tally, crossing, policy.quota_warn_share)


def _crossing(tally: Tally, over: Callable[[int], bool]) -> tuple[Lesson, int]:
    """The lesson (and running count) at which ``over(count)`` first holds."""
    for count, lesson in enumerate(tally.remote, start=1):
        if over(count):
            return lesson, count
    raise ValueError("threshold never crossed")  # callers check the total first


def _quota_alert(
    kind: AlertKind, tally: Tally, crossing: tuple[Lesson, int], threshold: float
) -> Alert:
    lesson, count = crossing
    return make_alert(
        kind,
        lesson.id,
        detail={
            "group_id": tally.group_id,
            "subject_id": tally.subject_id,
            "remote_hours": len(tally.remote),
            "planned_hours": tally.planned,
            "share": round(tally.share, 4),
            "threshold": threshold,
            "remote_hours_at_lesson": count,
        },
    )


def quota_alerts(lessons: Sequence[Lesson], school: School, policy: Policy) -> tuple[Alert, ...]:
    """Point 7: at most one quota alert per group × subject."""
    found = []
    for tally in tallies(lessons, school):
        alert = quota_exceeded(tally, policy) or quota_warning(tally, policy)
        if alert is not None:
            found.append(alert)
    return tuple(found)
