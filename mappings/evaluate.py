"""The kārtība applied: the pure entry points the jobs call.

Every function here is pure. It takes the instant ``now`` from the job and never reads a
clock, the environment or a file. Results carry the kārtība points behind every verdict,
mark and alert (see docs/CONVENTIONS.md); :mod:`mappings.explain` turns them into sentences.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mappings.calendar import SchoolCalendar
from mappings.identity import MatchResult, RosterIndex, match_participants
from mappings.model import (
    ActivityEvidence,
    Alert,
    AlertKind,
    EvidenceGap,
    Lesson,
    LessonMode,
    LessonResult,
    Mark,
    MeetingEvidence,
    Notice,
    Outcome,
    Participant,
    School,
    Skip,
    Student,
    UzdotsInfo,
    Verdict,
)
from mappings.policy import Policy
from mappings.presence import connected_seconds
from mappings.rules import asynchronous, sync
from mappings.rules.alerts import make_alert
from mappings.rules.evidence import (
    INCOMPLETE,
    HeldPart,
    activity_gap,
    held_part,
    meeting_gap,
    union,
    visible_students,
)
from mappings.rules.manual import write_or_skip
from mappings.rules.notices import extended_due, known_notices, rule_absence
from mappings.rules.offline import offline_verdict, works_offline
from mappings.rules.practice import is_practice, practice_remote
from mappings.rules.quota import quota_alerts
from mappings.rules.scope import in_school_year, remote_in_force, within_check_days
from mappings.rules.topic import topic_missing
from mappings.rules.uzdots import uzdots_deadline, uzdots_incomplete, uzdots_late, uzdots_missing
from mappings.rules.verdicts import Judgement, not_evaluated, not_yet_due
from mappings.uzdots import parse_uzdots

Aliases = Mapping[str, Sequence[str]] | None

NO_LINK = "no_link"
"""``evidence_missing`` cause: UZDOTS has no usable link (final: nothing will change)."""
NO_EVIDENCE = "no_evidence"
"""``evidence_missing`` cause: a link exists but the jobs had no evidence for it."""
NOT_FOUND = "not_found"
"""``evidence_missing`` cause: the platform has no data for the linked meeting/activity."""
INVALID_LINK = EvidenceGap.INVALID_LINK.value
"""``evidence_missing`` cause: the link names no meeting/activity the platform knows."""

MeetingInput = MeetingEvidence | Sequence[MeetingEvidence] | None

# --------------------------------------------------------------------------- timing


def lesson_info(lesson: Lesson, policy: Policy) -> UzdotsInfo:
    """What the lesson's UZDOTS entry says: links, due time, criteria (point 16).

    Returns:
        The parsed entry, or an empty :class:`UzdotsInfo` when the lesson has none.
    """
    entry = lesson.uzdots
    if entry is None:
        return UzdotsInfo()
    return parse_uzdots(
        entry.text, lesson.date, entry.attachments, criteria_words=policy.criteria_words
    )


def evaluation_time(
    lesson: Lesson,
    info: UzdotsInfo,
    policy: Policy,
    notices: Sequence[Notice] = (),
    student_id: str | None = None,
    *,
    school: School | None = None,
) -> dt.datetime:
    """When a lesson (or one student in it) can be judged (points 30, 35, 42).

    Synchronous: the lesson end + ``sync_evaluate_after_minutes``. Asynchronous: the due time
    (UZDOTS, else ``async_default_due_time`` on the lesson day; for ``student_id`` an agreed
    extended deadline) + ``async_evaluate_after_minutes``.

    Args:
        lesson: the lesson.
        info: its parsed UZDOTS entry (:func:`lesson_info`).
        policy: the school's policy.
        notices: notices that may extend the student's deadline (point 42).
        student_id: the student, or None for the lesson as a whole.
        school: when given, a remote class hour counts as synchronous (point 13).
    """
    if _judged_as_async(lesson, school):
        due = asynchronous.student_due(lesson, info, policy, notices, student_id)
        return asynchronous.async_evaluation_time(due, policy)
    return sync.sync_evaluation_time(lesson, policy)


def is_attendance_due(
    lesson: Lesson,
    info: UzdotsInfo,
    policy: Policy,
    now: dt.datetime,
    *,
    school: School | None = None,
) -> bool:
    """The lesson-level evaluation time has passed (without per-student extensions)."""
    return evaluation_time(lesson, info, policy, school=school) <= now


# --------------------------------------------------------------------------- attendance


def in_lesson(participants: Sequence[Participant], lesson: Lesson,
              held: HeldPart | None = None) -> tuple[Participant, ...]:
    """Point 30 ("time counted only inside the lesson"): people connected during it.

    A meeting link reused for another lesson (a personal meeting room, the same Meet code)
    brings that lesson's people into the instance list; they were never in this lesson and
    are neither matched nor reported as unknown here.
    """
    start, end = (held.start, held.end) if held else (lesson.start, lesson.end)
    return tuple(p for p in participants if connected_seconds(p.segments, start, end) > 0)


def evaluate_sync(
    lesson: Lesson,
    school: School,
    evidence: MeetingInput,
    notices: Sequence[Notice],
    policy: Policy,
    now: dt.datetime,
    *,
    system_author: str,
    joint_roster: Sequence[Student] = (),
    aliases: Aliases = None,
    closing: bool = False,
) -> LessonResult:
    """Judge a synchronous lesson (points 30, 13, 15, 16, 19, 20, 28, 39, 41, 43, 14.5).

    Args:
        lesson: the timetable lesson.
        school: the school (roster, teachers, subjects).
        evidence: what the meeting platforms reported, one per linked meeting (a single
            evidence is accepted too), or None / empty when no meeting could be looked up
            (no usable link, or no connector for the platform).
        notices: absence notices; those received after ``now`` are ignored.
        policy: the school's policy.
        now: the instant of judging.
        system_author: kartiba's journal account (its marks are its own, point 43).
        joint_roster: every student of the groups sharing the meeting (point 15).
        aliases: extra display names per student id for identity matching.
        closing: the attendance window has closed: this is the last look, so incomplete
            evidence becomes ``evidence_missing`` and the result is final.

    Returns:
        Verdicts for every student of the lesson's group, the marks to write, skips and alerts.
    """
    if not _attendance_applies(lesson, school, policy):
        return LessonResult(lesson.id, final=True)
    roster = school.roster(lesson.group_id)
    evaluate_at = sync.sync_evaluation_time(lesson, policy)
    if now < evaluate_at:
        return _pending(lesson, roster, sync.BASE_POINT, evaluate_at)
    evidences = _meetings(evidence)
    gap = meeting_gap(evidences)
    if gap:
        return _incomplete(lesson, roster, sync.BASE_POINT, gap,
                           _gap_detail(evidences, gap), closing)
    merged = union(evidences)
    held = held_part(lesson.start, lesson.end, merged.sessions) if merged else None
    if merged is None or held is None or held.empty:
        linked = bool(lesson_info(lesson, policy).meetings)
        cause = _missing_cause(bool(evidences), linked, evidences)
        return _no_evidence(lesson, roster, sync.BASE_POINT, closing or cause == NO_LINK,
                            cause)
    match_roster = sync.joint_match_roster(roster, joint_roster)
    host = sync.meeting_host(lesson, school, merged)
    match = match_participants(in_lesson(merged.participants, lesson, held), match_roster,
                               host, policy, aliases)
    context = _SyncContext(
        lesson=lesson,
        policy=policy,
        match=match,
        ambiguous=_candidate_counts(match),
        registered=(
            None
            if merged.chat is None
            else sync.registered_in_chat(merged.chat, lesson, match_roster, policy, aliases)
        ),
        notices=known_notices(notices, now),
        evaluate_at=evaluate_at,
        held=held,
    )
    out = _Collector(lesson, system_author)
    for student in roster:
        out.add(*_judge_sync_student(context, student))
    out.alert(sync.participant_alert(lesson, match, school))
    return out.result()


def evaluate_async(
    lesson: Lesson,
    school: School,
    evidence: Sequence[ActivityEvidence] | None,
    notices: Sequence[Notice],
    policy: Policy,
    now: dt.datetime,
    *,
    system_author: str,
    aliases: Aliases = None,
    closing: bool = False,
) -> LessonResult:
    """Judge an asynchronous lesson (points 31, 35, 42, 20, 28, 39, 43, 14.5).

    Args:
        lesson: the timetable lesson.
        school: the school.
        evidence: evidence per linked activity, or None when nothing could be looked up.
        notices: absence notices; those received after ``now`` are ignored.
        policy: the school's policy.
        now: the instant of judging.
        system_author: kartiba's journal account.
        aliases: extra display names per student id for matching imported rows.
        closing: the attendance window has closed: this is the last look, so students
            whose record the platform could not show become ``evidence_missing``.

    Returns:
        Verdicts for every student of the lesson's group; students whose (extended) due time
        has not passed yet are ``not_yet_due`` and the result is not final. A student whose
        record was not visible or not final gets no mark ("no wrong n").
    """
    if not _attendance_applies(lesson, school, policy):
        return LessonResult(lesson.id, final=True)
    roster = school.roster(lesson.group_id)
    info = lesson_info(lesson, policy)
    evaluate_at = asynchronous.async_evaluation_time(
        asynchronous.lesson_due(lesson, info, policy), policy
    )
    if now < evaluate_at:
        return _pending(lesson, roster, asynchronous.BASE_POINT, evaluate_at)
    evidences = tuple(evidence or ())
    gap = activity_gap(evidences)
    found = [ev for ev in evidences if ev.found]
    if not found and not gap:
        cause = _missing_cause(bool(evidences), bool(info.activities), evidences)
        return _no_evidence(lesson, roster, asynchronous.BASE_POINT,
                            closing or cause == NO_LINK, cause)
    known = known_notices(notices, now)
    engaged = asynchronous.engagement(found, roster, policy, aliases)
    visible = visible_students(found, RosterIndex(roster, aliases), policy)
    out = _Collector(lesson, system_author)
    unseen: dict[str, str] = {}
    for student in roster:
        judgement = _judge_async_student(lesson, student, info, policy, now, known, engaged)
        why = gap or ("" if visible is None or student.id in visible
                      else EvidenceGap.NOT_VISIBLE.value)
        if why and _would_mark(judgement):
            unseen[student.id] = why
            judgement = Judgement(_unseen_verdict(lesson, student.id, why, closing))
        out.add(judgement)
    if unseen and closing:
        out.alert(_missing_alert(asynchronous.BASE_POINT, lesson.id, next(iter(unseen.values())),
                                 _gap_detail(evidences, gap), students=len(unseen)))
    return out.result()


def absence_alert(mark: Mark) -> Alert:
    """Points 22, 32: the class teacher hears of every "n" that was written, excused or not."""
    return make_alert(
        AlertKind.ABSENCE,
        mark.lesson_id,
        mark.student_id,
        excused=mark.excused,
        detail={"code": mark.code, "reason": mark.reason, "mark_points": mark.points},
    )


def mark_not_written_alert(mark: Mark, why: str) -> Alert:
    """Points 22, 32, 43: an "n" the journal would not take (e.g. ``journal_locked``) by the
    time the lesson left the attendance window: the teacher and the class teacher enter it by
    hand. Carries the mark's excused flag, reason and points, and why it was not written."""
    return make_alert(
        AlertKind.MARK_NOT_WRITTEN,
        mark.lesson_id,
        mark.student_id,
        excused=mark.excused,
        detail={"code": mark.code, "reason": mark.reason, "mark_points": mark.points,
                "cause": why},
    )


