"""The weekly digest: each class teacher (point 21) and the oversight list (point 6).

Sent once a week, from ``jobs.digest_weekday`` ``jobs.digest_time`` (Riga), to each recipient
who has something to read: absences marked this week, UZDOTS problems of this week's lessons,
and the quota state of groups × subjects near or over 20 %.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from mappings.calendar import RIGA, local
from sync_jobs.alerts.compose import Recipient, render_digest
from sync_jobs.context import RunContext

UZDOTS_KINDS = {"uzdots_missing": "missing", "uzdots_late": "late",
                "uzdots_incomplete": "incomplete"}
QUOTA_KINDS = {"quota_warning": "warning", "quota_exceeded": "exceeded"}


class DigestJob:
    """Summarise the week's alerts per class teacher and for the oversight list."""

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
        period = f"{week_start.isocalendar().year}-W{week_start.isocalendar().week:02d}"
        lessons = {x.id: x for x in ctx.read_lessons(week_start, ctx.today)}
        rows = [r for r in ctx.store.ledger_sent_since(
            dt.datetime.combine(week_start, dt.time(0), RIGA)) if r["lesson_id"] in lessons]
        school = ctx.school()
        by_group = self.group_rows(rows, lessons, school)
        for recipient, groups in self.recipients(school).items():
            summary = self.summary(by_group, groups, school, lessons, week_start, ctx.today,
                                   period)
            key = f"{period}:{recipient.email.lower()}"
            if not (summary["absences"] or summary["uzdots"] or summary["quota"]):
                continue
            if ctx.store.digest_sent("weekly", key):
                continue
            ctx.digests.append((key, render_digest(
                recipient, summary, school_name=school.name, sender=ctx.settings.smtp.sender,
                lang=ctx.settings.school.language, run_id=ctx.run_id,
                kind=recipient.role, now=ctx.now)))
            counts["digests_prepared"] += 1
        return counts

    @staticmethod
    def recipients(school) -> dict[Recipient, set[str] | None]:
        """Class teachers with their groups; oversight addresses see every group (None)."""
        out: dict[Recipient, set[str] | None] = {}
        groups_of: dict[str, set[str]] = defaultdict(set)
        for group in school.groups.values():
            if group.class_teacher_id in school.teachers:
                groups_of[group.class_teacher_id].add(group.id)
        for teacher_id, groups in sorted(groups_of.items()):
            teacher = school.teachers[teacher_id]
            if teacher.email:
                out[Recipient(teacher.email, teacher.name, "class_teacher")] = groups
        for address in school.oversight:
            out[Recipient(address, "", "oversight")] = None
        return out

    @staticmethod
    def group_rows(rows, lessons, school) -> dict[str, list[dict]]:
        """Ledger rows (one per alert, not per recipient) by the lesson's group."""
        seen: set[tuple] = set()
        out: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            ident = (row["kind"], row["lesson_id"], row["student_id"])
            if ident in seen:
                continue
            seen.add(ident)
            out[lessons[row["lesson_id"]].group_id].append(row)
        return out

    @staticmethod
    def summary(by_group, groups, school, lessons, date_from, date_to, period) -> dict:
        absences: dict[tuple[str, str], Counter] = defaultdict(Counter)
        uzdots: dict[tuple[str, str], Counter] = defaultdict(Counter)
        quota: list[dict] = []
        for group_id, rows in sorted(by_group.items()):
            if groups is not None and group_id not in groups:
                continue
            group = school.groups[group_id].name if group_id in school.groups else group_id
            for row in rows:
                kind = row["kind"]
                if kind == "absence" and row["student_id"]:
                    student = school.students.get(row["student_id"])
                    name = student.full_name if student else row["student_id"]
                    absences[(group, name)]["excused" if row["excused"] else "unexcused"] += 1
                elif kind in UZDOTS_KINDS:
                    uzdots[(group, *_subject_teacher(lessons[row["lesson_id"]], school))][
                        UZDOTS_KINDS[kind]] += 1
                elif kind in QUOTA_KINDS:
                    subject, _ = _subject_teacher(lessons[row["lesson_id"]], school)
                    quota.append({"group": group, "subject": subject,
                                  "remote_hours": "", "planned_hours": "", "share": "",
                                  "state": QUOTA_KINDS[kind]})
        return {
            "period": period, "date_from": date_from, "date_to": date_to,
            "absences": [{"group": g, "student": s, "excused": c["excused"],
                          "unexcused": c["unexcused"]} for (g, s), c in sorted(absences.items())],
            "uzdots": [{"group": g, "subject": subj, "teacher": teacher, **{
                k: c[k] for k in ("missing", "late", "incomplete")}}
                for (g, subj, teacher), c in sorted(uzdots.items())],
            "quota": quota,
        }


def _subject_teacher(lesson, school) -> tuple[str, str]:
    subject = school.subjects.get(lesson.subject_id)
    teacher = school.teachers.get(lesson.teacher_id)
    return (subject.name if subject else lesson.subject_id,
            teacher.name if teacher else lesson.teacher_id)
