"""The weekly digest: each class teacher (point 21) and the oversight list (point 6).

Sent once a week, from ``jobs.digest_weekday`` ``jobs.digest_time`` (Riga). Its numbers are
``kartiba report``'s (:mod:`sync_jobs.report.model`) over this week, Monday to today: the
class teacher reads their groups, the oversight every group. Absences ("n" per student),
UZDOTS and topics per teacher, and the point-7 quota of every group × subject with remote
lessons (remote / planned hours, %, a bar against the 20 % limit).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable

from mappings.calendar import local
from mappings.model import School
from sync_jobs.alerts.compose import Recipient, render_digest
from sync_jobs.context import RunContext
from sync_jobs.report.model import Filters, Report, build_report

BAR_PX = 180  # the e-mail bar's width for SCALE
SCALE = 0.30  # the share a full bar stands for


class DigestJob:
    """Summarise the week per class teacher and for the oversight list."""

    name = "digest"
    after_alerts = True  # the runner runs it after this run's alerts were sent

    def is_due(self, ctx: RunContext) -> bool:
        jobs = ctx.settings.jobs
        return (ctx.today.weekday() == jobs.digest_weekday
                and ctx.now >= local(ctx.today, jobs.digest_time))

    def run(self, ctx: RunContext) -> Counter[str]:
        counts: Counter[str] = Counter()
        if not self.is_due(ctx):
            return counts
        week_start = ctx.today - dt.timedelta(days=ctx.today.weekday())
        iso = week_start.isocalendar()
        period = f"{iso.year}-W{iso.week:02d}"
        school = ctx.school()
        for recipient, groups in self.recipients(school).items():
            key = f"{period}:{recipient.email.lower()}"
            if ctx.store.digest_sent("weekly", key):
                continue
            reports = [self.report(ctx, school, week_start, group) for group in groups]
            summary = summary_of(reports, period, week_start, ctx.today)
            if not (summary["absences"] or summary["uzdots"] or summary["quota"]):
                continue
            ctx.digests.append((key, render_digest(
                recipient, summary, school_name=school.name, sender=ctx.settings.smtp.sender,
                lang=ctx.settings.school.language, run_id=ctx.run_id,
                kind=recipient.role, now=ctx.now)))
            counts["digests_prepared"] += 1
        return counts

    @staticmethod
    def report(ctx: RunContext, school: School, week_start: dt.date,
               group: str | None) -> Report:
        """``kartiba report --group G --from <Monday> --to <today>``, as numbers."""
        policy = ctx.policy
        return build_report(ctx.store, school, Filters(week_start, ctx.today, group),
                            now=ctx.now, warn_share=policy.quota_warn_share,
                            max_share=policy.quota_max_share)

    @staticmethod
    def recipients(school: School) -> dict[Recipient, list[str | None]]:
        """Class teachers with their group ids; oversight addresses see every group (None)."""
        out: dict[Recipient, list[str | None]] = {}
        groups_of: dict[str, list[str | None]] = defaultdict(list)
        for group in sorted(school.groups.values(), key=lambda g: g.id):
            if group.class_teacher_id in school.teachers:
                groups_of[group.class_teacher_id].append(group.id)
        for teacher_id, groups in sorted(groups_of.items()):
            teacher = school.teachers[teacher_id]
            if teacher.email:
                out[Recipient(teacher.email, teacher.name, "class_teacher")] = groups
        for address in school.oversight:
            out[Recipient(address, "", "oversight")] = [None]
        return out


def bar_cells(share: float, limit: float = 0.20) -> list[tuple[int, str]]:
    """(width px, colour) cells of an e-mail bar with a dark mark at the limit.

    HTML/CSS bars instead of SVG: most mail clients do not render SVG.
    """
    filled = min(BAR_PX, round(BAR_PX * share / SCALE))
    mark = round(BAR_PX * limit / SCALE)
    colour = "#c62828" if share > limit else "#d99a00" if share >= 0.16 else "#4a8f5c"
    cells: list[tuple[int, str]] = []
    edges = sorted({0, filled, mark, mark + 2, BAR_PX})
    for left, right in zip(edges, edges[1:], strict=False):
        if mark <= left < mark + 2:
            cells.append((right - left, "#222222"))
        else:
            cells.append((right - left, colour if right <= filled else "#e6e6e6"))
    return [c for c in cells if c[0] > 0]


def summary_of(reports: Iterable[Report], period: str, date_from: dt.date,
               date_to: dt.date) -> dict:
    """The digest's rows from the recipient's reports (one per group, or one for all)."""
    absences, uzdots, quota = [], [], []
    teachers: dict[str, dict] = {}
    for report in reports:
        absences += [{"group": s.group, "student": s.name, "remote": s.remote,
                      "present": s.present, "excused": s.n_excused, "unexcused": s.n_unexcused}
                     for s in report.students if s.n_excused or s.n_unexcused]
        for x in report.teachers:
            row = teachers.setdefault(x.teacher_id, dict.fromkeys(
                ("remote", "on_time", "late", "missing", "incomplete", "topic_missing"), 0)
                | {"teacher": x.name})
            for key in ("remote", "on_time", "late", "missing", "incomplete", "topic_missing"):
                row[key] += getattr(x, key)
        quota += [{"group": q.group, "subject": q.subject, "remote_hours": q.remote_hours,
                   "planned_hours": q.planned_hours, "share": q.share, "state": q.state,
                   "bar": bar_cells(q.share, report.max_share)} for q in report.quota]
    uzdots = [r for _, r in sorted(teachers.items(), key=lambda kv: kv[1]["teacher"])
              if r["late"] or r["missing"] or r["incomplete"] or r["topic_missing"]]
    return {"period": period, "date_from": date_from, "date_to": date_to,
            "absences": sorted(absences, key=lambda r: (r["group"], r["student"])),
            "uzdots": uzdots, "quota": sorted(quota, key=lambda r: (r["group"], r["subject"]))}
