"""The UZDOTS job (point 16) and the lesson-topic check (point 14.2)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from mappings.evaluate import check_topic, check_uzdots
from sync_jobs.context import RunContext

# the previous working day can lie a long weekend or a holiday week before the lesson
LOOKAHEAD = dt.timedelta(days=14)


class UzdotsJob:
    """Alert teachers whose UZDOTS entry is missing, late or incomplete, or topic is missing."""

    name = "uzdots"

    def is_due(self, ctx: RunContext) -> bool:
        return True  # cheap, and the ledger makes every alert once-only

    def run(self, ctx: RunContext) -> Counter[str]:
        counts: Counter[str] = Counter()
        back = dt.timedelta(days=ctx.policy.uzdots_check_days)
        lessons = ctx.read_lessons(ctx.today - back, ctx.today + LOOKAHEAD)
        school = ctx.school()
        for lesson in lessons:
            if not lesson.is_remote:
                continue
            alerts = check_uzdots(lesson, ctx.calendar, ctx.policy, ctx.now, school=school)
            alerts += check_topic(lesson, ctx.policy, ctx.now)
            for alert in alerts:
                counts[str(alert.kind)] += 1
            ctx.alert(alerts)
        counts["lessons_checked"] = sum(1 for x in lessons if x.is_remote)
        return counts
