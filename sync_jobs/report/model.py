"""The report's numbers, built from the state store only (no upstream call).

Per student: remote lessons judged, present, "n" excused / unexcused, absent without a
kartiba "n" (a teacher's own mark, or an agreed catch-up), not evaluated — with the lessons
behind them. Per group × subject: the attendance share per week and the point-7 quota (remote
/ planned hours, as the quota job counted them). Per teacher: UZDOTS on time / late /
missing / incomplete and lessons without a topic (points 14.2, 16).

Names come from a :class:`mappings.model.School` directory given by the caller (read from the
journal when the report is rendered, see ``sync_jobs.report.directory``); with an empty
directory every name is shown as its journal id.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from mappings.calendar import school_year
from mappings.model import School
from sync_jobs.state import LessonFact, QuotaTally

#: Outbox statuses of a mark that is (or is about to be) in the journal or with the teacher.
MARK_LIVE = frozenset({"pending", "written", "already_present", "proposed", "failed"})
ABSENT = frozenset({"absent_excused", "absent_unexcused"})


@dataclass(frozen=True, slots=True)
class Filters:
    """What the report is about: a date range and optionally one group and one subject."""

    date_from: dt.date
    date_to: dt.date
    group: str | None = None
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class StudentLesson:
    """One judged remote lesson of one student."""

    date: dt.date
    number: int
    lesson_id: str
    subject: str
    outcome: str  # present | absent_excused | absent_unexcused | not_evaluated
    mark: str  # "n" when kartiba wrote or proposed one, else ""
    excused: bool
    reason: str


@dataclass
class StudentRow:
    """The remote lessons of one student in the range."""

    student_id: str
    name: str
    group: str
    remote: int = 0
    present: int = 0
    n_excused: int = 0
    n_unexcused: int = 0
    absent_no_mark: int = 0
    not_evaluated: int = 0
    lessons: list[StudentLesson] = field(default_factory=list)

    @property
    def judged(self) -> int:
        """Lessons with a decision on presence (not evaluated ones left out)."""
        return self.remote - self.not_evaluated

    @property
    def share(self) -> float | None:
        """Present / judged (None when nothing was judged)."""
        return self.present / self.judged if self.judged else None


@dataclass
class WeekPoint:
    """Attendance of one group × subject in one week (Monday's date)."""

    week: dt.date
    present: int = 0
    judged: int = 0

    @property
    def share(self) -> float | None:
        return self.present / self.judged if self.judged else None


@dataclass
class GroupSubjectRow:
    """Attendance of one group in one subject, per week and in total."""

    group_id: str
    subject_id: str
    group: str
    subject: str
    lessons: int = 0
    present: int = 0
    judged: int = 0
    weeks: list[WeekPoint] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return self.present / self.judged if self.judged else None


@dataclass(frozen=True, slots=True)
class QuotaRow:
    """Point 7 for one group × subject in the school year."""

    group_id: str
    subject_id: str
    group: str
    subject: str
    remote_hours: int
    planned_hours: int
    share: float
    state: str  # ok | warning | exceeded


@dataclass
class TeacherRow:
    """UZDOTS and topics of one teacher's remote lessons in the range."""

    teacher_id: str
    name: str
    remote: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    incomplete: int = 0
    not_checked: int = 0
    topic_missing: int = 0


@dataclass
class Report:
    """Everything ``kartiba report`` shows, in display order."""

    school: str
    filters: Filters
    generated_at: dt.datetime
    year_start: dt.date
    warn_share: float
    max_share: float
    names_shown: bool
    students: list[StudentRow] = field(default_factory=list)
    groups: list[GroupSubjectRow] = field(default_factory=list)
    quota: list[QuotaRow] = field(default_factory=list)
    teachers: list[TeacherRow] = field(default_factory=list)


class Names:
    """Display names from the directory; ids where it has none."""

    def __init__(self, school: School) -> None:
        self.school = school

    def group(self, group_id: str) -> str:
        group = self.school.groups.get(group_id)
        return group.name if group else group_id

    def subject(self, subject_id: str) -> str:
        subject = self.school.subjects.get(subject_id)
        return subject.name if subject else subject_id

    def teacher(self, teacher_id: str) -> str:
        teacher = self.school.teachers.get(teacher_id)
        return teacher.name if teacher else teacher_id

    def student(self, student_id: str) -> str:
        return self.school.student_label(student_id)


def _matches(value_id: str, name: str, wanted: str | None) -> bool:
    return wanted is None or wanted.casefold() in (value_id.casefold(), name.casefold())


def _selected(facts: Iterable[LessonFact], filters: Filters, names: Names) -> dict[str, LessonFact]:
    return {f.lesson_id: f for f in facts
            if _matches(f.group_id, names.group(f.group_id), filters.group)
            and _matches(f.subject_id, names.subject(f.subject_id), filters.subject)}


def _week(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def quota_state(share: float, warn: float, maximum: float) -> str:
    """Point 7: "exceeded" above the maximum, "warning" from the warning share, else "ok"."""
    if share > maximum:
        return "exceeded"
    return "warning" if share >= warn else "ok"


def build_report(store, school: School, filters: Filters, *, now: dt.datetime,
                 warn_share: float = 0.16, max_share: float = 0.20,
                 names_shown: bool = True) -> Report:
    """The report over the store's verdicts, marks, lesson facts and quota tallies.

    Args:
        store: the state store (read only).
        school: the directory for names (may be empty: ids are shown).
        filters: dates, group, subject (a group or subject matches its id or its name).
        now: when the report is made (shown; the quota's school year is that of ``date_to``).
        warn_share: the quota warning share (policy). max_share: the quota maximum (policy).
        names_shown: whether ``school`` holds the names (False: ids only).
    """
    names = Names(school)
    facts = _selected(store.lesson_facts(filters.date_from, filters.date_to), filters, names)
    year_start, _ = school_year(filters.date_to)
    report = Report(school=school.name, filters=filters, generated_at=now,
                    year_start=year_start, warn_share=warn_share, max_share=max_share,
                    names_shown=names_shown)
    marks = {(m["lesson_id"], m["student_id"]): m
             for m in store.marks_between(filters.date_from, filters.date_to)
             if m["status"] in MARK_LIVE}
    verdicts = [v for v in store.verdicts_between(filters.date_from, filters.date_to)
                if v["lesson_id"] in facts and v["outcome"] != "not_yet_due"]
    report.students = _students(verdicts, marks, facts, names)
    report.groups = _groups(verdicts, facts, names)
    report.quota = _quota(store.quota_tallies(year_start), filters, names, warn_share, max_share)
    report.teachers = _teachers(facts.values(), names)
    return report


def _students(verdicts, marks, facts, names: Names) -> list[StudentRow]:
    rows: dict[str, StudentRow] = {}
    for v in verdicts:
        fact = facts[v["lesson_id"]]
        row = rows.get(v["student_id"])
        if row is None:
            row = rows[v["student_id"]] = StudentRow(
                v["student_id"], names.student(v["student_id"]), names.group(fact.group_id))
        mark = marks.get((v["lesson_id"], v["student_id"]))
        _count(row, v["outcome"], mark)
        row.lessons.append(StudentLesson(
            fact.date, fact.number, fact.lesson_id, names.subject(fact.subject_id), v["outcome"],
            "n" if mark else "", bool(mark and mark["excused"]) or v["outcome"] == "absent_excused",
            v["reason"]))
    return sorted(rows.values(), key=lambda r: (r.group, r.name.casefold(), r.student_id))


def _count(row: StudentRow, outcome: str, mark: dict | None) -> None:
    row.remote += 1
    if outcome == "present":
        row.present += 1
    elif outcome == "not_evaluated":
        row.not_evaluated += 1
    elif mark is not None:
        if mark["excused"]:
            row.n_excused += 1
        else:
            row.n_unexcused += 1
    else:
        row.absent_no_mark += 1


def _groups(verdicts, facts, names: Names) -> list[GroupSubjectRow]:
    rows: dict[tuple[str, str], GroupSubjectRow] = {}
    weeks: dict[tuple[str, str], dict[dt.date, WeekPoint]] = defaultdict(dict)
    lessons: dict[tuple[str, str], set[str]] = defaultdict(set)
    for v in verdicts:
        fact = facts[v["lesson_id"]]
        key = (fact.group_id, fact.subject_id)
        row = rows.get(key)
        if row is None:
            row = rows[key] = GroupSubjectRow(fact.group_id, fact.subject_id,
                                              names.group(fact.group_id),
                                              names.subject(fact.subject_id))
        lessons[key].add(fact.lesson_id)
        if v["outcome"] == "not_evaluated":
            continue
        point = weeks[key].setdefault(_week(fact.date), WeekPoint(_week(fact.date)))
        point.judged += 1
        row.judged += 1
        if v["outcome"] == "present":
            point.present += 1
            row.present += 1
    for key, row in rows.items():
        row.lessons = len(lessons[key])
        row.weeks = [weeks[key][w] for w in sorted(weeks[key])]
    return sorted(rows.values(), key=lambda r: (r.group, r.subject))


def _quota(tallies: list[QuotaTally], filters: Filters, names: Names, warn: float,
           maximum: float) -> list[QuotaRow]:
    rows = [QuotaRow(t.group_id, t.subject_id, names.group(t.group_id), names.subject(t.subject_id),
                     t.remote_hours, t.planned_hours, t.share, quota_state(t.share, warn, maximum))
            for t in tallies]
    return sorted((r for r in rows if _matches(r.group_id, r.group, filters.group)
                   and _matches(r.subject_id, r.subject, filters.subject)),
                  key=lambda r: (r.group, r.subject))


def _teachers(facts: Iterable[LessonFact], names: Names) -> list[TeacherRow]:
    rows: dict[str, TeacherRow] = {}
    for fact in facts:
        if fact.mode == "in_person":
            continue
        row = rows.setdefault(fact.teacher_id,
                              TeacherRow(fact.teacher_id, names.teacher(fact.teacher_id)))
        row.remote += 1
        problems = set(filter(None, fact.uzdots.split(",")))
        if not fact.uzdots:
            row.not_checked += 1
        elif fact.uzdots == "on_time":
            row.on_time += 1
        row.late += "late" in problems
        row.missing += "missing" in problems
        row.incomplete += "incomplete" in problems
        row.topic_missing += fact.topic == "missing"
    return sorted(rows.values(), key=lambda r: (r.name.casefold(), r.teacher_id))
