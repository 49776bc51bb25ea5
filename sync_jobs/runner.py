"""One run: lock, build the context, run the jobs, drain the outbox, send the alerts."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from connectors._http import CALLS
from connectors.errors import ContractError
from mappings.calendar import SchoolCalendar
from mappings.model import Skip
from sync_jobs import wiring
from sync_jobs.context import RunContext
from sync_jobs.jobs import JOBS
from sync_jobs.notify import claim, send_alerts, send_digests
from sync_jobs.outbox import drain_outbox
from sync_jobs.report.facts import record_facts
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
    dry_run: bool = False
    #: seconds the lock has been held by another run, when longer than ``state.max_run_s``
    lock_overdue: float | None = None
    lock_holder: str = ""

    #: counts that mean some work was left for the next run (cron mails a non-zero exit)
    FAILURES = ("evidence_errors", "marks_failed", "emails_failed", "jobs_overdue",
                "journal_errors")

    @property
    def failed(self) -> bool:
        return any(self.counts.get(key) for key in self.FAILURES)

    def line(self) -> str:
        if self.locked_out:
            return "kartiba: another run is in progress; this one did nothing"
        parts = [f"{k}={v}" for k, v in sorted(self.counts.items()) if v]
        dry = " (dry run)" if self.dry_run else ""
        return f"kartiba run {self.run_id}{dry}: " + (" ".join(parts) or "nothing to do")

    def lock_message(self) -> str:
        """The loud line for a lock held longer than a run may last."""
        return (f"the run lock has been held by run {self.lock_holder or '?'} for "
                f"{self.lock_overdue or 0:.0f} s, longer than a run may last (state.max_run_s); "
                "no run can do its work until it ends: check the process (kartiba status)")

    def as_dict(self) -> dict:
        """The summary for ``--json`` (ids and counts only)."""
        return {"run_id": self.run_id, "dry_run": self.dry_run, "locked_out": self.locked_out,
                "lock_overdue_s": self.lock_overdue, "failed": self.failed,
                "counts": dict(sorted(self.counts.items())), "jobs": self.jobs,
                "skips": len(self.skips)}


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
    summary = RunSummary(run_id, dry_run=dry_run)
    store = StateStore.open(settings.state.path)
    try:
        if not store.acquire_lock(run_id, now, stale_after_s=settings.state.stale_lock_s):
            summary.locked_out = True
            _check_lock_age(settings, store, now, summary)
            return summary
        try:
            with _hard_deadline(settings.state.max_run_s, run_id):
                _run_locked(settings, store, now, job_names, dry_run, run_id, summary)
        finally:
            store.release_lock(run_id)
    finally:
        store.close()
    return summary


# --------------------------------------------------------------------------- run duration

#: seconds past ``state.max_run_s`` a run gets to finish its current step before it is ended
HARD_GRACE_S = 120


@contextmanager
def _hard_deadline(max_run_s: int, run_id: str) -> Iterator[None]:
    """End the process when a run overruns ``max_run_s`` (+ grace) in the main thread.

    A run that hangs (an upstream trickling bytes) would hold the lock and silently stop every
    later run. Ending it is safe: the state store is crash-safe and the kernel drops the lock,
    exactly as after a kill; the next run heals what was half done.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal,
                                                                                 "SIGALRM"):
        yield
        return

    def overrun(_signum, _frame) -> None:
        sys.stderr.write(f"kartiba: run {run_id} exceeded state.max_run_s = {max_run_s} s; "
                         "ended (the next run continues its work)\n")
        sys.stderr.flush()
        os._exit(1)

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.alarm(max_run_s + HARD_GRACE_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check_lock_age(settings: Settings, store: StateStore, now: dt.datetime,
                    summary: RunSummary) -> None:
    """Flag a lock held longer than a run may last and tell oversight once per day."""
    owner = store.lock_owner()
    started = owner.get("started_at") if owner else None
    if started is None:
        return
    age = max((now - started).total_seconds(), 0.0)
    if age <= settings.state.max_run_s:
        return
    summary.lock_overdue, summary.lock_holder = age, str(owner.get("run_id") or "")
    log.error("run lock held by run %s for %.0f s (state.max_run_s = %d)",
              summary.lock_holder, age, settings.state.max_run_s)
    try:
        _mail_lock_alarm(settings, store, now, summary)
    except Exception as exc:  # noqa: BLE001 - the loud exit code stays; the mail is a bonus
        log.warning("lock alarm mail not sent: %s", type(exc).__name__)


def _mail_lock_alarm(settings: Settings, store: StateStore, now: dt.datetime,
                     summary: RunSummary) -> None:
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    day = now.date().isoformat()
    mailer = wiring.mailer(settings)
    if mailer is None or not settings.school.oversight or store.digest_sent("lock_held", day):
        return
    message = EmailMessage()
    message["From"] = settings.smtp.sender
    message["To"] = ", ".join(settings.school.oversight)
    message["Subject"] = "kartiba: runs are blocked (the run lock is held too long)"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring=f"lock-{day}", domain="kartiba")
    message["X-Kartiba-Run"] = summary.run_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"kartiba on {os.uname().nodename}: {summary.lock_message()}.\n\n"
        "Until it ends no attendance marks are written and no alerts are sent. "
        "`kartiba status` shows the lock holder (run id, PID, host). This message is sent "
        "once a day while it lasts.\n")
    mailer.send(message)
    store.mark_digest_sent("lock_held", day, summary.run_id)


