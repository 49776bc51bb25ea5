"""Absence notices and technical problems: points 20, 28, 39, 41, 42, 43.

A student judged absent from the evidence is re-decided here by the notices that cover the
lesson's date. The rules are tried in order; the first that applies wins (the most favourable
to the student first):

1. technical problem, teacher contacted by the evaluation time — no mark (41 sync / 42 async);
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

from mappings.model import Agreement, Lesson, Notice, NoticeKind, Outcome, Verdict
from mappings.rules.verdicts import Judgement, amend, iso

EXCUSE_KINDS = frozenset({NoticeKind.ILLNESS, NoticeKind.OTHER})


def known_notices(notices: Iterable[Notice], now: dt.datetime) -> tuple[Notice, ...]:
    """Notices the school had received by ``now`` (later ones cannot have been known)."""
    return tuple(n for n in notices if n.received_at <= now)


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


def tech_problem_contacted(
    base: Verdict,
    lesson: Lesson,
    notices: Sequence[Notice],
    evaluation_at: dt.datetime,
    tech_point: str,
    due_extended: bool,
) -> Judgement | None:
    """Points 41 (sync) / 42 (async): the student reported a technical problem in time.

    A ``tech_problem`` notice received by the evaluation time means the student contacted
    the teacher and agreed a catch-up: absent, excused, and no "n". An agreed extended
    deadline that already moved the due time is judged by :func:`extended_deadline_missed`.
    """
    for notice in notices:
        if notice.kind is not NoticeKind.TECH_PROBLEM or notice.received_at > evaluation_at:
            continue
        if due_extended and is_extension(notice):
            continue
        return Judgement(
            amend(base, Outcome.ABSENT_EXCUSED, (tech_point,), "tech_problem_contacted",
                  _notice_detail(notice)),
            writes_mark=False,
        )
    return None


def told_before_start(
    base: Verdict,
    lesson: Lesson,
    notices: Sequence[Notice],
    evaluation_at: dt.datetime,
    tech_point: str,
    due_extended: bool,
) -> Judgement | None:
    """Points 20, 28: the class teacher was told before the lesson started — excused "n"."""
    for notice in notices:
        if notice.kind in EXCUSE_KINDS and notice.received_at < lesson.start:
            return Judgement(
                amend(base, Outcome.ABSENT_EXCUSED, (*base.points, "20", "28"),
                      "notice_before_start", _notice_detail(notice)),
                writes_mark=True,
            )
    return None


def extended_deadline_missed(
    base: Verdict,
    lesson: Lesson,
    notices: Sequence[Notice],
    evaluation_at: dt.datetime,
    tech_point: str,
    due_extended: bool,
) -> Judgement | None:
    """Point 42: a deadline was extended after a technical problem and still nothing came."""
    if not due_extended:
        return None
    for notice in notices:
        if is_extension(notice):
            return Judgement(
                amend(base, Outcome.ABSENT_UNEXCUSED, (*base.points, "42"),
                      "extended_due_missed", _notice_detail(notice)),
                writes_mark=True,
            )
    return None


def told_after_start(
    base: Verdict,
    lesson: Lesson,
    notices: Sequence[Notice],
    evaluation_at: dt.datetime,
    tech_point: str,
    due_extended: bool,
) -> Judgement | None:
    """Point 20: a notice that came after the lesson started does not excuse — unexcused "n"."""
    for notice in notices:
        if notice.kind in EXCUSE_KINDS:
            return Judgement(
                amend(base, Outcome.ABSENT_UNEXCUSED, (*base.points, "20"),
                      "notice_after_start", _notice_detail(notice)),
                writes_mark=True,
            )
    return None


def tech_problem_not_contacted(
    base: Verdict,
    lesson: Lesson,
    notices: Sequence[Notice],
    evaluation_at: dt.datetime,
    tech_point: str,
    due_extended: bool,
) -> Judgement | None:
    """Points 39, 43: technical problems without timely contact are no excuse — unexcused "n"."""
    for notice in notices:
        if notice.kind is NoticeKind.TECH_PROBLEM:
            return Judgement(
                amend(base, Outcome.ABSENT_UNEXCUSED, (*base.points, "39", "43"),
                      "tech_problem_late", _notice_detail(notice)),
                writes_mark=True,
            )
    return None


RULES: tuple[Rule, ...] = (
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
