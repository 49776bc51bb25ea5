"""``kartiba explain``: why the students of a lesson got their verdicts, with kārtība points.

With ``--date`` the lesson is judged again from live evidence (nothing is written) and every
detail is shown; without it the verdicts stored by the last run are printed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

from mappings.explain import explain_result, reason_text
from sync_jobs.settings import Settings
from sync_jobs.state import StateStore

OUTCOMES = {
    "present": ("piedalījās", "present"),
    "absent_excused": ("nav, attaisnots", "absent, excused"),
    "absent_unexcused": ("nav, neattaisnots", "absent, unexcused"),
    "not_yet_due": ("vēl nav vērtējams", "not yet due"),
    "not_evaluated": ("netiek vērtēts automātiski", "not evaluated automatically"),
}


def explain_lesson(settings: Settings, lesson_id: str, student_id: str | None, lang: str,
                   on: dt.date | None = None, now: dt.datetime | None = None) -> Iterator[str]:
    """Lines explaining one lesson (or one student in it)."""
    if on is not None:
        yield from _live(settings, lesson_id, student_id, lang, on, now)
        return
    with StateStore.open(settings.state.path) as store:
        rows = store.verdicts(lesson_id)
    if not rows:
        yield (f"{lesson_id}: kartiba vēl nav vērtējusi šo stundu (norādiet --date, lai "
               "izvērtētu tagad)" if lang == "lv" else
               f"{lesson_id}: kartiba has not judged this lesson yet (give --date to judge now)")
        return
    i = 0 if lang == "lv" else 1
    head = rows[0]
    state = ("galīgs" if head["final"] else "vēl mainās") if i == 0 else (
        "final" if head["final"] else "may still change")
    yield f"{lesson_id} ({head['evaluated_at']:%d.%m.%Y %H:%M}, {state})"
    for row in rows:
        if student_id and row["student_id"] != student_id:
            continue
        outcome = OUTCOMES.get(row["outcome"], (row["outcome"],) * 2)[i]
        why = reason_text(row["reason"], row["points"], lang)
        yield f"  {row['student_id']}: {outcome} — {why}"


def _live(settings, lesson_id, student_id, lang, on, now) -> Iterator[str]:
    from mappings.calendar import SchoolCalendar
    from mappings.evaluate import lesson_info
    from sync_jobs import wiring
    from sync_jobs.clock import read_clock
    from sync_jobs.context import RunContext
    from sync_jobs.jobs.attendance import (
        AttendanceJob,
        Candidate,
        _notices_by_student,
        _Rosters,
    )

    now = now or read_clock()
    with StateStore.open(settings.state.path) as store:
        policy = settings.policy_obj
        ctx = RunContext(settings=settings, policy=policy,
                         calendar=SchoolCalendar(policy.non_teaching_days), store=store,
                         now=now, run_id="explain", journal=wiring.journal(settings),
                         dry_run=True)
        ctx.meetings = wiring.meeting_sources(settings, webhooks=store, now=now)
        ctx.activities = wiring.activity_sources(settings, ledger=store)
        lessons = ctx.read_lessons(on, on)
        lesson = next((x for x in lessons if x.id == lesson_id), None)
        if lesson is None:
            yield f"{lesson_id}: no such lesson on {on.isoformat()}"
            return
        school = ctx.school()
        job = AttendanceJob()
        by_student = _notices_by_student(job.read_notices(ctx, on, on))
        cand = Candidate(lesson, lesson_info(lesson, policy))
        results = list(job.judge(ctx, [cand], lessons, by_student, _Rosters(school)))
        if not results:
            yield f"{lesson_id}: the platform has no report yet; try after the lesson ended"
            return
        result = results[0]
        if student_id is not None:
            result = replace(
                result,
                verdicts=tuple(v for v in result.verdicts if v.student_id == student_id),
                skips=tuple(s for s in result.skips if s.student_id == student_id),
                alerts=tuple(a for a in result.alerts if a.student_id in (None, student_id)))
        yield from explain_result(result, lesson, school, lang)
