"""Small builders of domain values for the rules' tests.

The default world: Monday 2026-11-30, lesson L1 of group g1 (Elektrotehnika, teacher t1,
class teacher t2) from 09:00 to 09:45 Riga time, students s1–s3; group g2 (class teacher t3)
with s21–s22 for joint lessons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from mappings.calendar import local
from mappings.model import (
    ActivityEvidence,
    ActivityRecord,
    ActivityRef,
    Agreement,
    ChatLine,
    Group,
    JournalMark,
    Lesson,
    LessonMode,
    MeetingEvidence,
    Notice,
    NoticeKind,
    Participant,
    School,
    Segment,
    Student,
    Subject,
    SubjectKind,
    Teacher,
    Topic,
    UzdotsEntry,
    frozen_map,
)

DAY = dt.date(2026, 11, 30)  # a Monday
SYSTEM = "svc-kartiba"
ZOOM_URL = "https://zoom.us/j/81234567890"
MOODLE_URL = "https://skolo.lv/mod/assign/view.php?id=41"
SYNC_TEXT = (
    f"Tiešsaistes stunda {ZOOM_URL} plkst. 9:00. Termiņš: 30.11.2026 17:00. "
    "Vērtēšanas kritēriji pielikumā."
)
ASYNC_TEXT = f"Patstāvīgais darbs: {MOODLE_URL}. Vērtēšanas kritēriji pielikumā."
ASYNC_TEXT_DUE_17 = f"Patstāvīgais darbs: {MOODLE_URL}. Termiņš: 30.11.2026 17:00. Kritēriji."


def at(hhmm: str, day: dt.date | str = DAY) -> dt.datetime:
    """An aware Riga instant: ``at("09:05")``, ``at("17:00", "2026-11-27")``."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    hours, minutes = hhmm.split(":")
    return local(day, dt.time(int(hours), int(minutes)))


def student(
    sid: str,
    first: str,
    last: str,
    group: str = "g1",
    email: str = "",
    offline: bool = False,
    aliases: Sequence[str] = (),
) -> Student:
    return Student(
        id=sid,
        group_id=group,
        first_name=first,
        last_name=last,
        email=email,
        offline_mode=offline,
        aliases=tuple(aliases),
    )


STUDENTS = (
    student("s1", "Jānis", "Bērziņš", email="janis.berzins@audzekni.school.lv"),
    student("s2", "Anna", "Kalniņa", email="anna.kalnina@audzekni.school.lv"),
    student("s3", "Pēteris", "Ozoliņš", email="peteris.ozolins@audzekni.school.lv"),
    student("s21", "Līga", "Zariņa", group="g2", email="liga.zarina@audzekni.school.lv"),
    student("s22", "Māris", "Liepa", group="g2", email="maris.liepa@audzekni.school.lv"),
)
TEACHERS = (
    Teacher("t1", "Ilze Kalniņa", "ilze.kalnina@school.lv"),
    Teacher("t2", "Dace Ozola", "dace.ozola@school.lv"),
    Teacher("t3", "Guntis Vītols", "guntis.vitols@school.lv"),
)
SUBJECTS = (
    Subject("m1", "Elektrotehnika", SubjectKind.SUBJECT, frozen_map({"g1": 100, "g2": 25})),
    Subject("m2", "Matemātika", SubjectKind.SUBJECT, frozen_map({"g1": 25})),
    Subject("ch", "Audzināšanas stunda", SubjectKind.CLASS_HOUR, frozen_map({"g1": 36})),
    Subject("pr", "Kvalifikācijas prakse", SubjectKind.QUALIFICATION_PRACTICE,
            frozen_map({"g1": 40})),
    Subject("np", "Fizika", SubjectKind.SUBJECT),
)


def school(
    students: Iterable[Student] = STUDENTS,
    extra: Iterable[Student] = (),
    replace: Mapping[str, Student] | None = None,
) -> School:
    """The test school; ``extra`` students are added, ``replace`` swaps students by id."""
    pupils = {s.id: s for s in (*students, *extra)}
    pupils.update(replace or {})
    return School(
        name="Tehnikums",
        teachers=frozen_map({t.id: t for t in TEACHERS}),
        groups=frozen_map(
            {
                "g1": Group("g1", "ET-22", "t2"),
                "g2": Group("g2", "TU-23", "t3"),
            }
        ),
        students=frozen_map(pupils),
        subjects=frozen_map({s.id: s for s in SUBJECTS}),
        oversight=("deputy@school.lv",),
    )


