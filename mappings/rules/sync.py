"""Synchronous lessons: points 30, 13, 15 and 19.

Point 30: the student registers in the meeting chat at the start, takes part and answers;
not connected, or disconnecting without reason, counts as a missed lesson. The software reads
"takes part" as connected for at least ``policy.min_presence_share`` of the lesson window
[start, end) (segments merged, time outside the lesson not counted) and "at the start" as the
first ``policy.join_grace_minutes``. A late join is not an absence by itself: presence decides.
Chat registration is only flagged to the teacher, never marked.

Point 13: class-teacher hours are synchronous lessons. Point 15: one meeting may serve several
timetable lessons (a joint lesson): participants are matched over every group's roster, each
lesson judges its own group. Point 19: a student removed by the teacher did not leave without
reason: no automatic verdict, the class teacher is told.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from mappings.identity import MatchResult, RosterIndex, match_person, name_key
from mappings.model import (
    Alert,
    AlertKind,
    ChatLine,
    Lesson,
    LessonMode,
    MeetingEvidence,
    Outcome,
    Participant,
    School,
    Segment,
    Student,
    SubjectKind,
    Teacher,
    Verdict,
)
from mappings.policy import Policy
from mappings.presence import connected_seconds, first_join, merge_segments, presence_share
from mappings.rules.alerts import make_alert
from mappings.rules.verdicts import iso, not_evaluated, verdict

BASE_POINT = "30"


def is_class_hour(lesson: Lesson, school: School) -> bool:
    """Point 13: the lesson is a class-teacher hour (audzināšanas stunda)."""
    subject = school.subjects.get(lesson.subject_id)
    return subject is not None and subject.kind is SubjectKind.CLASS_HOUR


def is_synchronous(lesson: Lesson, school: School | None = None) -> bool:
    """Points 13, 30: a remote lesson judged as synchronous.

    A remote class hour is synchronous whatever its e-klase lesson type says (point 13);
    an in-person lesson is never synchronous-remote.
    """
    if not lesson.is_remote:
        return False
    if lesson.mode is LessonMode.REMOTE_SYNC:
        return True
    return school is not None and is_class_hour(lesson, school)


def sync_evaluation_time(lesson: Lesson, policy: Policy) -> dt.datetime:
    """Point 30: a synchronous lesson is judged ``sync_evaluate_after_minutes`` after its end."""
    return lesson.end + dt.timedelta(minutes=policy.sync_evaluate_after_minutes)


def joint_match_roster(
    roster: Sequence[Student], joint_roster: Sequence[Student]
) -> tuple[Student, ...]:
    """Point 15: the students a shared meeting's participants are matched against.

    The union of the lesson's own roster and the joint roster, each student once.
    """
    seen: dict[str, Student] = {}
    for student in (*roster, *joint_roster):
        seen.setdefault(student.id, student)
    return tuple(seen.values())


def meeting_host(lesson: Lesson, school: School, evidence: MeetingEvidence) -> Teacher | None:
    """The meeting host: the teacher the platform names as host, else the lesson's teacher.

    In a joint lesson (point 15) the host may be another group's teacher.
    """
    email = evidence.host_email.casefold()
    if email:
        for teacher in school.teachers.values():
            if teacher.email and teacher.email.casefold() == email:
                return teacher
    return school.teachers.get(lesson.teacher_id)


# --------------------------------------------------------------------------- point 19


def was_removed(rows: Iterable[Participant]) -> bool:
    """Point 19: the teacher removed the student from the meeting."""
    return any(row.removed_by_host for row in rows)


def removed_verdict(lesson: Lesson, student_id: str) -> Verdict:
    """Point 19: a removal is not "left without reason" — not evaluated, no mark."""
    return not_evaluated(lesson, student_id, "19", "removed_by_teacher")


def removed_alert(lesson: Lesson, student_id: str) -> Alert:
    """Point 19: the teacher informs the class teacher of the removal."""
    return make_alert(AlertKind.REMOVED_BY_TEACHER, lesson.id, student_id)


# --------------------------------------------------------------------------- point 30


def presence_verdict(
    lesson: Lesson,
    student_id: str,
    rows: Iterable[Participant],
    policy: Policy,
    held: tuple[dt.datetime, dt.datetime] | None = None,
) -> Verdict:
    """Point 30: present when connected for at least ``min_presence_share`` of the held part.

    The held part (``held``, default the whole lesson) runs from the lesson start, or the
    meeting's start if later, to the lesson end, or the meeting's end if earlier: a teacher
    who ends the meeting early does not make students "disconnect without reason".

    Reasons: ``connected`` (present), ``not_connected`` (no time inside the lesson),
    ``joined_late`` (first joined after the grace window and too little time), ``left_early``
    (too little time otherwise: disconnected without reason).
    """
    start, end = held or (lesson.start, lesson.end)
    segments = merge_segments(s for row in rows for s in row.segments)
    detail = presence_detail(lesson, segments, policy, (start, end))
    share = presence_share(segments, start, end)
    if share >= policy.min_presence_share:
        return verdict(lesson, student_id, Outcome.PRESENT, (BASE_POINT,), "connected", detail)
    if connected_seconds(segments, start, end) <= 0:
        reason = "not_connected"
    elif detail["late_join"]:
        reason = "joined_late"
    else:
        reason = "left_early"
    return verdict(lesson, student_id, Outcome.ABSENT_UNEXCUSED, (BASE_POINT,), reason, detail)


def presence_detail(
    lesson: Lesson,
    segments: Sequence[Segment],
    policy: Policy,
    held: tuple[dt.datetime, dt.datetime] | None = None,
) -> dict[str, object]:
    """The numbers behind a presence verdict (minutes, share of the held part), no names."""
    start, end = held or (lesson.start, lesson.end)
    lesson_seconds = (lesson.end - lesson.start).total_seconds()
    connected = connected_seconds(segments, start, end)
    joined = first_join(segments)
    detail: dict[str, object] = {
        "connected_minutes": round(connected / 60, 1),
        "lesson_minutes": round(lesson_seconds / 60, 1),
        "share": round(presence_share(segments, start, end), 4),
        "required_share": policy.min_presence_share,
        "first_join": iso(joined),
        "late_join": joined is not None and joined > grace_end(lesson, policy),
    }
    if (start, end) != (lesson.start, lesson.end):
        detail["held_minutes"] = round((end - start).total_seconds() / 60, 1)
        detail["held_start"] = iso(start)
        detail["held_end"] = iso(end)
    return detail


def grace_end(lesson: Lesson, policy: Policy) -> dt.datetime:
    """Point 30 "at the start": the end of the join / chat-registration window."""
    return lesson.start + dt.timedelta(minutes=policy.join_grace_minutes)


def registered_in_chat(
    chat: Iterable[ChatLine],
    lesson: Lesson,
    roster: Sequence[Student],
    policy: Policy,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> frozenset[str]:
    """Point 30: students who wrote in the meeting chat within [start, start + grace].

    Chat lines are matched to students like participants are; a line that could be several
    students registers none of them.
    """
    end = grace_end(lesson, policy)
    index = RosterIndex(roster, aliases)
    registered: set[str] = set()
    for line in chat:
        if lesson.start <= line.at <= end:
            candidates = match_person(line.name, line.email, index, policy)
            if len(candidates) == 1:
                registered.add(candidates[0])
    return frozenset(registered)


def chat_alert(lesson: Lesson, student_id: str, policy: Policy) -> Alert:
    """Point 30: a present student who did not register in the chat — flagged, never marked."""
    return make_alert(
        AlertKind.CHAT_NOT_REGISTERED,
        lesson.id,
        student_id,
        detail={
            "grace_minutes": policy.join_grace_minutes,
            "window_start": iso(lesson.start),
            "window_end": iso(grace_end(lesson, policy)),
        },
    )


def ambiguous_verdict(lesson: Lesson, student_id: str, candidates: int) -> Verdict:
    """Point 30 + "never guess": a namesake participant — no automatic verdict."""
    return not_evaluated(
        lesson, student_id, BASE_POINT, "ambiguous_identity", {"candidates": candidates}
    )


def participant_alert(
    lesson: Lesson, match: MatchResult, school: School, base_point: str = BASE_POINT
) -> Alert | None:
    """Point 30: one alert per lesson listing participants the rules could not attribute.

    Unmatched participants (other than the school's teachers) and ambiguous ones (namesakes)
    are listed by display name for the teacher to check; None when there are none.
    """
    teachers = _teacher_keys(school)
    unmatched = [p for p in match.unmatched if not _is_teacher(p, teachers)]
    ambiguous = [p for p, _ in match.ambiguous]
    if not unmatched and not ambiguous:
        return None
    return make_alert(
        AlertKind.UNMATCHED_PARTICIPANT,
        lesson.id,
        None,
        points=(base_point,),
        detail={
            "participants": tuple(_display(p) for p in (*unmatched, *ambiguous)),
            "unmatched": len(unmatched),
            "ambiguous": len(ambiguous),
        },
    )


def _display(participant: Participant) -> str:
    return participant.name or participant.email or participant.platform_id or "?"


def _teacher_keys(school: School) -> tuple[frozenset[str], frozenset[str]]:
    emails = frozenset(t.email.casefold() for t in school.teachers.values() if t.email)
    names = frozenset(name_key(t.name) for t in school.teachers.values() if t.name)
    return emails, names


def _is_teacher(participant: Participant, keys: tuple[frozenset[str], frozenset[str]]) -> bool:
    emails, names = keys
    if participant.email and participant.email.casefold() in emails:
        return True
    return bool(participant.name) and name_key(participant.name) in names