# --------------------------------------------------------------------------- checks


def check_uzdots(
    lesson: Lesson,
    calendar: SchoolCalendar,
    policy: Policy,
    now: dt.datetime,
    *,
    school: School | None = None,
) -> tuple[Alert, ...]:
    """Point 16: the UZDOTS entry of a remote lesson is missing, late or incomplete.

    Checked once the deadline (17:00 on the previous working day) has passed, for lessons
    dated at most ``uzdots_check_days`` before ``now``.

    Args:
        lesson: the lesson.
        calendar: the school's working-day calendar.
        policy: the school's policy.
        now: the instant of checking.
        school: when given, a remote class hour needs a meeting link (point 13).
    """
    if not remote_in_force(lesson, policy):
        return ()
    deadline = uzdots_deadline(lesson, calendar, policy)
    if now < deadline or not within_check_days(lesson, now, policy.uzdots_check_days):
        return ()
    missing = uzdots_missing(lesson, deadline)
    if missing is not None:
        return (missing,)
    info = lesson_info(lesson, policy)
    found = (
        uzdots_late(lesson, deadline),
        uzdots_incomplete(lesson, info, sync.is_synchronous(lesson, school)),
    )
    return tuple(a for a in found if a is not None)


def check_topic(lesson: Lesson, policy: Policy, now: dt.datetime) -> tuple[Alert, ...]:
    """Point 14.2: a remote lesson of the last ``uzdots_check_days`` days has no topic."""
    if not remote_in_force(lesson, policy):
        return ()
    if not within_check_days(lesson, now, policy.uzdots_check_days):
        return ()
    alert = topic_missing(lesson, now)
    return () if alert is None else (alert,)


