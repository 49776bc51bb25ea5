"""The domain model: immutable, typed data shared by connectors, rules and jobs.

Every datetime here is timezone-aware. Connectors convert upstream times on the way in;
rules compare instants and convert to Europe/Riga only where a rule speaks of local time.
This module holds data classes only: no I/O, no clock, no environment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class LessonMode(StrEnum):
    """How a timetable lesson is delivered (from e-klase's lessonType via a table)."""

    IN_PERSON = "in_person"
    REMOTE_SYNC = "remote_sync"
    REMOTE_ASYNC = "remote_async"

    @property
    def is_remote(self) -> bool:
        return self is not LessonMode.IN_PERSON


class SubjectKind(StrEnum):
    """Kind of a subject / module in the curriculum."""

    SUBJECT = "subject"
    MODULE = "module"
    QUALIFICATION_PRACTICE = "qualification_practice"
    CLASS_HOUR = "class_hour"


class NoticeKind(StrEnum):
    """Why a student (or parent) told the school about an absence (points 20, 26-29, 41-42)."""

    ILLNESS = "illness"
    OTHER = "other"
    TECH_PROBLEM = "tech_problem"


class Agreement(StrEnum):
    """What a student with a technical problem agreed with the teacher (points 41, 42)."""

    CATCH_UP = "catch_up"
    EXTENDED_DEADLINE = "extended_deadline"


class Outcome(StrEnum):
    """The verdict on one student in one lesson."""

    PRESENT = "present"
    ABSENT_EXCUSED = "absent_excused"
    ABSENT_UNEXCUSED = "absent_unexcused"
    NOT_YET_DUE = "not_yet_due"
    NOT_EVALUATED = "not_evaluated"


class EvidenceGap(StrEnum):
    """Why a platform's evidence for a lesson is not (yet) complete ("no wrong n").

    Incomplete evidence is never read as "no activity": no mark for the students it
    concerns, the lesson is tried again while it is in the attendance window, and the
    teacher gets ``evidence_missing`` with this reason when the window closes.
    """

    MEETING_RUNNING = "meeting_running"  # the lesson's own session has not ended
    REPORT_NOT_READY = "report_not_ready"  # the platform has not produced the report yet
    NO_ACCESS = "no_access"  # the account may not read it (403, rights missing)
    NOT_VISIBLE = "not_visible"  # some students are not visible to the account
    WARNINGS = "warnings"  # the answer carried warnings
    FETCH_FAILED = "fetch_failed"  # the upstream failed (after the client's retries)
    INVALID_LINK = "invalid_link"  # the link names no meeting/activity (definitive)
    ORGANIZER_UNREADABLE = "organizer_unreadable"  # organised by someone kartiba may not read


def incomplete(gap: str) -> bool:
    """True when ``gap`` makes evidence incomplete (an invalid link is definitive, not a gap)."""
    return bool(gap) and gap != EvidenceGap.INVALID_LINK


class Audience(StrEnum):
    """Who an alert goes to; the jobs resolve roles to e-mail addresses."""

    TEACHER = "teacher"  # the lesson's teacher (point 33)
    CLASS_TEACHER = "class_teacher"  # the group's class teacher (points 19, 22, 32)
    OVERSIGHT = "oversight"  # deputy directors etc. (point 6)
    PARENTS = "parents"  # optional, off by default (point 32)


class AlertKind(StrEnum):
    """Alert kinds, exactly as scenario.md's result.json names them."""

    UZDOTS_MISSING = "uzdots_missing"
    UZDOTS_LATE = "uzdots_late"
    UZDOTS_INCOMPLETE = "uzdots_incomplete"
    TOPIC_MISSING = "topic_missing"
    ABSENCE = "absence"
    CHAT_NOT_REGISTERED = "chat_not_registered"
    UNMATCHED_PARTICIPANT = "unmatched_participant"
    EVIDENCE_MISSING = "evidence_missing"
    REMOVED_BY_TEACHER = "removed_by_teacher"
    QUOTA_WARNING = "quota_warning"
    QUOTA_EXCEEDED = "quota_exceeded"
    PRACTICE_REMOTE = "practice_remote"
    #: an "n" the journal would not take (its page locked) until the attendance window closed:
    #: to be entered by hand (points 22, 32, 43); added by kartiba, see docs/CONVENTIONS.md
    MARK_NOT_WRITTEN = "mark_not_written"
    LESSON_CHANGED_AFTER_MARKS = "lesson_changed_after_marks"


def frozen_map(data: Mapping | None = None) -> Mapping:
    """A read-only view of a dict copy, for mapping fields of frozen data classes."""
    return MappingProxyType(dict(data or {}))


# --------------------------------------------------------------------------- school


@dataclass(frozen=True, slots=True)
class Teacher:
    id: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    class_teacher_id: str | None = None


@dataclass(frozen=True, slots=True)
class Student:
    id: str
    group_id: str
    first_name: str
    last_name: str
    email: str = ""
    offline_mode: bool = False  # point 14.5: no internet/devices, works on worksheets
    aliases: tuple[str, ...] = ()  # display names the student is known to use
    # subgroups / other groups whose lessons the student also attends (languages, workshop
    # halves, shared modules); ``group_id`` stays the home group whose class teacher is theirs
    other_groups: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def attends(self, group_id: str) -> bool:
        """The student is on the roster of the group's lessons (home group or another)."""
        return self.group_id == group_id or group_id in self.other_groups


@dataclass(frozen=True, slots=True)
class Subject:
    id: str
    name: str
    kind: SubjectKind = SubjectKind.SUBJECT
    planned_hours: Mapping[str, int] = field(default_factory=frozen_map)  # group id -> hours/year


@dataclass(frozen=True, slots=True)
class School:
    """Everything about the school the rules need besides lessons."""

    name: str
    teachers: Mapping[str, Teacher] = field(default_factory=frozen_map)
    groups: Mapping[str, Group] = field(default_factory=frozen_map)
    students: Mapping[str, Student] = field(default_factory=frozen_map)
    subjects: Mapping[str, Subject] = field(default_factory=frozen_map)
    oversight: tuple[str, ...] = ()  # e-mail addresses (point 6)

    def roster(self, group_id: str) -> tuple[Student, ...]:
        """Students who attend one group's lessons, ordered by id, each once.

        The group's own students and those whose ``other_groups`` include it (subgroups,
        modules shared by groups).
        """
        return tuple(s for _, s in sorted(self.students.items()) if s.attends(group_id))

    def student_label(self, student_id: str) -> str:
        """The student's name as people read it; namesakes in one group are told apart.

        Two students of one group with the same full name get the journal's student id
        after the name (``"Jānis Bērziņš (ID s02)"``); an unknown id is shown as itself.
        """
        student = self.students.get(student_id)
        if student is None:
            return student_id
        name = student.full_name
        folded = name.casefold()
        namesakes = sum(1 for other in self.students.values()
                        if other.group_id == student.group_id
                        and other.full_name.casefold() == folded)
        return f"{name} (ID {student_id})" if namesakes > 1 else name


# --------------------------------------------------------------------------- journal


@dataclass(frozen=True, slots=True)
class UzdotsEntry:
    """The e-klase diary entry "UZDOTS" of one lesson (point 16)."""

    text: str
    created_at: dt.datetime
    modified_at: dt.datetime | None = None
    attachments: tuple[str, ...] = ()
    author_id: str | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    """The lesson topic entered in e-klase (point 14.2)."""

    text: str
    entered_at: dt.datetime


@dataclass(frozen=True, slots=True)
class JournalMark:
    """A mark already present in the journal for one student in one lesson."""

    student_id: str
    code: str
    author_id: str
    entered_at: dt.datetime | None = None
    excused: bool | None = None


@dataclass(frozen=True, slots=True)
class MarkEdit:
    """A person set, changed or deleted (``code`` None) a student's mark in a lesson."""

    student_id: str
    author_id: str
    at: dt.datetime
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Lesson:
    """One timetable lesson of one group as the journal has it at the time of reading."""

    id: str
    group_id: str
    subject_id: str
    teacher_id: str
    date: dt.date
    number: int
    start: dt.datetime  # aware
    end: dt.datetime  # aware
    mode: LessonMode
    uzdots: UzdotsEntry | None = None
    topic: Topic | None = None
    marks: tuple[JournalMark, ...] = ()
    lesson_type: str = ""  # e-klase's own label, kept for explanations
    cancelled: bool = False  # the journal shows the lesson as cancelled
    modified_at: dt.datetime | None = None  # last change of its time, mode or cancellation
    mark_edits: tuple[MarkEdit, ...] = ()  # persons' mark edits, oldest first

    @property
    def is_remote(self) -> bool:
        """A remote lesson that takes place (not cancelled)."""
        return self.mode.is_remote and not self.cancelled


@dataclass(frozen=True, slots=True)
class Notice:
    """An absence notice received by the school (points 20, 28, 41, 42)."""

    id: str
    student_id: str
    kind: NoticeKind
    date_from: dt.date
    date_to: dt.date
    received_at: dt.datetime
    agreement: Agreement | None = None
    new_due: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None  # the notice was cancelled at this instant

    def covers(self, day: dt.date) -> bool:
        return self.date_from <= day <= self.date_to


# --------------------------------------------------------------------------- links


@dataclass(frozen=True, slots=True)
class MeetingRef:
    """A synchronous meeting found in a UZDOTS text."""

    platform: str  # "zoom" | "teams" | "meet"
    key: str  # zoom: numeric meeting id; teams: the join URL; meet: meeting code abc-defg-hij
    url: str


@dataclass(frozen=True, slots=True)
class ActivityRef:
    """An asynchronous activity found in a UZDOTS text."""

    platform: str  # "moodle" | "uzdevumi" | "soma"
    url: str
    kind: str = ""  # moodle: "assign" | "quiz" | other module name; else ""
    cmid: int | None = None  # moodle course-module id from ?id=


@dataclass(frozen=True, slots=True)
class UzdotsInfo:
    """What the rules read out of a UZDOTS text."""

    meetings: tuple[MeetingRef, ...] = ()
    activities: tuple[ActivityRef, ...] = ()
    due: dt.datetime | None = None  # aware, Riga
    has_criteria: bool = False


# --------------------------------------------------------------------------- evidence


@dataclass(frozen=True, slots=True)
class Segment:
    """A half-open time interval [start, end) during which someone was connected."""

    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


@dataclass(frozen=True, slots=True)
class Participant:
    """One person as a meeting platform reports them, segments already merged per person."""

    name: str
    email: str = ""
    platform_id: str = ""  # platform user id where the platform gives one
    segments: tuple[Segment, ...] = ()
    removed_by_host: bool = False  # point 19


@dataclass(frozen=True, slots=True)
class ChatLine:
    at: dt.datetime
    name: str
    text: str
    email: str = ""


@dataclass(frozen=True, slots=True)
class MeetingEvidence:
    """Everything a meeting platform told us about one meeting around one lesson.

    ``chat`` is None when the meeting has no chat data at all (no recording chat file,
    no webhook events); an empty tuple means chat data exists and nobody wrote.
    """

    platform: str
    key: str
    found: bool = True
    participants: tuple[Participant, ...] = ()
    chat: tuple[ChatLine, ...] | None = None
    host_email: str = ""
    host_name: str = ""
    instances: int = 0
    sessions: tuple[Segment, ...] = ()  # start-end of each relevant session (held part)
    gap: str = ""  # "" = complete; else an EvidenceGap value
    gap_detail: str = ""  # short technical detail, ids only (e.g. the missing right)

    @property
    def complete(self) -> bool:
        """The platform showed everything about this meeting (no gap)."""
        return not incomplete(self.gap)


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """A sign of engagement with an asynchronous activity (point 31)."""

    platform: str
    activity_url: str
    at: dt.datetime
    kind: str  # "submission" | "attempt" | "completion" | "result"
    email: str = ""
    name: str = ""
    student_id: str | None = None  # set where the connector could map the user itself


@dataclass(frozen=True, slots=True)
class ActivityUser:
    """A user the platform showed to kartiba's account for an activity (visibility)."""

    email: str = ""
    name: str = ""
    student_id: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityEvidence:
    """Evidence for one activity link; ``found`` False = the platform has no such activity.

    ``visible`` lists the users the platform showed for the activity; None means the
    platform does not enumerate users (imports), so every student counts as visible. A
    student with no activity who is not visible gets no mark.
    """

    ref: ActivityRef
    found: bool = True
    records: tuple[ActivityRecord, ...] = ()
    due: dt.datetime | None = None  # the platform's own due date, where it has one
    gap: str = ""  # "" = complete; else an EvidenceGap value
    gap_detail: str = ""  # short technical detail, ids only
    visible: tuple[ActivityUser, ...] | None = None

    @property
    def complete(self) -> bool:
        """The platform showed everything about this activity (no gap)."""
        return not incomplete(self.gap)


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision on one student in one lesson, with the kārtība points behind it."""

    lesson_id: str
    student_id: str
    outcome: Outcome
    points: tuple[str, ...]
    reason: str  # machine code, e.g. "not_connected", "left_early", "no_activity"
    detail: Mapping[str, object] = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True)
class Mark:
    """A mark kartiba proposes to write to the journal (point 43)."""

    lesson_id: str
    student_id: str
    code: str
    excused: bool
    points: tuple[str, ...]
    reason: str

    @property
    def key(self) -> str:
        """Idempotency key: one mark per lesson x student, ever."""
        return f"{self.lesson_id}:{self.student_id}"


@dataclass(frozen=True, slots=True)
class Skip:
    """A mark kartiba would have written but did not (e.g. a human's mark is there)."""

    lesson_id: str
    student_id: str
    why: str  # "manual_mark"


@dataclass(frozen=True, slots=True)
class Alert:
    """A notification item; jobs group items into one e-mail per recipient per run."""

    kind: AlertKind
    lesson_id: str | None
    student_id: str | None
    audience: tuple[Audience, ...]
    points: tuple[str, ...]
    excused: bool | None = None  # only for ABSENCE
    detail: Mapping[str, object] = field(default_factory=frozen_map)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.lesson_id or '-'}:{self.student_id or '-'}"


@dataclass(frozen=True, slots=True)
class LessonResult:
    """What the rules decided about one lesson at one instant."""

    lesson_id: str
    verdicts: tuple[Verdict, ...] = ()
    marks: tuple[Mark, ...] = ()
    skips: tuple[Skip, ...] = ()
    alerts: tuple[Alert, ...] = ()
    final: bool = False  # True = nothing will change: the jobs stop looking at this lesson
