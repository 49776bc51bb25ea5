"""``kartiba explain``: why the students of a lesson got their verdicts, with kārtība points.

The lesson is looked up in the journal (the last ``SEARCH_DAYS`` days, or ``--date``), judged
again from live evidence (nothing is written) so the minutes connected, due times and notices
behind each verdict are shown, and the verdicts the last run stored are printed beside it. An
unknown lesson or a student not in the lesson's group is an error (in the school's language).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from mappings.calendar import to_riga
from mappings.explain import explain_result, lesson_heading, reason_text, uzdots_line
from sync_jobs.settings import Settings
from sync_jobs.state import StateStore

#: days back from today searched for a lesson given without ``--date``
SEARCH_DAYS = 14

OUTCOMES = {
    "present": ("piedalījās", "present"),
    "absent_excused": ("nav, attaisnots", "absent, excused"),
    "absent_unexcused": ("nav, neattaisnots", "absent, unexcused"),
    "not_yet_due": ("vēl nav vērtējams", "not yet due"),
    "not_evaluated": ("netiek vērtēts automātiski", "not evaluated automatically"),
}


class ExplainError(ValueError):
    """An unknown lesson or student (the message is in the requested language)."""


@dataclass
class ExplainReport:
    """The lines ``explain`` prints and the same facts for ``--json``."""

    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return self.data


def _t(lang: str, lv: str, en: str) -> str:
    return lv if lang == "lv" else en


def explain_lesson(settings: Settings, lesson_id: str, student_id: str | None, lang: str,
                   on: dt.date | None = None, now: dt.datetime | None = None) -> ExplainReport:
    """Explain one lesson (or one student in it).

    Args:
        settings: the application settings.
        lesson_id: e-klase lesson id.
        student_id: one student, or None for all.
        lang: ``"lv"`` or ``"en"``.
        on: the lesson's date; None = search the last ``SEARCH_DAYS`` days.
        now: judge as at this instant (default: now).

    Raises:
        ExplainError: the lesson is not in the journal, or the student not in its group.
    """
    from sync_jobs.clock import read_clock

    now = now or read_clock()
    with StateStore.open(settings.state.path) as store:
        stored = store.verdicts(lesson_id)
        ctx = _context(settings, store, now)
        lesson, lessons = _find_lesson(ctx, lesson_id, stored, on, lang)
        school = ctx.school()
        _check_student(school, lesson, stored, student_id, lang)
        report = ExplainReport()
        report.data = {"lesson": lesson_id, "date": lesson.date.isoformat(),
                       "start": to_riga(lesson.start).isoformat(),
                       "end": to_riga(lesson.end).isoformat(), "student": student_id}
        report.lines.append(lesson_heading(lesson, school, lang) + " — " +
                            _t(lang, "Rīgas laiks", "Riga time"))
        report.lines.append(uzdots_line(lesson, lang))  # point 16: the entry, its last change
        report.data["uzdots_modified_at"] = (
            to_riga(lesson.uzdots.modified_at).isoformat()
            if lesson.uzdots is not None and lesson.uzdots.modified_at is not None else None)
        report.lines.extend(_stored_lines(stored, student_id, lang, report.data))
        report.lines.extend(_live_lines(ctx, lesson, lessons, student_id, lang, report.data))
    return report


def _context(settings: Settings, store: StateStore, now: dt.datetime):
    from mappings.calendar import SchoolCalendar
    from sync_jobs import wiring
    from sync_jobs.context import RunContext

    policy = settings.policy_obj
    ctx = RunContext(settings=settings, policy=policy,
                     calendar=SchoolCalendar(policy.non_teaching_days), store=store, now=now,
                     run_id="explain", journal=wiring.journal(settings), dry_run=True)
    ctx.meetings = wiring.meeting_sources(settings, webhooks=store, now=now)
    ctx.activities = wiring.activity_sources(settings, ledger=store)
    return ctx


def _find_lesson(ctx, lesson_id: str, stored: list[dict], on: dt.date | None, lang: str):
    if on is not None:
        first = last = on
    else:
        last = to_riga(stored[0]["evaluated_at"]).date() if stored else to_riga(ctx.now).date()
        first = last - dt.timedelta(days=SEARCH_DAYS)
    lessons = ctx.read_lessons(first, last)
    lesson = next((x for x in lessons if x.id == lesson_id), None)
    if lesson is None:
        raise ExplainError(_t(
            lang,
            f"nezināma stunda {lesson_id}: e-klases žurnālā tādas nav no {first:%d.%m.%Y} līdz "
            f"{last:%d.%m.%Y} (vecākai stundai norādiet --date)",
            f"unknown lesson {lesson_id}: the journal has no such lesson from {first} to {last} "
            "(give --date for an older lesson)"))
    return lesson, lessons


def _check_student(school, lesson, stored: list[dict], student_id: str | None,
                   lang: str) -> None:
    if student_id is None:
        return
    known = {s.id for s in school.roster(lesson.group_id)} | {r["student_id"] for r in stored}
    if student_id not in known:
        raise ExplainError(_t(
            lang, f"nezināms audzēknis {student_id}: nav stundas {lesson.id} grupā",
            f"unknown student {student_id}: not in the group of lesson {lesson.id}"))


def _stored_lines(stored: list[dict], student_id: str | None, lang: str,
                  data: dict[str, Any]) -> Iterator[str]:
    i = 0 if lang == "lv" else 1
    rows = [r for r in stored if not student_id or r["student_id"] == student_id]
    data["stored"] = [{"student": r["student_id"], "outcome": r["outcome"],
                       "points": list(r["points"]), "reason": r["reason"],
                       "final": r["final"], "evaluated_at": r["evaluated_at"].isoformat()}
                      for r in rows]
    if not stored:
        yield _t(lang, "kartiba vēl nav vērtējusi šo stundu (ne viens palaidiens)",
                 "kartiba has not judged this lesson yet (no run has)")
        return
    head = stored[0]
    state = (("galīgs", "final") if head["final"] else ("vēl mainās", "may still change"))[i]
    yield _t(lang, f"Saglabātais vērtējums ({to_riga(head['evaluated_at']):%d.%m.%Y %H:%M}, "
             f"{state}):", f"Stored verdicts ({to_riga(head['evaluated_at']):%Y-%m-%d %H:%M} "
             f"Riga, {state}):")
    for row in rows:
        outcome = OUTCOMES.get(row["outcome"], (row["outcome"],) * 2)[i]
        why = reason_text(row["reason"], row["points"], lang)
        yield f"  {row['student_id']}: {outcome} — {why}"


def _live_lines(ctx, lesson, lessons, student_id: str | None, lang: str,
                data: dict[str, Any]) -> Iterator[str]:
    from mappings.evaluate import lesson_info
    from sync_jobs.jobs.attendance import AttendanceJob, Candidate, _notices_by_student, _Rosters

    school = ctx.school()
    job = AttendanceJob()
    by_student = _notices_by_student(job.read_notices(ctx, lesson.date, lesson.date))
    cand = Candidate(lesson, lesson_info(lesson, ctx.policy))
    results = list(job.judge(ctx, [cand], lessons, by_student, _Rosters(school)))
    if not results:
        data["live"] = None
        yield _t(lang, "Platformas atskaite vēl nav pieejama; mēģiniet pēc stundas beigām.",
                 "The platform has no report yet; try after the lesson ended.")
        return
    result = results[0]
    if student_id is not None:
        result = replace(
            result,
            verdicts=tuple(v for v in result.verdicts if v.student_id == student_id),
            skips=tuple(s for s in result.skips if s.student_id == student_id),
            alerts=tuple(a for a in result.alerts if a.student_id in (None, student_id)))
    data["live"] = [{"student": v.student_id, "outcome": str(v.outcome),
                     "points": list(v.points), "reason": v.reason,
                     "detail": _plain_detail(v.detail)}
                    for v in result.verdicts]
    yield _t(lang, f"Izvērtējums tagad ({to_riga(ctx.now):%d.%m.%Y %H:%M}), pēc pierādījumiem:",
             f"Judged now ({to_riga(ctx.now):%Y-%m-%d %H:%M} Riga) from the evidence:")
    yield from explain_result(result, lesson, school, lang)[1:]


def _plain_detail(detail) -> dict[str, Any]:
    """The scalar numbers behind a verdict (minutes, shares), for ``--json``."""
    return {key: value for key, value in dict(detail).items()
            if isinstance(value, str | int | float | bool)}
