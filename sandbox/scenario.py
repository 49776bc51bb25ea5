"""Scenario v1 loader: the whole small world a sandbox serves (see docs/SCENARIOS.md).

Strict: unknown keys are errors naming their JSON path; JSON and YAML are accepted.

The "Additions to v1" (a journal that changes while the school works) are read here too:
students' ``other_groups``, a lesson's ``added_at``, ``changes``, ``uzdots.edits`` and
``journal_edits``, and a notice's ``id`` and ``withdrawn_at``. The ``*_at`` helpers at the end
tell what the journal shows at an instant; the sandbox servers use them, so every run sees the
journal as it is at that run.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and JSON path."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("time must carry a UTC offset (ISO 8601 with offset)")
    return value


def _aware_or_none(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None else _aware(value)


def _hhmm(value: str | None) -> str | None:
    if value is not None and not _HHMM.match(value):
        raise ValueError("expected Riga local time HH:MM")
    return value


Mode = Literal["in_person", "remote_sync", "remote_async"]


class SchoolInfo(_Strict):
    name: str
    oversight: list[str] = []


class CalendarInfo(_Strict):
    non_teaching_days: list[dt.date] = []


class TeacherRow(_Strict):
    id: str
    name: str
    email: str


class GroupRow(_Strict):
    id: str
    name: str
    class_teacher: str | None = None


class StudentRow(_Strict):
    id: str
    group: str
    first_name: str
    last_name: str
    email: str = ""
    offline_mode: bool = False
    aliases: list[str] = []
    other_groups: list[str] = []  # subgroups / other groups whose lessons the student attends


class SubjectRow(_Strict):
    id: str
    name: str
    kind: Literal["subject", "module", "qualification_practice", "class_hour"] = "subject"
    planned_hours: dict[str, int] = {}


class UzdotsEditRow(_Strict):
    """From ``at`` on the UZDOTS entry reads so (omitted keys keep their value)."""

    at: dt.datetime
    text: str | None = None
    attachments: list[str] | None = None
    _aware = field_validator("at")(_aware)


class UzdotsRow(_Strict):
    text: str
    created_at: dt.datetime
    attachments: list[str] = []
    edits: list[UzdotsEditRow] = []
    _aware = field_validator("created_at")(_aware)


class TopicRow(_Strict):
    text: str
    entered_at: dt.datetime
    _aware = field_validator("entered_at")(_aware)


class MarkRow(_Strict):
    student: str
    code: str
    by: str
    at: dt.datetime
    _aware = field_validator("at")(_aware)


class LessonChangeRow(_Strict):
    """From ``at`` on the lesson reads with these values (omitted keys keep their value)."""

    at: dt.datetime
    mode: Mode | None = None
    start: str | None = None
    end: str | None = None
    cancelled: bool | None = None
    _aware = field_validator("at")(_aware)
    _times = field_validator("start", "end")(_hhmm)


class JournalEditRow(_Strict):
    """A person sets (or, with ``code`` null, deletes) a student's mark in the lesson."""

    student: str
    by: str
    at: dt.datetime
    code: str | None
    _aware = field_validator("at")(_aware)


class LessonRow(_Strict):
    id: str
    group: str
    subject: str
    teacher: str
    date: dt.date
    number: int
    start: str
    end: str
    mode: Mode
    uzdots: UzdotsRow | None = None
    topic: TopicRow | None = None
    marks: list[MarkRow] = []
    added_at: dt.datetime | None = None  # in the journal from this instant on
    changes: list[LessonChangeRow] = []
    journal_edits: list[JournalEditRow] = []

    _times = field_validator("start", "end")(_hhmm)
    _added = field_validator("added_at")(_aware_or_none)


class ZoomParticipantRow(_Strict):
    name: str
    email: str = ""
    join: dt.datetime
    leave: dt.datetime
    status: Literal["in_meeting", "in_waiting_room"] = "in_meeting"
    leave_reason: str = ""
    _aware = field_validator("join", "leave")(_aware)


class ChatRow(_Strict):
    at: dt.datetime
    name: str
    text: str
    _aware = field_validator("at")(_aware)