def check_quota(
    lessons: Sequence[Lesson], school: School, policy: Policy, now: dt.datetime
) -> tuple[Alert, ...]:
    """Point 7: remote share per group × subject in the school year of ``now``."""
    return quota_alerts(in_school_year(lessons, now, policy), school, policy)


def check_practice(
    lessons: Sequence[Lesson], school: School, policy: Policy, now: dt.datetime
) -> tuple[Alert, ...]:
    """Point 8: every remote qualification-practice lesson of the school year of ``now``."""
    found = (practice_remote(lesson, school) for lesson in in_school_year(lessons, now, policy))
    return tuple(a for a in found if a is not None)


# --------------------------------------------------------------------------- helpers


def _judged_as_async(lesson: Lesson, school: School | None) -> bool:
    return lesson.mode is LessonMode.REMOTE_ASYNC and not sync.is_synchronous(lesson, school)


def _attendance_applies(lesson: Lesson, school: School, policy: Policy) -> bool:
    """Points 2, 8, 47: a remote, non-practice lesson on or after the effective date."""
    return remote_in_force(lesson, policy) and not is_practice(lesson, school)


def _pending(
    lesson: Lesson, roster: Iterable[Student], base_point: str, evaluate_at: dt.datetime
) -> LessonResult:
    """Points 30, 35: before the evaluation time every student is ``not_yet_due``."""
    verdicts = tuple(not_yet_due(lesson, s.id, base_point, evaluate_at) for s in roster)
    return LessonResult(lesson.id, verdicts=verdicts, final=False)


