"""Absence notices and technical problems: points 20, 28, 39, 41, 42, 43.

A student judged absent from the evidence is re-decided here by the notices that cover the
lesson's date. The rules are tried in order; the first that applies wins (the most favourable
to the student first):

1. asynchronous: technical problem with an agreed solution (a catch-up, or an extended
   deadline that did not move the due time) known at the run that judges — no mark (42);
   technical problem, teacher contacted by the evaluation time — no mark (41 sync / 42 async);
2. illness/other notice received before the lesson started — "n", excused (20, 28);
3. extended deadline agreed, still nothing by it — "n", unexcused (base, 42);
4. illness/other notice received after the lesson started — "n", unexcused (20);
5. technical problem reported after the evaluation time — "n", unexcused (39, 43);
6. no notice — "n", unexcused (base point).

A present student is never re-decided by a notice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mappings.model import Agreement, Lesson, Notice, NoticeKind, Outcome, Verdict
from mappings.rules.verdicts import Judgement, amend, iso

EXCUSE_KINDS = frozenset({NoticeKind.ILLNESS, NoticeKind.OTHER})
ASYNC_TECH_POINT = "42"
"""The ``tech_point`` of an asynchronous lesson (point 42; synchronous lessons cite 41)."""


def known_notices(notices: Iterable[Notice], now: dt.datetime) -> tuple[Notice, ...]:
    """Notices the school had received by ``now`` and that stand (later ones cannot have been
    known; withdrawn ones no longer count, see :func:`withdrawn`)."""
    return tuple(n for n in notices if n.received_at <= now and not withdrawn(n, now))


def withdrawn(notice: Notice, now: dt.datetime) -> bool:
    """Points 20, 28, 42: a notice withdrawn by ``now`` excuses nothing not yet judged.

    The notice was cancelled (the illness did not happen, the agreement was revoked): from its
    withdrawal on it neither excuses an absence nor moves a due time. What kartiba already
    wrote on an earlier run stays; a person decides about it.
    """
    return notice.withdrawn_at is not None and notice.withdrawn_at <= now


def covering(notices: Iterable[Notice], student_id: str, day: dt.date) -> tuple[Notice, ...]:
    """Notices about ``student_id`` whose date range covers ``day``, oldest first."""
    found = (n for n in notices if n.student_id == student_id and n.covers(day))
    return tuple(sorted(found, key=lambda n: (n.received_at, n.id)))


def extended_due(notices: Iterable[Notice], student_id: str, day: dt.date) -> dt.datetime | None:
    """Point 42: the latest deadline agreed with the teacher after a technical problem.

    Returns:
        The ``new_due`` of the student's ``extended_deadline`` notices covering ``day``,
        or None when there is none.
    """
    dues = [n.new_due for n in covering(notices, student_id, day) if is_extension(n)]
    return max(dues) if dues else None


def is_extension(notice: Notice) -> bool:
    """Point 42: a technical problem settled by an extended deadline."""
    return (
        notice.kind is NoticeKind.TECH_PROBLEM
        and notice.agreement is Agreement.EXTENDED_DEADLINE
        and notice.new_due is not None
    )


# --------------------------------------------------------------------------- the rules


Rule = Callable[[Verdict, Lesson, Sequence[Notice], dt.datetime, str, bool], "Judgement | None"]


@dataclass(frozen=True, slots=True)
class NoticeCase:
    """One absence being re-decided: what a notice rule looks at besides the notice.

    Attributes:
        base: the absent verdict from the evidence (points 30 or 31).
        lesson: the lesson.
        evaluation_at: the student's evaluation time.
        tech_point: "41" for a synchronous lesson, "42" for an asynchronous one.
        due_extended: True when an agreed extended deadline already moved the due time.
    """

    base: Verdict
    lesson: Lesson
    evaluation_at: dt.datetime
    tech_point: str
    due_extended: bool


@dataclass(frozen=True, slots=True)
class NoticeRule:
    """One rule of :data:`RULES`: the first notice it accepts re-decides the absence.

    A rule is called like any :data:`Rule` and returns None when no notice fits.

    Attributes:
        reason: the reason of the new verdict.
        outcome: its outcome.
        accepts: whether a notice decides the case.
        points: the points the new verdict cites.
        writes_mark: whether an "n" follows.
    """

    reason: str
    outcome: Outcome
    accepts: Callable[[Notice, NoticeCase], bool]
    points: Callable[[NoticeCase], Iterable[str]]
    writes_mark: bool = True

    def __call__(self, base: Verdict, lesson: Lesson, notices: Sequence[Notice],
                 evaluation_at: dt.datetime, tech_point: str,
                 due_extended: bool) -> Judgement | None:
        case = NoticeCase(base, lesson, evaluation_at, tech_point, due_extended)
        for notice in notices:
            if self.accepts(notice, case):
                verdict = amend(base, self.outcome, self.points(case), self.reason,
                                _notice_detail(notice))
                return Judgement(verdict, writes_mark=self.writes_mark)
        return None


def _base_and(*points: str) -> Callable[[NoticeCase], tuple[str, ...]]:
    """The base verdict's points and ``points``."""
    return lambda case: (*case.base.points, *points)


