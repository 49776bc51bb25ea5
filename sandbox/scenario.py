"""Scenario v1 loader: the whole small world a sandbox serves (see shared/scenario.md).

Strict: unknown keys are errors naming their JSON path; JSON and YAML are accepted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
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


class SubjectRow(_Strict):
    id: str
    name: str
    kind: Literal["subject", "module", "qualification_practice", "class_hour"] = "subject"
    planned_hours: dict[str, int] = {}


class UzdotsRow(_Strict):
    text: str
    created_at: dt.datetime
    attachments: list[str] = []
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


class LessonRow(_Strict):
    id: str
    group: str
    subject: str
    teacher: str
    date: dt.date
    number: int
    start: str
    end: str
    mode: Literal["in_person", "remote_sync", "remote_async"]
    uzdots: UzdotsRow | None = None
    topic: TopicRow | None = None
    marks: list[MarkRow] = []

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("expected Riga local time HH:MM")
        return value


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
    _aware = field_validator("start", "end")(_aware)


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


class MeetConferenceRow(_Strict):
    meeting_code: str
    start: dt.datetime
    end: dt.datetime
    participants: list[MeetParticipantRow] = []
    _aware = field_validator("start", "end")(_aware)


class MeetSection(_Strict):
    conferences: list[MeetConferenceRow] = []


class MoodleCourseRow(_Strict):
    id: int
    name: str


class MoodleAssignmentRow(_Strict):
    cmid: int
    id: int
    course: int
    name: str
    duedate: dt.datetime | None = None
    _aware = field_validator("duedate")(lambda v: v if v is None else _aware(v))


class MoodleSubmissionRow(_Strict):
    assignment: int
    student: str
    status: Literal["submitted", "draft", "new", "reopened"] = "submitted"
    timemodified: dt.datetime
    _aware = field_validator("timemodified")(_aware)


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


class ExportRow(_Strict):
    student: str
    task_url: str
    completed_at: dt.datetime
    score: str = ""
    _aware = field_validator("completed_at")(_aware)


class ExportSection(_Strict):
    rows: list[ExportRow] = []


class NoticeRow(_Strict):
    student: str
    kind: Literal["illness", "other", "tech_problem"]
    from_: dt.date = Field(alias="from")
    to: dt.date
    received_at: dt.datetime
    agreement: Literal["catch_up", "extended_deadline"] | None = None
    new_due: dt.datetime | None = None
    _aware = field_validator("received_at")(_aware)

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
    for i, m in enumerate(sc.zoom.meetings):
        if m.host not in teachers:
            yield f"zoom.meetings[{i}].host: unknown teacher {m.host!r}"
    for i, m in enumerate(sc.teams.meetings):
        if m.organizer not in teachers:
            yield f"teams.meetings[{i}].organizer: unknown teacher {m.organizer!r}"
    for section in ("submissions", "quiz_attempts"):
        for i, row in enumerate(getattr(sc.moodle, section)):
            if row.student not in students:
                yield f"moodle.{section}[{i}].student: unknown student {row.student!r}"
    for section in ("uzdevumi", "soma"):
        for i, row in enumerate(getattr(sc, section).rows):
            if row.student not in students:
                yield f"{section}.rows[{i}].student: unknown student {row.student!r}"
    for i, n in enumerate(sc.notices):
        if n.student not in students:
            yield f"notices[{i}].student: unknown student {n.student!r}"
        if n.to < n.from_:
            yield f"notices[{i}].to: before 'from'"


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
