"""What a run leaves in the state store for reports: lesson facts and quota tallies.

Called by the runner after the jobs (before the digest): every lesson the run read is kept as
ids and times, with the UZDOTS and topic state the rules find (points 14.2, 16), and when the
quota job ran, the remote / planned hours it counted per group × subject (point 7). The same
rule functions the jobs use decide these values, so reports and alerts never disagree.
"""

from __future__ import annotations

from collections.abc import Collection

from mappings.calendar import school_year
from mappings.evaluate import check_topic, check_uzdots
from mappings.model import Lesson, School
from mappings.rules.quota import tallies
from mappings.rules.scope import in_school_year, remote_in_force, within_check_days
from mappings.rules.uzdots import uzdots_deadline
from sync_jobs.context import RunContext
from sync_jobs.state import LessonFact, QuotaTally

UZDOTS_KINDS = {"uzdots_missing": "missing", "uzdots_late": "late",
                "uzdots_incomplete": "incomplete"}


def uzdots_state(lesson: Lesson, ctx: RunContext, school: School) -> str:
    """"" (not checkable now), "on_time", or the problems found, e.g. "late,incomplete"."""
    policy = ctx.policy
    if not remote_in_force(lesson, policy):
        return ""
    if ctx.now < uzdots_deadline(lesson, ctx.calendar, policy):
        return ""
    if not within_check_days(lesson, ctx.now, policy.uzdots_check_days):
        return ""
    found = sorted(UZDOTS_KINDS[str(a.kind)] for a in check_uzdots(
        lesson, ctx.calendar, policy, ctx.now, school=school) if str(a.kind) in UZDOTS_KINDS)
    return ",".join(found) or "on_time"


def topic_state(lesson: Lesson, ctx: RunContext) -> str:
    """"" (not due yet / not checkable), "entered" or "missing" (point 14.2)."""
    if not remote_in_force(lesson, ctx.policy):
        return ""
    if check_topic(lesson, ctx.policy, ctx.now):
        return "missing"
    return "entered" if lesson.topic is not None else ""


def fact_of(lesson: Lesson, ctx: RunContext, school: School) -> LessonFact:
    """The facts of one lesson as the store keeps them."""
    return LessonFact(
        lesson_id=lesson.id, date=lesson.date, number=lesson.number, start=lesson.start,
        end=lesson.end, group_id=lesson.group_id, subject_id=lesson.subject_id,
        teacher_id=lesson.teacher_id, mode=str(lesson.mode),
        uzdots=uzdots_state(lesson, ctx, school), topic=topic_state(lesson, ctx))


def record_facts(ctx: RunContext, jobs: Collection[str]) -> None:
    """Keep the facts of every lesson this run read, and the quota tallies if counted.

    Args:
        ctx: the run (its lessons, clock, policy and store).
        jobs: names of the jobs this run ran (the tallies need the quota job's full year).
    """
    if ctx.dry_run or not ctx.lessons:
        return
    school = ctx.school()
    ctx.store.save_lesson_facts([fact_of(x, ctx, school) for x in ctx.lessons.values()],
                                ctx.run_id)
    if "quota" in jobs:
        start, end = school_year(ctx.today)
        year = in_school_year(ctx.read_lessons(start, end), ctx.now, ctx.policy)
        ctx.store.save_quota_tallies(start, [
            QuotaTally(t.group_id, t.subject_id, len(t.remote), t.planned)
            for t in tallies(year, school)], ctx.run_id)