def _solution_agreed(notice: Notice, case: NoticeCase) -> bool:
    """Asynchronous: a technical problem settled by an agreed solution known when judging.

    An extended deadline that already moved the due time is judged by
    :data:`extended_deadline_missed` instead.
    """
    return (
        case.tech_point == ASYNC_TECH_POINT
        and notice.kind is NoticeKind.TECH_PROBLEM
        and notice.agreement is not None
        and not (case.due_extended and is_extension(notice))
    )


def _contacted_in_time(notice: Notice, case: NoticeCase) -> bool:
    """A technical problem reported by the evaluation time, not already judged as an
    extended deadline."""
    return (
        notice.kind is NoticeKind.TECH_PROBLEM
        and notice.received_at <= case.evaluation_at
        and not (case.due_extended and is_extension(notice))
    )


tech_problem_solution_agreed = NoticeRule(
    "tech_problem_agreed", Outcome.ABSENT_EXCUSED, _solution_agreed,
    points=lambda case: (ASYNC_TECH_POINT,), writes_mark=False)
"""Point 42: asynchronous work, the student and teacher agreed a solution — no "n".

Point 42 lists the solutions as equals ("tehnikuma tehnisko līdzekļu izmantošana, pielāgots
uzdevums, pagarināts uzdevuma iesniegšanas termiņš u.c."): a ``tech_problem`` notice with
``catch_up`` counts exactly like one with ``extended_deadline`` — whenever it is known at the run
that judges the lesson, not only by the evaluation time. Synchronous lessons keep point 41's
"nekavējoties" (:data:`tech_problem_contacted`).
"""

tech_problem_contacted = NoticeRule(
    "tech_problem_contacted", Outcome.ABSENT_EXCUSED, _contacted_in_time,
    points=lambda case: (case.tech_point,), writes_mark=False)
"""Points 41 (sync) / 42 (async): the student reported a technical problem in time.

A ``tech_problem`` notice received by the evaluation time means the student contacted the
teacher and agreed a catch-up: absent, excused, and no "n". An agreed extended deadline that
already moved the due time is judged by :data:`extended_deadline_missed`.
"""

told_before_start = NoticeRule(
    "notice_before_start", Outcome.ABSENT_EXCUSED,
    lambda notice, case: notice.kind in EXCUSE_KINDS and notice.received_at < case.lesson.start,
    points=_base_and("20", "28"))
"""Points 20, 28: the class teacher was told before the lesson started — excused "n"."""

extended_deadline_missed = NoticeRule(
    "extended_due_missed", Outcome.ABSENT_UNEXCUSED,
    lambda notice, case: case.due_extended and is_extension(notice),
    points=_base_and("42"))
"""Point 42: a deadline was extended after a technical problem and still nothing came."""

told_after_start = NoticeRule(
    "notice_after_start", Outcome.ABSENT_UNEXCUSED,
    lambda notice, case: notice.kind in EXCUSE_KINDS,
    points=_base_and("20"))
"""Point 20: a notice that came after the lesson started does not excuse — unexcused "n"."""

tech_problem_not_contacted = NoticeRule(
    "tech_problem_late", Outcome.ABSENT_UNEXCUSED,
    lambda notice, case: notice.kind is NoticeKind.TECH_PROBLEM,
    points=_base_and("39", "43"))
"""Points 39, 43: technical problems without timely contact are no excuse — unexcused "n"."""


RULES: tuple[Rule, ...] = (
    tech_problem_solution_agreed,
    tech_problem_contacted,
    told_before_start,
    extended_deadline_missed,
    told_after_start,
    tech_problem_not_contacted,
)
"""The notice rules in the order they are tried."""


def rule_absence(
    base: Verdict,
    lesson: Lesson,
    notices: Iterable[Notice],
    evaluation_at: dt.datetime,
    *,
    tech_point: str,
    due_extended: bool = False,
) -> Judgement:
    """Re-decide an absence by the notices covering the lesson (points 20, 28, 39, 41–43).

    Args:
        base: the absent verdict from the evidence (points 30 or 31).
        lesson: the lesson.
        notices: notices known at the time of judging (any student, any day).
        evaluation_at: the student's evaluation time; a technical problem reported by then
            counts as contacting the teacher.
        tech_point: "41" for a synchronous lesson, "42" for an asynchronous one.
        due_extended: True when an agreed extended deadline already moved the due time.

    Returns:
        The final judgement; with no applicable notice, ``base`` as an unexcused "n".
    """
    mine = covering(notices, base.student_id, lesson.date)
    for rule in RULES:
        judgement = rule(base, lesson, mine, evaluation_at, tech_point, due_extended)
        if judgement is not None:
            return judgement
    return Judgement(base, writes_mark=True)


def _notice_detail(notice: Notice) -> dict[str, object]:
    detail: dict[str, object] = {
        "notice_id": notice.id,
        "notice_kind": notice.kind.value,
        "notice_received_at": iso(notice.received_at),
    }
    if notice.new_due is not None:
        detail["new_due"] = iso(notice.new_due)
    return detail