def _no_evidence(
    lesson: Lesson, roster: Iterable[Student], base_point: str, final: bool, cause: str
) -> LessonResult:
    """Points 30, 31: no meeting / activity data — no marks; the teacher is told."""
    verdicts = tuple(
        not_evaluated(lesson, s.id, base_point, "evidence_missing", {"cause": cause})
        for s in roster
    )
    alert = _missing_alert(base_point, lesson.id, cause)
    return LessonResult(lesson.id, verdicts=verdicts, alerts=(alert,), final=final)


def _incomplete(lesson: Lesson, roster: Iterable[Student], base_point: str, gap: str,
                gap_detail: str, closing: bool) -> LessonResult:
    """Points 30, 31, 43: the platform could not (yet) show everything — no marks.

    Before the window closes the lesson stays open and is tried again; at the closing look
    the teacher gets ``evidence_missing`` with the reason and the lesson is final.
    """
    verdicts = tuple(_unseen_verdict(lesson, s.id, gap, closing, base_point) for s in roster)
    if not closing:
        return LessonResult(lesson.id, verdicts=verdicts, final=False)
    alert = _missing_alert(base_point, lesson.id, gap, gap_detail)
    return LessonResult(lesson.id, verdicts=verdicts, alerts=(alert,), final=True)


def _unseen_verdict(lesson: Lesson, student_id: str, gap: str, closing: bool,
                    base_point: str = asynchronous.BASE_POINT) -> Verdict:
    """No verdict that writes a mark: the student's record was not visible or not final."""
    reason = "evidence_missing" if closing else INCOMPLETE
    return not_evaluated(lesson, student_id, base_point, reason, {"cause": gap, "gap": gap})


def _missing_alert(base_point: str, lesson_id: str, cause: str, gap_detail: str = "",
                   students: int | None = None) -> Alert:
    """``evidence_missing`` to the teacher, with the cause (and the technical detail)."""
    detail: dict[str, object] = {"cause": cause}
    if gap_detail:
        detail["gap_detail"] = gap_detail
    if students is not None:
        detail["students"] = students
    return make_alert(AlertKind.EVIDENCE_MISSING, lesson_id, points=(base_point,),
                      detail=detail)


def _meetings(evidence: MeetingInput) -> tuple[MeetingEvidence, ...]:
    if evidence is None:
        return ()
    if isinstance(evidence, MeetingEvidence):
        return (evidence,)
    return tuple(evidence)


def _gap_detail(evidences: Sequence[MeetingEvidence | ActivityEvidence], gap: str) -> str:
    return next((ev.gap_detail for ev in evidences if ev.gap == gap and ev.gap_detail), "")


def _would_mark(judgement: Judgement) -> bool:
    """The judgement writes an "n" or decides an absence (ambiguous ones write nothing)."""
    return judgement.writes_mark or judgement.verdict.outcome in (
        Outcome.ABSENT_EXCUSED, Outcome.ABSENT_UNEXCUSED)


