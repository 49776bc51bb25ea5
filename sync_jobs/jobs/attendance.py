"""The attendance job (points 30, 31): evidence -> verdicts -> marks outbox -> alerts.

Lessons are looked at once they can be judged (synchronous: end + 30 min; asynchronous: due +
60 min) and for ``attendance_window_days`` after that, until their result is final.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

from connectors.errors import KartibaError, NotReadyError, PermissionDeniedError
from mappings.evaluate import (
    absence_alert,
    evaluate_async,
    evaluate_sync,
    evaluation_time,
    lesson_info,
)
from mappings.model import (
    ActivityEvidence,
    ActivityRef,
    ActivityUser,
    EvidenceGap,
    Lesson,
    LessonMode,
    LessonResult,
    MeetingEvidence,
    MeetingRef,
    Notice,
    Student,
    SubjectKind,
    UzdotsInfo,
)
from mappings.rules.asynchronous import lesson_due
from mappings.rules.changes import lesson_changed_after_marks
from mappings.rules.notices import withdrawn
from sync_jobs.context import RunContext

log = logging.getLogger("kartiba.jobs.attendance")

LOOKBACK = dt.timedelta(days=21)


class _Due(NamedTuple):
    """A remote lesson whose evaluation time has passed, with its parsed UZDOTS entry."""

    lesson: Lesson
    info: UzdotsInfo
    due_at: dt.datetime


@dataclass(frozen=True)
class Candidate:
    """A remote lesson that can be judged now, with what its UZDOTS links to.

    ``closing`` marks the last look at a lesson whose attendance window has closed: what
    is still incomplete then becomes ``evidence_missing`` and the lesson is final.
    """

    lesson: Lesson
    info: UzdotsInfo
    closing: bool = False

    @property
    def synchronous(self) -> bool:
        return self.lesson.mode is LessonMode.REMOTE_SYNC


class AttendanceJob:
    """Judge remote lessons whose evaluation time has come (points 30, 31, 35, 43)."""

    name = "attendance"

    def __init__(self) -> None:
        self._latest: dict[str, dt.datetime] = {}  # lesson id -> latest evaluation time

    def is_due(self, ctx: RunContext) -> bool:
        return True

    def run(self, ctx: RunContext) -> Counter[str]:
        counts: Counter[str] = Counter()
        school = ctx.school()
        window = dt.timedelta(days=ctx.policy.attendance_window_days)
        # asynchronous work may be due days after its lesson: look further back for those
        since = ctx.today - window - LOOKBACK
        lessons = ctx.read_lessons(since, ctx.today)
        counts["lessons_changed_after_marks"] = self.changed_after_marks(ctx, lessons)
        due = self.due_lessons(ctx, lessons, school)
        if not due:
            counts["lessons_due"] = 0
            return counts  # nothing to judge: no notice, meeting or activity is read
        # notices are needed only for the days of the lessons to judge
        notices = self.read_notices(ctx, min(d.lesson.date for d in due),
                                    max(d.lesson.date for d in due))
        by_student = _notices_by_student(notices)
        rosters = _Rosters(school)
        candidates = self.candidates(ctx, due, school, by_student, rosters)
        counts["lessons_due"] = len(candidates)
        if not candidates:
            return counts
        results = list(self.judge(ctx, candidates, lessons, by_student, rosters))
        with ctx.store.batch():  # every lesson's bookkeeping in one commit, after the fetches
            for result in results:
                self.record(ctx, result, counts)
        return counts

    def judge(self, ctx: RunContext, candidates: Sequence[Candidate],
              lessons: Sequence[Lesson], by_student, rosters: _Rosters
              ) -> Iterator[LessonResult]:
        """Fetch the evidence of the candidates and judge each (nothing is recorded).

        ``lessons`` are all lessons read, for finding joint lessons (point 15). A lesson whose
        evidence is not ready or could not be fetched yields nothing: the next run retries.
        """
        school = ctx.school()
        sync = [c for c in candidates if self._is_sync(c, school)]
        asyn = [c for c in candidates if not self._is_sync(c, school)]
        remote_sync = [Candidate(x, lesson_info(x, ctx.policy)) for x in lessons
                       if x.is_remote and self._is_sync(Candidate(x, UzdotsInfo()), school)]
        evidence, activity = self.fetch_evidence(ctx, sync, asyn)
        joint = _JointMeetings(remote_sync)
        for cand in sync:
            result = self.judge_sync(ctx, cand, evidence, joint, by_student, school, rosters)
            if result is not None:
                yield result
        for cand in asyn:
            got = activity.get(cand.lesson.id)
            _count_gaps(ctx, cand.lesson.id, [ev.gap for ev in got or ()])
            yield evaluate_async(
                cand.lesson, school, got, _lesson_notices(
                    by_student, cand.lesson, rosters), ctx.policy, ctx.now,
                system_author=ctx.settings.eklase.service_account,
                aliases=ctx.settings.identity.aliases, closing=cand.closing)

    @staticmethod
    def read_notices(ctx: RunContext, first: dt.date, last: dt.date) -> list[Notice]:
        """Notices covering any day of [first, last] that stand now: from e-klase, plus those
        recorded with ``kartiba notice`` (phone, SMS, mail). A notice withdrawn by now excuses
        nothing not yet judged and moves no due time."""
        found = ctx.journal.notices(first, last) + ctx.store.notices(first, last)
        return [n for n in found if not withdrawn(n, ctx.now)]

    @staticmethod
    def changed_after_marks(ctx: RunContext, lessons: Sequence[Lesson]) -> int:
        """Lessons cancelled, moved or turned in-person after kartiba wrote "n" on them: the
        subject teacher and the class teachers are told once (the ledger); nothing is deleted."""
        system = ctx.settings.eklase.service_account
        alerts = [a for a in (lesson_changed_after_marks(x, system) for x in lessons)
                  if a is not None]
        ctx.alert(alerts)
        return len(alerts)

    # -- selection

    def due_lessons(self, ctx: RunContext, lessons: Sequence[Lesson], school) -> list[_Due]:
        """Remote lessons, not final, whose (first) evaluation time has passed."""
        out = []
        for lesson in lessons:
            if not lesson.is_remote or ctx.store.lesson_final(lesson.id):
                continue
            subject = school.subjects.get(lesson.subject_id)
            if subject is not None and subject.kind is SubjectKind.QUALIFICATION_PRACTICE:
                continue  # point 8: no attendance from remote practice; the quota job alerts
            info = lesson_info(lesson, ctx.policy)
            due_at = evaluation_time(lesson, info, ctx.policy, school=school)
            if due_at <= ctx.now:
                out.append(_Due(lesson, info, due_at))
        return out

    def candidates(self, ctx: RunContext, due: Sequence[_Due], school, by_student,
                   rosters: _Rosters) -> list[Candidate]:
        """The due lessons still within the attendance window, and those to close.

        The window runs from the latest evaluation time of the lesson: an agreed extended
        deadline (point 42) keeps a lesson open until that student can be judged. A lesson
        whose window has closed while it was still open (its evidence never became complete)
        gets one last, closing look: the teacher hears why nothing was marked.
        """
        oldest = ctx.now - dt.timedelta(days=ctx.policy.attendance_window_days)
        out = []
        for lesson, info, due_at in due:
            notices = _lesson_notices(by_student, lesson, rosters)
            latest = max([due_at, *(evaluation_time(lesson, info, ctx.policy, notices,
                                                    n.student_id, school=school)
                                    for n in notices if n.new_due is not None)])
            self._latest[lesson.id] = latest
            if latest >= oldest:
                out.append(Candidate(lesson, info))
            elif ctx.store.lesson_open(lesson.id):
                out.append(Candidate(lesson, info, closing=True))
        return out

    @staticmethod
    def _is_sync(cand: Candidate, school) -> bool:
        subject = school.subjects.get(cand.lesson.subject_id)
        is_class_hour = subject is not None and subject.kind is SubjectKind.CLASS_HOUR
        return cand.synchronous or is_class_hour  # point 13: class hours are synchronous

    # -- evidence

    def fetch_evidence(self, ctx: RunContext, sync: Sequence[Candidate],
                       asyn: Sequence[Candidate]):
        """Meeting and activity evidence, fetched side by side (different upstreams)."""
        if not asyn:
            return self.fetch_meetings(ctx, sync), {}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="activities") as pool:
            activity = pool.submit(self.fetch_activities, ctx, asyn)
            evidence = self.fetch_meetings(ctx, sync)
            return evidence, activity.result()

    def fetch_meetings(self, ctx: RunContext, cands: Sequence[Candidate]
                       ) -> dict[str, list[MeetingEvidence]]:
        """One fetch per (meeting, lesson window) for every linked meeting (points 16, 30).

        Joint lessons reuse the source's cache. A failed fetch becomes evidence with a gap,
        so one lesson's failure never stops another's and is never read as "nobody came".
        """
        school = ctx.school()
        jobs: list[tuple[str, MeetingRef, Lesson]] = []
        for cand in cands:
            for ref in _supported(cand.info.meetings, ctx):
                jobs.append((cand.lesson.id, ref, cand.lesson))

        def fetch(item: tuple[str, MeetingRef, Lesson]) -> tuple[str, MeetingEvidence]:
            lesson_id, ref, lesson = item
            host = school.teachers.get(lesson.teacher_id)
            try:
                return lesson_id, ctx.meetings[ref.platform].fetch(
                    ref, lesson.start, lesson.end, host)
            except (KartibaError, OSError) as exc:  # one lesson's failure: the rest goes on
                return lesson_id, gap_evidence(ref, exc)

        out: dict[str, list[MeetingEvidence]] = defaultdict(list)
        workers = max(1, min(ctx.settings.jobs.max_workers, len(jobs) or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for lesson_id, evidence in pool.map(fetch, jobs):
                out[lesson_id].append(evidence)
        return dict(out)

    def fetch_activities(self, ctx: RunContext, cands: Sequence[Candidate]
                         ) -> dict[str, list[ActivityEvidence] | None]:
        """One batched fetch per platform for every linked activity of the due lessons."""
        refs: dict[str, list[ActivityRef]] = defaultdict(list)
        for cand in cands:
            for ref in cand.info.activities:
                if ref.platform in ctx.activities and ref not in refs[ref.platform]:
                    refs[ref.platform].append(ref)
        found: dict[ActivityRef, ActivityEvidence] = {}
        students, dues = _activity_scope(ctx, cands)
        for platform, platform_refs in sorted(refs.items()):
            try:
                found.update(ctx.activities[platform].fetch(
                    platform_refs, ctx.now, students=students, due=dues))
            except (KartibaError, OSError) as exc:  # judged as incomplete, tried again
                log.warning("activity fetch failed system=%s refs=%d error=%s", platform,
                            len(platform_refs), getattr(exc, "message", type(exc).__name__))
                found.update({ref: activity_gap_evidence(ref, exc) for ref in platform_refs})
        out: dict[str, list[ActivityEvidence] | None] = {}
        for cand in cands:
            usable = [r for r in cand.info.activities if r.platform in ctx.activities]
            out[cand.lesson.id] = [found[r] for r in usable if r in found] if usable else None
        return out

    # -- judging

    def judge_sync(self, ctx: RunContext, cand: Candidate, evidence, joint: _JointMeetings,
                   by_student, school, rosters: _Rosters) -> LessonResult | None:
        lesson = cand.lesson
        got = evidence.get(lesson.id, [])
        _count_gaps(ctx, lesson.id, [ev.gap for ev in got])
        return evaluate_sync(
            lesson, school, got, _lesson_notices(by_student, lesson, rosters), ctx.policy,
            ctx.now, system_author=ctx.settings.eklase.service_account,
            joint_roster=joint.roster(cand, rosters),
            aliases=ctx.settings.identity.aliases, closing=cand.closing)

    def record(self, ctx: RunContext, result: LessonResult | None, counts: Counter[str]) -> None:
        if result is None:
            return
        store = ctx.store
        lesson = ctx.lessons.get(result.lesson_id)
        final = result.final or (lesson is not None and self._window_closed(ctx, lesson))
        if ctx.dry_run:
            for mark in result.marks:
                print(f"would write {mark.code} lesson={mark.lesson_id} "
                      f"student={mark.student_id} excused={mark.excused} "
                      f"points={','.join(mark.points)}")
            counts["marks_proposed"] += len(result.marks)
            ctx.alert(result.alerts)
            ctx.alert(absence_alert(m) for m in result.marks)
            return
        # Order matters for crash safety: alerts claimed and marks queued before the lesson
        # is recorded (maybe as final); a crash in between only means judging it again.
        ctx.alert(result.alerts)
        counts["marks_queued"] += store.enqueue_marks(result.marks, ctx.run_id)
        for skip in result.skips:
            if _written_before(store, skip):
                continue  # kartiba's own earlier "n", decided on by a person: not a skip
            if store.record_skip(skip, ctx.run_id):
                ctx.skips.append(skip)
                counts["skipped"] += 1
        store.save_lesson_result(result.lesson_id, ctx.run_id, final, result.verdicts, ctx.now)
        counts["lessons_final" if final else "lessons_open"] += 1

    def _window_closed(self, ctx: RunContext, lesson: Lesson) -> bool:
        """Past the attendance window of its latest evaluation time: stop looking at it."""
        latest = max(lesson.end, self._latest.get(lesson.id, lesson.end))
        return latest + dt.timedelta(days=ctx.policy.attendance_window_days) <= ctx.now


def _written_before(store, skip) -> bool:
    """kartiba wrote this "n" itself at an earlier run (a person has decided on it since)."""
    row = store.outbox_row(f"{skip.lesson_id}:{skip.student_id}")
    return row is not None and row.status in {"written", "already_present"}


def gap_of(exc: BaseException) -> str:
    """The evidence gap an upstream failure stands for (never "no data")."""
    if isinstance(exc, NotReadyError):
        return getattr(exc, "gap", "") or EvidenceGap.REPORT_NOT_READY.value
    if isinstance(exc, PermissionDeniedError):
        return getattr(exc, "gap", "") or EvidenceGap.NO_ACCESS.value
    return EvidenceGap.FETCH_FAILED.value


def _gap_detail(exc: BaseException) -> str:
    return str(getattr(exc, "message", "") or type(exc).__name__)[:200]


def gap_evidence(ref: MeetingRef, exc: BaseException) -> MeetingEvidence:
    """A meeting whose evidence could not be read: incomplete, with the reason."""
    return MeetingEvidence(platform=ref.platform, key=ref.key, found=False, gap=gap_of(exc),
                           gap_detail=_gap_detail(exc))


def activity_gap_evidence(ref: ActivityRef, exc: BaseException) -> ActivityEvidence:
    """An activity whose evidence could not be read: incomplete, with the reason."""
    return ActivityEvidence(ref=ref, found=False, gap=gap_of(exc), gap_detail=_gap_detail(exc))


def _count_gaps(ctx: RunContext, lesson_id: str, gaps: Sequence[str]) -> None:
    """Count incomplete evidence: a failure is work left undone; not-ready is just later."""
    for gap in {g for g in gaps if g and g != EvidenceGap.INVALID_LINK}:
        if gap == EvidenceGap.FETCH_FAILED:
            ctx.counts["evidence_errors"] += 1
            log.warning("lesson=%s evidence fetch failed; judged at a later run", lesson_id)
        else:
            ctx.counts["evidence_incomplete"] += 1
            log.info("lesson=%s evidence incomplete (%s); no marks, later run", lesson_id, gap)


def _supported(refs: Sequence[MeetingRef], ctx: RunContext) -> list[MeetingRef]:
    """Every linked meeting a connector exists for, each once (points 16, 30)."""
    out: list[MeetingRef] = []
    for ref in refs:
        if ref.platform in ctx.meetings and all(
                (r.platform, r.key) != (ref.platform, ref.key) for r in out):
            out.append(ref)
    return out


def _notices_by_student(notices: Sequence[Notice]) -> dict[str, list[Notice]]:
    out: dict[str, list[Notice]] = defaultdict(list)
    for notice in notices:
        out[notice.student_id].append(notice)
    return out


class _Rosters:
    """Each group's roster, computed once per run (``School.roster`` scans every student)."""

    def __init__(self, school) -> None:
        self._school = school
        self._by_group: dict[str, tuple[Student, ...]] = {}

    def __call__(self, group_id: str) -> tuple[Student, ...]:
        if group_id not in self._by_group:
            self._by_group[group_id] = self._school.roster(group_id)
        return self._by_group[group_id]