class ZoomInstanceRow(_Strict):
    uuid: str
    start: dt.datetime
    end: dt.datetime
    participants: list[ZoomParticipantRow] = []
    chat: list[ChatRow] | None = None  # None = no chat data at all
    report_ready: dt.datetime | None = None  # participant report available from (None = end)
    _aware = field_validator("start", "end")(_aware)

    @field_validator("report_ready")
    @classmethod
    def _ready_aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else _aware(value)


class ZoomMeetingRow(_Strict):
    id: str
    host: str
    instances: list[ZoomInstanceRow] = []


class ZoomSection(_Strict):
    meetings: list[ZoomMeetingRow] = []


class IntervalRow(_Strict):
    join: dt.datetime
    leave: dt.datetime
    _aware = field_validator("join", "leave")(_aware)


class TeamsRecordRow(_Strict):
    email: str = ""
    name: str
    intervals: list[IntervalRow] = []


class TeamsReportRow(_Strict):
    start: dt.datetime
    end: dt.datetime
    records: list[TeamsRecordRow] = []
    _aware = field_validator("start", "end")(_aware)


class TeamsMeetingRow(_Strict):
    join_url: str
    organizer: str
    reports: list[TeamsReportRow] = []


class TeamsSection(_Strict):
    meetings: list[TeamsMeetingRow] = []


class SessionRow(_Strict):
    start: dt.datetime
    end: dt.datetime
    _aware = field_validator("start", "end")(_aware)


class MeetParticipantRow(_Strict):
    name: str
    email: str = ""
    sessions: list[SessionRow] = []
    # optional: how Meet knows them ("" = signed in with an e-mail, else anonymous)
    kind: Literal["", "signedin", "anonymous", "phone"] = ""


class MeetConferenceRow(_Strict):
    meeting_code: str
    start: dt.datetime
    end: dt.datetime
    participants: list[MeetParticipantRow] = []
    owner: str = ""  # optional: the teacher id owning the meeting space ("" = none known)
    _aware = field_validator("start", "end")(_aware)


class MeetSection(_Strict):
    conferences: list[MeetConferenceRow] = []


class MoodleCourseRow(_Strict):
    id: int
    name: str
    separate_groups: bool = False  # group mode "separate groups" (hides users without
    # moodle/site:accessallgroups)


class MoodleAssignmentRow(_Strict):
    cmid: int
    id: int
    course: int
    name: str
    duedate: dt.datetime | None = None
    submit_button: bool = True  # False: saving is submitting (Moodle's submissiondrafts 0)
    team: bool = False  # team submission: one row per Moodle group (teamsubmission 1)
    _aware = field_validator("duedate")(lambda v: v if v is None else _aware(v))


class MoodleSubmissionRow(_Strict):
    """One state of a submission from ``timemodified`` on; rows of the same attempt are its
    history (the first row's time is Moodle's ``timecreated``)."""

    assignment: int
    student: str = ""  # the submitting student, or "" with ``group`` for a team submission
    group: int | None = None  # a Moodle group id (``moodle.groups``): the team's submission
    attempt: int = 0  # Moodle's attemptnumber; a reopened submission starts attempt + 1
    status: Literal["submitted", "draft", "new", "reopened"] = "submitted"
    timemodified: dt.datetime
    by: str = ""  # team submission only: the member who saved it (their own row mirrors it)
    _aware = field_validator("timemodified")(_aware)

    @model_validator(mode="after")
    def _one_owner(self) -> MoodleSubmissionRow:
        if bool(self.student) == (self.group is not None):
            raise ValueError("give either student or group")
        if self.by and self.group is None:
            raise ValueError("by is for a team submission (with group)")
        return self


class MoodleGroupRow(_Strict):
    """A Moodle course group (team submissions; not an e-klase group)."""

    id: int
    course: int
    name: str = ""
    members: list[str] = []


class MoodleEnrolmentRow(_Strict):
    """A student's enrolment in a course that is not simply active."""

    student: str
    course: int
    status: Literal["suspended", "unenrolled"]
    at: dt.datetime | None = None  # from this instant on (None: always)
    _aware = field_validator("at")(lambda v: v if v is None else _aware(v))


class MoodleQuizAttemptRow(_Strict):
    cmid: int
    student: str
    state: Literal["finished", "inprogress", "overdue", "abandoned"] = "finished"
    timefinish: dt.datetime | None = None
    _aware = field_validator("timefinish")(lambda v: v if v is None else _aware(v))


