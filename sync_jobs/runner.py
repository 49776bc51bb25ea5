"""One run: lock, build the context, run the jobs, drain the outbox, send the alerts."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from mappings.calendar import SchoolCalendar
from mappings.model import Skip
from sync_jobs import wiring
from sync_jobs.context import RunContext
from sync_jobs.jobs import JOBS
from sync_jobs.notify import claim, send_alerts, send_digests
from sync_jobs.outbox import drain_outbox
from sync_jobs.settings import Settings
from sync_jobs.state import StateStore

log = logging.getLogger("kartiba.run")


@dataclass
class RunSummary:
    """What one run did (ids and counts only)."""

    run_id: str
    locked_out: bool = False
    jobs: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    skips: list[Skip] = field(default_factory=list)

    #: counts that mean some work was left for the next run (cron mails a non-zero exit)
    FAILURES = ("evidence_errors", "marks_failed", "emails_failed")

    @property
    def failed(self) -> bool:
        return any(self.counts.get(key) for key in self.FAILURES)

    def line(self) -> str:
        if self.locked_out:
            return "kartiba: another run is in progress; this one did nothing"
        parts = [f"{k}={v}" for k, v in sorted(self.counts.items()) if v]
        return f"kartiba run {self.run_id}: " + (" ".join(parts) or "nothing to do")


def select_jobs(names: Sequence[str] | None, ctx: RunContext):
    """The named jobs (in the canonical order), or every job that is due."""
    if names:
        unknown = sorted(set(names) - set(JOBS))
        if unknown:
            raise ValueError(f"unknown job(s): {', '.join(unknown)}; known: {', '.join(JOBS)}")
        return [JOBS[n]() for n in JOBS if n in names]
    return [job for job in (cls() for cls in JOBS.values()) if job.is_due(ctx)]


def run_once(settings: Settings, now, job_names: Sequence[str] | None = None, *,
             dry_run: bool = False, run_id: str | None = None) -> RunSummary:
    """Run the jobs at ``now`` (read once by the caller) under the run lock."""
    run_id = run_id or uuid.uuid4().hex[:12]
    summary = RunSummary(run_id)
    store = StateStore.open(settings.state.path)
    try:
        if not store.acquire_lock(run_id, now, stale_after_s=settings.state.stale_lock_s):
            summary.locked_out = True
            return summary
        try:
            _run_locked(settings, store, now, job_names, dry_run, run_id, summary)
        finally:
            store.release_lock(run_id)
    finally:
        store.close()
    return summary


def _run_locked(settings, store, now, job_names, dry_run, run_id, summary) -> None:
    policy = settings.policy_obj
    ctx = RunContext(
        settings=settings, policy=policy,
        calendar=SchoolCalendar(policy.non_teaching_days), store=store, now=now,
        run_id=run_id, journal=wiring.journal(settings), dry_run=dry_run)
    ctx.on_alert = lambda alerts: claim(ctx, alerts)
    ctx.meetings = wiring.meeting_sources(settings, webhooks=store, now=now)
    ctx.activities = wiring.activity_sources(settings, ledger=store)
    jobs = select_jobs(job_names, ctx)
    store.start_run(run_id, now, [j.name for j in jobs])
    mailer = wiring.mailer(settings)
    # summary jobs (the digest) run after this run's alerts went out, so they include them
    later = [job for job in jobs if getattr(job, "after_alerts", False)]
    for job in (j for j in jobs if j not in later):
        _run_job(job, ctx, summary)
    summary.counts["records_skipped"] = report_record_errors(ctx)
    if not dry_run:
        ctx.sink = wiring.sink(settings, ctx, mailer)
        summary.counts.update(drain_outbox(ctx))
    summary.counts.update(send_alerts(ctx, mailer))
    for job in later:
        _run_job(job, ctx, summary)
    if ctx.digests and mailer is not None and not dry_run:
        summary.counts.update(send_digests(ctx, mailer))
    summary.counts.update(ctx.counts)
    for counts in summary.jobs.values():
        summary.counts.update({k: v for k, v in counts.items() if not k.startswith("lessons_")})
    summary.skips = list(ctx.skips)
    store.finish_run(run_id, now, dict(summary.counts))


def _run_job(job, ctx: RunContext, summary: RunSummary) -> None:
    counts = job.run(ctx)
    summary.jobs[job.name] = dict(counts)
    log.info("job=%s run=%s %s", job.name, ctx.run_id,
             " ".join(f"{k}={v}" for k, v in sorted(counts.items())))


def _record_errors(source) -> list:
    """Malformed upstream records a source skipped during this run (its own attribute name)."""
    for name in ("record_errors", "errors", "problems"):
        found = getattr(source, name, None)
        if isinstance(found, list):
            return found
    report = getattr(source, "last_report", None)
    return list(getattr(report, "errors", []) or [])


def report_record_errors(ctx: RunContext) -> int:
    """Log every skipped upstream record with its system and id/line (ids only); count them."""
    total = 0
    sources = [ctx.journal, *ctx.meetings.values(), *ctx.activities.values()]
    for source in sources:
        for error in _record_errors(source):
            total += 1
            log.warning("skipped record system=%s record=%s: %s",
                        getattr(error, "system", "?"), getattr(error, "record", "?"),
                        getattr(error, "message", str(error)))
    return total
