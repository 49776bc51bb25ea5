"""Drain the marks outbox into the journal sink (point 43).

Each pending row is written with its idempotency key; the sink reads the journal back first
and never touches a mark a person entered. A crash between the write and the bookkeeping is
healed by the next run: the sink then finds our own mark and answers "already present".

A refusal for now (``journal_locked``: the lesson's journal page is closed) is not final: the
mark stays pending and is tried again at every run while the lesson is in the attendance
window; when the window has closed, the teacher and the class teacher get
``mark_not_written`` (the "n", its reason and points, to be entered by hand) and the mark is
recorded as skipped. A refusal because a person's mark is there (``manual_mark``) is final.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from connectors.base import WriteStatus
from connectors.errors import KartibaError
from mappings.evaluate import (
    absence_alert,
    evaluation_time,
    lesson_info,
    mark_not_written_alert,
)
from mappings.explain import reason_text
from mappings.model import Mark, Skip
from sync_jobs.context import RunContext

log = logging.getLogger("kartiba.outbox")

STATUS = {
    WriteStatus.CREATED: "written",
    WriteStatus.ALREADY_PRESENT: "already_present",
    WriteStatus.REFUSED: "refused",
    WriteStatus.PROPOSED: "proposed",
}
#: Refusal reasons that may pass: the write is tried again at later runs (CONTRACT.md).
TEMPORARY_REFUSALS = frozenset({"journal_locked"})


def drain_outbox(ctx: RunContext) -> Counter[str]:
    """Write every pending mark; returns counts by outcome."""
    counts: Counter[str] = Counter()
    if ctx.sink is None:
        return counts
    lang = ctx.settings.school.language
    for row in ctx.store.pending_marks():
        mark = Mark(row.lesson_id, row.student_id, row.code, row.excused, tuple(row.points),
                    row.reason)
        counts[_write_one(ctx, mark, row.key, reason_text(row.reason, mark.points, lang))] += 1
    counts["worklist_messages"] += ctx.sink.flush()
    # worklist mail that failed stays pending in the state store for the next run
    counts["emails_failed"] += getattr(ctx.sink, "failed", 0)
    return counts


def _write_one(ctx: RunContext, mark: Mark, key: str, comment: str) -> str:
    if _lesson_gone(ctx, mark.lesson_id):
        return _drop_changed(ctx, mark, key)
    try:
        result = ctx.sink.write(mark, key, comment)
    except KartibaError as exc:
        ctx.store.set_mark_status(key, "failed", ctx.run_id, error=exc.message)
        log.warning("mark key=%s not written (will retry): %s", key, exc.message)
        return "marks_failed"
    if result.status is WriteStatus.REFUSED and result.reason in TEMPORARY_REFUSALS:
        return _refused_for_now(ctx, mark, key, result.reason)
    status = STATUS[result.status]
    with ctx.store.batch():  # the bookkeeping of one write: one commit
        if result.status is WriteStatus.REFUSED:
            skip = Skip(mark.lesson_id, mark.student_id, result.reason or "refused")
            if ctx.store.record_skip(skip, ctx.run_id):
                ctx.skips.append(skip)
        else:
            # points 22, 32: the class teacher hears of every "n". Claimed with the outbox
            # row's closing (a crash before re-finds our mark and claims it again, once).
            ctx.alert([absence_alert(mark)])
        ctx.store.set_mark_status(key, status, ctx.run_id, error=result.reason)
        ctx.store.audit(ctx.run_id, f"mark_{status}", lesson=mark.lesson_id,
                        student=mark.student_id, key=key)
    return f"marks_{status}"


def _lesson_gone(ctx: RunContext, lesson_id: str) -> bool:
    """The journal, as read in this run, shows the lesson cancelled or no longer remote."""
    lesson = ctx.lessons.get(lesson_id)
    return lesson is not None and not lesson.is_remote


def _drop_changed(ctx: RunContext, mark: Mark, key: str) -> str:
    """Point 43, no wrong "n": a pending "n" of a lesson since cancelled or turned in-person
    is not written (it was decided on a remote lesson that no longer is)."""
    with ctx.store.batch():
        skip = Skip(mark.lesson_id, mark.student_id, "lesson_changed")
        if ctx.store.record_skip(skip, ctx.run_id):
            ctx.skips.append(skip)
        ctx.store.set_mark_status(key, "refused", ctx.run_id, error="lesson_changed")
        ctx.store.audit(ctx.run_id, "mark_dropped", lesson=mark.lesson_id,
                        student=mark.student_id, key=key)
    log.warning("mark key=%s not written: the lesson is cancelled or no longer remote", key)
    return "marks_dropped"


def _refused_for_now(ctx: RunContext, mark: Mark, key: str, why: str) -> str:
    """A temporary refusal: pending while the lesson is in the window, else handed to people."""
    closes = window_closes(ctx, mark.lesson_id)
    if closes is None or ctx.now < closes:
        ctx.store.defer_mark(key, why)
        ctx.store.audit(ctx.run_id, "mark_deferred", lesson=mark.lesson_id,
                        student=mark.student_id, key=key)
        log.warning("mark key=%s refused for now (%s); tried again at the next run", key, why)
        return "marks_deferred"
    with ctx.store.batch():
        skip = Skip(mark.lesson_id, mark.student_id, why)
        if ctx.store.record_skip(skip, ctx.run_id):
            ctx.skips.append(skip)
        ctx.alert([mark_not_written_alert(mark, why)])  # points 22, 32, 43: by hand now
        ctx.store.set_mark_status(key, "refused", ctx.run_id, error=why)
        ctx.store.audit(ctx.run_id, "mark_not_written", lesson=mark.lesson_id,
                        student=mark.student_id, key=key)
    log.warning("mark key=%s still refused (%s) as the attendance window closed; the teacher "
                "and the class teacher are told to enter it", key, why)
    return "marks_not_written"


def window_closes(ctx: RunContext, lesson_id: str) -> dt.datetime | None:
    """When a lesson leaves the attendance window (its evaluation time + the window), or
    None when the lesson was not read in this run."""
    lesson = ctx.lessons.get(lesson_id)
    if lesson is None:
        return None
    due = evaluation_time(lesson, lesson_info(lesson, ctx.policy), ctx.policy,
                          school=ctx.school())
    return due + dt.timedelta(days=ctx.policy.attendance_window_days)