class MoodleSection(_Strict):
    courses: list[MoodleCourseRow] = []
    assignments: list[MoodleAssignmentRow] = []
    submissions: list[MoodleSubmissionRow] = []
    quiz_attempts: list[MoodleQuizAttemptRow] = []
    groups: list[MoodleGroupRow] = []
    enrolments: list[MoodleEnrolmentRow] = []
    capabilities: list[str] | None = None  # the service account's rights; None = a manager's


class ExportRow(_Strict):
    student: str
    task_url: str
    completed_at: dt.datetime
    score: str = ""
    _aware = field_validator("completed_at")(_aware)


class ExportSection(_Strict):
    rows: list[ExportRow] = []


class NoticeRow(_Strict):
    id: str | None = None
    student: str
    kind: Literal["illness", "other", "tech_problem"]
    from_: dt.date = Field(alias="from")
    to: dt.date
    received_at: dt.datetime
    agreement: Literal["catch_up", "extended_deadline"] | None = None
    new_due: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None  # from this instant on the notice is cancelled
    _aware = field_validator("received_at")(_aware)
    _withdrawn = field_validator("withdrawn_at")(_aware_or_none)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Scenario(_Strict):
    """A whole scenario v1 document."""

    version: Literal[1]
    school: SchoolInfo
    calendar: CalendarInfo = CalendarInfo()
    policy: dict[str, Any] = {}
    teachers: list[TeacherRow] = []
    groups: list[GroupRow] = []
    students: list[StudentRow] = []
    subjects: list[SubjectRow] = []
    lessons: list[LessonRow] = []
    zoom: ZoomSection = ZoomSection()
    teams: TeamsSection = TeamsSection()
    meet: MeetSection = MeetSection()
    moodle: MoodleSection = MoodleSection()
    uzdevumi: ExportSection = ExportSection()
    soma: ExportSection = ExportSection()
    notices: list[NoticeRow] = []
    runs: list[dt.datetime] = []

    @field_validator("runs")
    @classmethod
    def _runs_aware_and_ordered(cls, runs: list[dt.datetime]) -> list[dt.datetime]:
        for value in runs:
            _aware(value)
        if any(b < a for a, b in zip(runs, runs[1:], strict=False)):
            raise ValueError("runs must be in chronological order")
        return runs

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        problems = list(_reference_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # convenience look-ups used by the sandbox servers
    def student(self, student_id: str) -> StudentRow:
        return next(s for s in self.students if s.id == student_id)

    def teacher(self, teacher_id: str) -> TeacherRow:
        return next(t for t in self.teachers if t.id == teacher_id)


def _duplicates(kind: str, ids: list[str]) -> list[str]:
    seen: set[str] = set()
    dup = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    return [f"duplicate {kind} id {i!r}" for i in dup]


def _reference_problems(sc: Scenario):
    teachers = {t.id for t in sc.teachers}
    groups = {g.id for g in sc.groups}
    students = {s.id for s in sc.students}
    subjects = {s.id for s in sc.subjects}
    yield from _duplicates("teacher", [t.id for t in sc.teachers])
    yield from _duplicates("group", [g.id for g in sc.groups])
    yield from _duplicates("student", [s.id for s in sc.students])
    yield from _duplicates("subject", [s.id for s in sc.subjects])
    yield from _duplicates("lesson", [lesson.id for lesson in sc.lessons])
    for i, g in enumerate(sc.groups):
        if g.class_teacher and g.class_teacher not in teachers:
            yield f"groups[{i}].class_teacher: unknown teacher {g.class_teacher!r}"
    for i, s in enumerate(sc.students):
        if s.group not in groups:
            yield f"students[{i}].group: unknown group {s.group!r}"
        for j, other in enumerate(s.other_groups):
            if other not in groups:
                yield f"students[{i}].other_groups[{j}]: unknown group {other!r}"
            elif other == s.group:
                yield f"students[{i}].other_groups[{j}]: the student's home group"
    for i, subj in enumerate(sc.subjects):
        for gid in subj.planned_hours:
            if gid not in groups:
                yield f"subjects[{i}].planned_hours.{gid}: unknown group"
    for i, lesson in enumerate(sc.lessons):
        where = f"lessons[{i}]"
        if lesson.group not in groups:
            yield f"{where}.group: unknown group {lesson.group!r}"
        if lesson.subject not in subjects:
            yield f"{where}.subject: unknown subject {lesson.subject!r}"
        if lesson.teacher not in teachers:
            yield f"{where}.teacher: unknown teacher {lesson.teacher!r}"
        if lesson.end <= lesson.start:
            yield f"{where}.end: lesson must end after it starts"
        for j, mark in enumerate(lesson.marks):
            if mark.student not in students:
                yield f"{where}.marks[{j}].student: unknown student {mark.student!r}"
        yield from _lesson_change_problems(lesson, where)
        yield from _journal_edit_problems(lesson, where, students, teachers)
    for i, m in enumerate(sc.zoom.meetings):
        if m.host not in teachers:
            yield f"zoom.meetings[{i}].host: unknown teacher {m.host!r}"
    for i, m in enumerate(sc.teams.meetings):
        if m.organizer not in teachers:
            yield f"teams.meetings[{i}].organizer: unknown teacher {m.organizer!r}"
    for i, c in enumerate(sc.meet.conferences):
        if c.owner and c.owner not in teachers:
            yield f"meet.conferences[{i}].owner: unknown teacher {c.owner!r}"
    for section in ("submissions", "quiz_attempts"):
        for i, row in enumerate(getattr(sc.moodle, section)):
            if row.student and row.student not in students:
                yield f"moodle.{section}[{i}].student: unknown student {row.student!r}"
    yield from _moodle_problems(sc, students)
    for section in ("uzdevumi", "soma"):
        for i, row in enumerate(getattr(sc, section).rows):
            if row.student not in students:
                yield f"{section}.rows[{i}].student: unknown student {row.student!r}"
    yield from _duplicates("notice", [n.id for n in sc.notices if n.id is not None])
    for i, n in enumerate(sc.notices):
        if n.student not in students:
            yield f"notices[{i}].student: unknown student {n.student!r}"
        if n.to < n.from_:
            yield f"notices[{i}].to: before 'from'"
        if n.withdrawn_at is not None and n.withdrawn_at < n.received_at:
            yield f"notices[{i}].withdrawn_at: before received_at"


def _in_order(instants: list[dt.datetime]) -> bool:
    return all(a <= b for a, b in zip(instants, instants[1:], strict=False))


def _lesson_change_problems(lesson: LessonRow, where: str):
    """Changes in time order, each leaving the lesson ending after it starts; edits likewise."""
    if not _in_order([c.at for c in lesson.changes]):
        yield f"{where}.changes: must be in chronological order"
    start, end = lesson.start, lesson.end
    for j, change in enumerate(lesson.changes):
        start, end = change.start or start, change.end or end
        if end <= start:
            yield f"{where}.changes[{j}]: lesson must end after it starts"
        if lesson.added_at is not None and change.at < lesson.added_at:
            yield f"{where}.changes[{j}].at: before the lesson's added_at"
    if lesson.uzdots is not None:
        edits = lesson.uzdots.edits
        if not _in_order([e.at for e in edits]):
            yield f"{where}.uzdots.edits: must be in chronological order"
        for j, edit in enumerate(edits):
            if edit.at < lesson.uzdots.created_at:
                yield f"{where}.uzdots.edits[{j}].at: before the entry's created_at"


def _journal_edit_problems(lesson: LessonRow, where: str, students: set[str],
                           teachers: set[str]):
    for j, edit in enumerate(lesson.journal_edits):
        if edit.student not in students:
            yield f"{where}.journal_edits[{j}].student: unknown student {edit.student!r}"
        if edit.by not in teachers:
            yield f"{where}.journal_edits[{j}].by: unknown teacher {edit.by!r}"


def _moodle_problems(sc: Scenario, students: set[str]):
    moodle_groups = {g.id for g in sc.moodle.groups}
    for i, group in enumerate(sc.moodle.groups):
        for j, member in enumerate(group.members):
            if member not in students:
                yield f"moodle.groups[{i}].members[{j}]: unknown student {member!r}"
    for i, row in enumerate(sc.moodle.submissions):
        if row.group is not None and row.group not in moodle_groups:
            yield f"moodle.submissions[{i}].group: unknown Moodle group {row.group!r}"
    for i, enrolment in enumerate(sc.moodle.enrolments):
        if enrolment.student not in students:
            yield f"moodle.enrolments[{i}].student: unknown student {enrolment.student!r}"


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate a decoded scenario document.

    Raises:
        ScenarioError: naming the source and each offending JSON path.
    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"{source}: {_path(err['loc'])}: {msg}")
        raise ScenarioError("\n".join(lines)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (JSON, or YAML with the same structure)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "YAML" if path.suffix.lower() in {".yaml", ".yml"} else "JSON"
        raise ScenarioError(f"{path}: not valid {kind}: {exc}") from None
    return parse_scenario(data, str(path))


# ------------------------------------------------------------------ the journal at an instant


@dataclass(frozen=True, slots=True)
class LessonAt:
    """A lesson as the journal shows it at one instant (scenario "Additions to v1").

    Attributes:
        start: Riga local HH:MM.
        end: Riga local HH:MM.
        mode: in_person | remote_sync | remote_async.
        cancelled: the lesson is cancelled.
        modified_at: the ``at`` of the last change in effect, or None.
    """

    start: str
    end: str
    mode: str
    cancelled: bool = False
    modified_at: dt.datetime | None = None


def lesson_at(row: LessonRow, now: dt.datetime) -> LessonAt | None:
    """The lesson with every change up to ``now`` applied; None before its ``added_at``."""
    if row.added_at is not None and row.added_at > now:
        return None
    state = LessonAt(row.start, row.end, row.mode)
    for change in row.changes:
        if change.at > now:
            break
        state = LessonAt(
            start=change.start or state.start,
            end=change.end or state.end,
            mode=change.mode or state.mode,
            cancelled=state.cancelled if change.cancelled is None else change.cancelled,
            modified_at=change.at,
        )
    return state


@dataclass(frozen=True, slots=True)
class UzdotsAt:
    """A UZDOTS entry as it reads at one instant; ``modified_at`` = the last edit in effect."""

    text: str
    attachments: tuple[str, ...]
    created_at: dt.datetime
    modified_at: dt.datetime | None = None


def uzdots_at(row: UzdotsRow | None, now: dt.datetime) -> UzdotsAt | None:
    """The entry with every edit up to ``now`` applied; None before it was created."""
    if row is None or row.created_at > now:
        return None
    state = UzdotsAt(row.text, tuple(row.attachments), row.created_at)
    for edit in row.edits:
        if edit.at > now:
            break
        state = UzdotsAt(
            text=state.text if edit.text is None else edit.text,
            attachments=state.attachments if edit.attachments is None
            else tuple(edit.attachments),
            created_at=state.created_at,
            modified_at=edit.at,
        )
    return state


@dataclass(frozen=True, slots=True)
class MarkAt:
    """One student's mark standing in a lesson (``code`` None in an event = deleted)."""

    student: str
    code: str | None
    by: str
    at: dt.datetime
    excused: bool | None = None


def marks_at(row: LessonRow, now: dt.datetime, written: Sequence[MarkAt] = ()) -> list[MarkAt]:
    """The marks standing at ``now``: the scenario's marks, ``written`` (by the gateway
    account) and the persons' ``journal_edits``, replayed in time order per student.

    Returns:
        One mark per student who has one, ordered by (at, student).
    """
    events = [MarkAt(m.student, m.code, m.by, m.at) for m in row.marks]
    events += list(written)
    events += [MarkAt(e.student, e.code, e.by, e.at) for e in row.journal_edits]
    standing: dict[str, MarkAt] = {}
    for event in sorted((e for e in events if e.at <= now), key=lambda e: e.at):
        if event.code is None:
            standing.pop(event.student, None)
        else:
            standing[event.student] = event
    return sorted(standing.values(), key=lambda m: (m.at, m.student))


def person_edits_at(row: LessonRow, now: dt.datetime) -> list[JournalEditRow]:
    """The persons' mark edits of the lesson made by ``now``, oldest first."""
    return sorted((e for e in row.journal_edits if e.at <= now), key=lambda e: (e.at, e.student))


def in_group(student: StudentRow, group_id: str) -> bool:
    """The student attends the group's lessons: their home group or one of ``other_groups``."""
    return student.group == group_id or group_id in student.other_groups
