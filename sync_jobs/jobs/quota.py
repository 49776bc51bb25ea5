"""The quota job: remote share per group x subject (point 7), no remote practice (point 8)."""

from __future__ import annotations

from collections import Counter

from mappings.calendar import local, school_year
from mappings.evaluate import check_practice, check_quota
from sync_jobs.context import RunContext


class QuotaJob:
    """Count every remote lesson of the school year in the journal, past and planned."""

    name = "quota"

    def is_due(self, ctx: RunContext) -> bool:
        """Once a day, from ``jobs.quota_time`` Riga time."""
        if ctx.now < local(ctx.today, ctx.settings.jobs.quota_time):
            return False
        return not ctx.store.digest_sent("quota-run", ctx.today.isoformat())

    def run(self, ctx: RunContext) -> Counter[str]:
        start, end = school_year(ctx.today)
        lessons = ctx.read_lessons(start, end)
        school = ctx.school()
        alerts = check_quota(lessons, school, ctx.policy, ctx.now)
        alerts += check_practice(lessons, school, ctx.policy, ctx.now)
        ctx.alert(alerts)
        if not ctx.dry_run:
            ctx.store.mark_digest_sent("quota-run", ctx.today.isoformat(), ctx.run_id)
        counts: Counter[str] = Counter(str(a.kind) for a in alerts)
        counts["lessons_counted"] = sum(1 for x in lessons if x.is_remote)
        return counts