def _activity_scope(ctx: RunContext, cands: Sequence[Candidate]
                    ) -> tuple[dict[ActivityRef, list[ActivityUser]],
                               dict[ActivityRef, dt.datetime]]:
    """Per activity link: the students of the lessons linking it (a platform that answers per
    user is asked about those only) and the earliest due time of those lessons."""
    rosters = _Rosters(ctx.school())
    students: dict[ActivityRef, list[ActivityUser]] = defaultdict(list)
    dues: dict[ActivityRef, dt.datetime] = {}
    for cand in cands:
        due = lesson_due(cand.lesson, cand.info, ctx.policy)
        users = [ActivityUser(email=s.email, name=s.full_name, student_id=s.id)
                 for s in rosters(cand.lesson.group_id)]
        for ref in cand.info.activities:
            students[ref] += [u for u in users if u not in students[ref]]
            dues[ref] = min(due, dues.get(ref, due))
    return dict(students), dues


def _lesson_notices(by_student, lesson: Lesson, rosters: _Rosters) -> list[Notice]:
    return [n for s in rosters(lesson.group_id) for n in by_student.get(s.id, ())
            if n.covers(lesson.date)]


class _JointMeetings:
    """Synchronous lessons by the meetings they link, to find joint lessons (point 15)."""

    def __init__(self, sync: Sequence[Candidate]) -> None:
        self._by_meeting: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
        for cand in sync:
            for key in {(m.platform, m.key) for m in cand.info.meetings}:
                self._by_meeting[key].append(cand)

    def roster(self, cand: Candidate, rosters: _Rosters) -> tuple[Student, ...]:
        """Every group whose lesson shares this meeting at the same time; () when alone."""
        groups = {cand.lesson.group_id}
        for key in {(m.platform, m.key) for m in cand.info.meetings}:
            for other in self._by_meeting.get(key, ()):
                lo = other.lesson
                if (lo.id == cand.lesson.id or lo.start >= cand.lesson.end
                        or lo.end <= cand.lesson.start):
                    continue
                groups.add(lo.group_id)
        if len(groups) == 1:
            return ()
        return tuple(s for g in sorted(groups) for s in rosters(g))