def uzdots(
    text: str = SYNC_TEXT,
    created: dt.datetime | None = None,
    attachments: Sequence[str] = ("kriteriji.pdf",),
) -> UzdotsEntry:
    return UzdotsEntry(
        text=text,
        created_at=created or at("15:10", "2026-11-27"),
        attachments=tuple(attachments),
        author_id="t1",
    )


_DEFAULT = object()


def lesson(
    lid: str = "L1",
    day: dt.date | str = DAY,
    start: str = "09:00",
    end: str = "09:45",
    mode: LessonMode = LessonMode.REMOTE_SYNC,
    subject: str = "m1",
    group: str = "g1",
    teacher: str = "t1",
    number: int = 2,
    entry: UzdotsEntry | None | object = _DEFAULT,
    topic: Topic | None = None,
    marks: Sequence[JournalMark] = (),
) -> Lesson:
    """A lesson; by default with a complete UZDOTS entry fitting its mode."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    if entry is _DEFAULT:
        entry = uzdots(SYNC_TEXT if mode is LessonMode.REMOTE_SYNC else ASYNC_TEXT)
    return Lesson(
        id=lid,
        group_id=group,
        subject_id=subject,
        teacher_id=teacher,
        date=day,
        number=number,
        start=at(start, day),
        end=at(end, day),
        mode=mode,
        uzdots=entry,  # type: ignore[arg-type]
        topic=topic,
        marks=tuple(marks),
    )


def async_lesson(**kw) -> Lesson:
    kw.setdefault("mode", LessonMode.REMOTE_ASYNC)
    return lesson(**kw)


def person(
    name: str,
    *spans: tuple[str, str],
    email: str = "",
    removed: bool = False,
    day: dt.date | str = DAY,
) -> Participant:
    """A participant row with segments given as ("09:01", "09:46") pairs on ``day``."""
    return Participant(
        name=name,
        email=email,
        segments=tuple(Segment(at(a, day), at(b, day)) for a, b in spans),
        removed_by_host=removed,
    )


def line(hhmm: str, name: str, text: str = "klāt", email: str = "") -> ChatLine:
    return ChatLine(at=at(hhmm), name=name, text=text, email=email)


def meeting(
    *participants: Participant,
    chat: Sequence[ChatLine] | None = None,
    found: bool = True,
    host_email: str = "",
) -> MeetingEvidence:
    return MeetingEvidence(
        platform="zoom",
        key="81234567890",
        found=found,
        participants=tuple(participants),
        chat=None if chat is None else tuple(chat),
        host_email=host_email,
        instances=1 if found else 0,
    )


def everyone_on_time(*extra: Participant, chat: Sequence[ChatLine] | None = None) -> MeetingEvidence:
    """s1–s3 connected for the whole lesson (by e-mail), plus ``extra`` rows."""
    rows = [
        person(s.full_name, ("08:59", "09:46"), email=s.email)
        for s in STUDENTS
        if s.group_id == "g1"
    ]
    return meeting(*rows, *extra, chat=chat)


def notice(
    sid: str,
    kind: NoticeKind,
    received: dt.datetime,
    date_from: dt.date | str = DAY,
    date_to: dt.date | str | None = None,
    agreement: Agreement | None = None,
    new_due: dt.datetime | None = None,
    nid: str = "N1",
) -> Notice:
    if isinstance(date_from, str):
        date_from = dt.date.fromisoformat(date_from)
    if isinstance(date_to, str):
        date_to = dt.date.fromisoformat(date_to)
    return Notice(
        id=nid,
        student_id=sid,
        kind=kind,
        date_from=date_from,
        date_to=date_to or date_from,
        received_at=received,
        agreement=agreement,
        new_due=new_due,
    )


def record(
    when: dt.datetime,
    sid: str | None = None,
    name: str = "",
    email: str = "",
    url: str = MOODLE_URL,
    kind: str = "submission",
) -> ActivityRecord:
    return ActivityRecord(
        platform="moodle", activity_url=url, at=when, kind=kind, email=email, name=name,
        student_id=sid,
    )


def activity(*records: ActivityRecord, found: bool = True, url: str = MOODLE_URL) -> ActivityEvidence:
    ref = ActivityRef(platform="moodle", url=url, kind="assign", cmid=41)
    return ActivityEvidence(ref=ref, found=found, records=tuple(records))


def journal_mark(sid: str, code: str = "n", author: str = "t1") -> JournalMark:
    return JournalMark(student_id=sid, code=code, author_id=author, entered_at=at("10:00"))


def by_student(result) -> dict:
    """Verdicts of a LessonResult keyed by student id."""
    return {v.student_id: v for v in result.verdicts}


def marks_by_student(result) -> dict:
    return {m.student_id: m for m in result.marks}
