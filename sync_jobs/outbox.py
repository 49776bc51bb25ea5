"""Drain the marks outbox into the journal sink (point 43).

Each pending row is written with its idempotency key; the sink reads the journal back first
and never touches a mark a person entered. A crash between the write and the bookkeeping is
healed by the next run: the sink then finds our own mark and answers "already present".
"""

from __future__ import annotations

import logging
from collections import Counter

from connectors.base import WriteStatus
from connectors.errors import KartibaError
from mappings.evaluate import absence_alert
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
    try:
        result = ctx.sink.write(mark, key, comment)
    except KartibaError as exc:
        ctx.store.set_mark_status(key, "failed", ctx.run_id, error=exc.message)
        log.warning("mark key=%s not written (will retry): %s", key, exc.message)
        return "marks_failed"
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