def _missing_cause(looked_up: bool, linked: bool,
                   evidences: Sequence[MeetingEvidence | ActivityEvidence] = ()) -> str:
    """Why there is no evidence: the platform had none, nothing was looked up, or no link."""
    if any(ev.gap == EvidenceGap.INVALID_LINK for ev in evidences):
        return INVALID_LINK
    if looked_up:
        return NOT_FOUND
    return NO_EVIDENCE if linked else NO_LINK


def _candidate_counts(match: MatchResult) -> dict[str, int]:
    """Student id -> number of namesake participants that could be them."""
    counts: dict[str, int] = {}
    for _, candidates in match.ambiguous:
        for sid in candidates:
            counts[sid] = counts.get(sid, 0) + 1
    return counts


@dataclass(frozen=True, slots=True)
class _SyncContext:
    lesson: Lesson
    policy: Policy
    match: MatchResult
    ambiguous: Mapping[str, int]
    registered: frozenset[str] | None  # None = the meeting has no chat data
    notices: tuple[Notice, ...]
    evaluate_at: dt.datetime
    held: HeldPart | None = None


def _judge_sync_student(ctx: _SyncContext, student: Student) -> tuple[Judgement, Alert | None]:
    """One student of a synchronous lesson: 19, 14.5, 30, then the notices."""
    lesson = ctx.lesson
    rows = ctx.match.matched.get(student.id, ())
    if sync.was_removed(rows):
        return Judgement(sync.removed_verdict(lesson, student.id)), sync.removed_alert(
            lesson, student.id
        )
    if works_offline(student):
        return Judgement(offline_verdict(lesson, student)), None
    held = (ctx.held.start, ctx.held.end) if ctx.held else None
    presence = sync.presence_verdict(lesson, student.id, rows, ctx.policy, held)
    if presence.outcome is Outcome.PRESENT:
        unregistered = ctx.registered is not None and student.id not in ctx.registered
        alert = sync.chat_alert(lesson, student.id, ctx.policy) if unregistered else None
        return Judgement(presence), alert
    if student.id in ctx.ambiguous:
        ambiguous = sync.ambiguous_verdict(lesson, student.id, ctx.ambiguous[student.id])
        return Judgement(ambiguous), None
    return rule_absence(presence, lesson, ctx.notices, ctx.evaluate_at, tech_point="41"), None


def _judge_async_student(
    lesson: Lesson,
    student: Student,
    info: UzdotsInfo,
    policy: Policy,
    now: dt.datetime,
    notices: Sequence[Notice],
    engaged: asynchronous.Engagement,
) -> Judgement:
    """One student of an asynchronous lesson: 14.5, 35/42 (due), 31, then the notices."""
    if works_offline(student):
        return Judgement(offline_verdict(lesson, student))
    extended = extended_due(notices, student.id, lesson.date)
    due = extended or asynchronous.lesson_due(lesson, info, policy)
    evaluate_at = asynchronous.async_evaluation_time(due, policy)
    if now < evaluate_at:
        return Judgement(not_yet_due(lesson, student.id, asynchronous.BASE_POINT, evaluate_at))
    base = asynchronous.activity_verdict(lesson, student.id, engaged, due)
    if base.outcome is Outcome.PRESENT:
        return Judgement(base)
    if student.id in engaged.ambiguous:
        return Judgement(
            asynchronous.ambiguous_verdict(lesson, student.id, engaged.ambiguous[student.id])
        )
    return rule_absence(
        base, lesson, notices, evaluate_at, tech_point="42", due_extended=extended is not None
    )


@dataclass
class _Collector:
    """Accumulates one lesson's judgements into a :class:`LessonResult`."""

    lesson: Lesson
    system_author: str
    verdicts: list[Verdict] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    def add(self, judgement: Judgement, alert: Alert | None = None) -> None:
        self.verdicts.append(judgement.verdict)
        mark, skip = write_or_skip(judgement, self.lesson, self.system_author)
        if mark is not None:
            self.marks.append(mark)
        if skip is not None:
            self.skips.append(skip)
        self.alert(alert)

    def alert(self, alert: Alert | None) -> None:
        if alert is not None:
            self.alerts.append(alert)

    def result(self) -> LessonResult:
        final = all(v.outcome is not Outcome.NOT_YET_DUE and v.reason != INCOMPLETE
                    for v in self.verdicts)
        return LessonResult(
            self.lesson.id,
            verdicts=tuple(self.verdicts),
            marks=tuple(self.marks),
            skips=tuple(self.skips),
            alerts=tuple(self.alerts),
            final=final,
        )