def _overdue(started: float, max_run_s: int) -> bool:
    return time.monotonic() - started > max_run_s


def _run_locked(settings, store, now, job_names, dry_run, run_id, summary) -> None:
    retries_before = CALLS.total_retries()
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
    started = time.monotonic()
    # summary jobs (the digest) run after this run's alerts went out, so they include them
    later = [job for job in jobs if getattr(job, "after_alerts", False)]
    for job in (j for j in jobs if j not in later):
        if _overdue(started, settings.state.max_run_s):
            log.error("run %s: state.max_run_s reached; job %s left for the next run",
                      run_id, job.name)
            summary.counts["jobs_overdue"] += 1
            continue
        _run_job(job, ctx, summary)
    summary.counts["records_skipped"] = report_record_errors(ctx)
    # records the journal gateway answered against its contract: their lessons were not judged
    summary.counts["journal_errors"] = sum(
        isinstance(e, ContractError) for e in _record_errors(ctx.journal))
    if not dry_run:
        ctx.sink = wiring.sink(settings, ctx, mailer)
        summary.counts.update(drain_outbox(ctx))
    summary.counts.update(send_alerts(ctx, mailer))
    if not dry_run:
        # the line counts the alerts this run claimed, not those already in the ledger
        summary.counts["alerts"] = store.alerts_claimed_by(run_id)
    record_facts(ctx, [j.name for j in jobs])  # for `kartiba report` and the digest
    for job in later:
        _run_job(job, ctx, summary)
    if ctx.digests and mailer is not None and not dry_run:
        summary.counts.update(send_digests(ctx, mailer))
    summary.counts.update(ctx.counts)
    for counts in summary.jobs.values():
        summary.counts.update({k: v for k, v in counts.items() if not k.startswith("lessons_")})
    summary.skips = list(ctx.skips)
    if dry_run:
        summary.counts["dry_run"] = 1
    retries = CALLS.total_retries() - retries_before  # 429, 5xx, no answer, 401 renewal
    if retries:
        summary.counts["http_retries"] = retries
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


# --------------------------------------------------------------------------- backfill


@dataclass
class BackfillResult:
    """What a backfill over a date range did: totals and the days whose run failed."""

    days: list[dt.date]
    totals: Counter[str] = field(default_factory=Counter)
    failed_days: list[dt.date] = field(default_factory=list)
    locked_out: RunSummary | None = None
    done: int = 0

    def line(self) -> str:
        """The closing totals line."""
        parts = " ".join(f"{k}={v}" for k, v in sorted(self.totals.items()) if v)
        failed = (" failed days: " + ", ".join(d.isoformat() for d in self.failed_days)
                  if self.failed_days else "")
        head = (f"kartiba backfill {self.days[0]}..{self.days[-1]}: "
                f"{self.done}/{len(self.days)} day(s)")
        return f"{head} {parts or 'nothing to do'}{failed}".rstrip()

    def as_dict(self) -> dict:
        """For ``--json``."""
        return {"from": self.days[0].isoformat(), "to": self.days[-1].isoformat(),
                "days": len(self.days), "done": self.done,
                "failed_days": [d.isoformat() for d in self.failed_days],
                "totals": dict(sorted(self.totals.items())),
                "locked_out": self.locked_out is not None}


def backfill(settings: Settings, start: dt.date, end: dt.date, job_names: Sequence[str], *,
             dry_run: bool = False, bar: bool | None = None) -> BackfillResult:
    """Run ``job_names`` at 23:30 Riga of each day from ``start`` to ``end``, with a bar.

    ``bar``: draw the progress bar (default: only when stdout is a terminal).

    Raises:
        ValueError: an unknown job name.
    """
    from mappings.calendar import local
    from sync_jobs.progress import progress_bar

    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    result = BackfillResult(days)
    with progress_bar(len(days), "backfill", enabled=bar) as advance:
        for day in days:
            summary = run_once(settings, local(day, dt.time(23, 30)), job_names,
                               dry_run=dry_run)
            if summary.locked_out:
                result.locked_out = summary
                break
            result.done += 1
            result.totals.update(summary.counts)
            if summary.failed:
                result.failed_days.append(day)
                log.warning("backfill %s: run %s left work undone", day, summary.run_id)
            advance(day.isoformat())
    return result
