"""The e-klase journal as a :class:`connectors.base.JournalSource`, read through the gateway.

Vendor records are checked one at a time (``models.py``); a record that breaks the contract
is reported with its id (``problems``, as :class:`connectors.errors.ContractError`, and a
warning) and skipped, the rest is used. Lesson modes come from the lessonType label through the
configurable table (``EklaseSettings.lesson_types``); a lesson whose label is not in the table
is reported the same way and not judged, never read as in person.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from connectors.eklase.client import UPSTREAM, EklaseClient
from connectors.eklase.models import (
    WsGroup,
    WsLesson,
    WsMark,
    WsNotice,
    WsServiceInfo,
    WsStudent,
    WsSubject,
    WsTeacher,
)
from connectors.eklase.settings import EklaseSettings
from connectors.errors import ConfigError, ContractError, ProtocolError, RecordError
from mappings.model import (
    Group,
    JournalMark,
    Lesson,
    LessonMode,
    MarkEdit,
    Notice,
    School,
    Student,
    Subject,
    Teacher,
    Topic,
    UzdotsEntry,
    frozen_map,
)

log = logging.getLogger("kartiba.eklase")

RIGA = ZoneInfo("Europe/Riga")
#: The contract's clock skew window (WS-Security Created), seconds.
CLOCK_SKEW_S = 300
M = TypeVar("M", bound=BaseModel)


# --------------------------------------------------------------------------- pure helpers


def school_year(day: dt.date) -> str:
    """The school year (1 September - 31 August) of a day, written ``2026/2027``."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}/{first + 1}"


def date_chunks(date_from: dt.date, date_to: dt.date,
                days: int) -> Iterator[tuple[dt.date, dt.date]]:
    """Split an inclusive date window into consecutive windows of at most ``days`` days."""
    start = date_from
    while start <= date_to:
        end = min(date_to, start + dt.timedelta(days=days - 1))
        yield start, end
        start = end + dt.timedelta(days=1)


def _label_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def journal_mark(ws: WsMark) -> JournalMark:
    """A gateway mark as the domain's :class:`JournalMark`."""
    return JournalMark(student_id=ws.student_id, code=ws.code, author_id=ws.author_id,
                       entered_at=ws.entered_at.astimezone(RIGA), excused=ws.excused)


def _record_id(row: Any) -> str:
    value = row.get("id") if isinstance(row, dict) else None
    return str(value) if value else "?"


def _why(exc: ValidationError) -> str:
    """What is wrong with a record, by field name (values are left out: they may be personal)."""
    parts = set()
    for err in exc.errors():
        if err["loc"]:
            parts.add("invalid " + ".".join(str(p) for p in err["loc"]))
        else:  # a record-level check of ours
            parts.add(str(err["msg"]).removeprefix("Value error, "))
    return "; ".join(sorted(parts))


def _with_links(text: str, links: Iterable[str]) -> str:
    """The UZDOTS text with every link target (contract 1.1 ``link``) it does not show yet:
    an HTML entry whose link text differs from its href still yields its meeting link."""
    missing = [link for link in dict.fromkeys(links) if link and link not in text]
    return "\n".join([text, *missing]) if missing else text


def _riga(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(RIGA) if value is not None else None


def _setup_problems(info: WsServiceInfo, settings: EklaseSettings,
                    unknown_labels: Callable[[Iterable[str]], list[str]]) -> list[str]:
    """What GetServiceInfo shows to be wrong with this setup (empty: nothing)."""
    problems = []
    if info.account_id and info.account_id != settings.service_account:
        problems.append(f"the gateway writes marks as {info.account_id!r}, but "
                        f"eklase.service_account is {settings.service_account!r}")
    labels = unknown_labels(info.lesson_type_label)
    if labels:
        problems.append("lessonType labels not in eklase.lesson_types: "
                        + ", ".join(f'"{x}"' for x in labels))
    return problems


# --------------------------------------------------------------------------- source


class EklaseJournal:
    """Reads school, lessons and notices from the journal gateway.

    One instance serves one run: the roster is cached, and every lesson returned is kept in
    :attr:`seen_lessons` (a live read-only view) so the gateway sink can find a lesson's date
    and group for its read-back.

    Args:
        client: the gateway client.
        settings: the connector settings (lessonType table, chunk size).
    """

    system = UPSTREAM

    def __init__(self, client: EklaseClient, settings: EklaseSettings) -> None:
        self.client = client
        self.settings = settings
        self.problems: list[RecordError] = []
        self._lesson_types = {_label_key(k): v for k, v in settings.lesson_types.items()}
        self._groups: dict[str, Group] | None = None
        self._students: dict[str, Student] | None = None
        self._seen: dict[str, Lesson] = {}
        self.seen_lessons: Mapping[str, Lesson] = MappingProxyType(self._seen)

    # -- JournalSource

    def school(self, on: dt.date | None = None) -> School:
        """The school as the journal has it: teachers, groups, students, subjects.

        Args:
            on: a day of the school year whose subjects and planned hours are wanted
                (today in Riga by default).
        """
        on = on or dt.datetime.now(RIGA).date()
        info = self._service_info()
        teachers = {t.id: Teacher(t.id, t.name, t.email)
                    for t in self._valid(WsTeacher, self.client.teachers(), "teacher")}
        groups, students = self._roster()
        subjects = {s.id: self._subject(s)
                    for s in self._valid(WsSubject, self.client.subjects(school_year(on)),
                                         "subject")}
        return School(name=info.school_name, teachers=frozen_map(teachers),
                      groups=frozen_map(groups), students=frozen_map(students),
                      subjects=frozen_map(subjects))

    def lessons(self, date_from: dt.date, date_to: dt.date) -> list[Lesson]:
        """Every lesson dated ``date_from``..``date_to`` (inclusive), read in date chunks."""
        groups, _ = self._roster()
        found: dict[str, Lesson] = {}
        for start, end in date_chunks(date_from, date_to, self.settings.chunk_days):
            for ws in self._valid(WsLesson, self.client.lessons(start, end), "lesson"):
                if ws.group_id not in groups:
                    self._report("lesson", ws.id, f"unknown group {ws.group_id}")
                    continue
                mode = self.lesson_mode(ws.lesson_type, ws.id)
                if mode is not None:
                    found[ws.id] = self._lesson(ws, mode)
        self._seen.update(found)
        return sorted(found.values(), key=lambda x: (x.date, x.number, x.group_id, x.id))

    def notices(self, date_from: dt.date, date_to: dt.date) -> list[Notice]:
        """Absence notices received so far that cover any day of the window."""
        found: dict[str, Notice] = {}
        for start, end in date_chunks(date_from, date_to, self.settings.chunk_days):
            for ws in self._valid(WsNotice, self.client.notices(start, end), "notice"):
                found[ws.id] = Notice(
                    id=ws.id, student_id=ws.student_id, kind=ws.kind, date_from=ws.date_from,
                    date_to=ws.date_to, received_at=ws.received_at.astimezone(RIGA),
                    agreement=ws.agreement, new_due=_riga(ws.new_due),
                    withdrawn_at=_riga(ws.withdrawn_at))
        return sorted(found.values(), key=lambda n: (n.received_at, n.id))

    def health(self) -> str:
        """One cheap authenticated call (GetServiceInfo) and what it tells of the setup.

        Raises:
            ConfigError: marks are authored by another account than
                ``eklase.service_account``, or the gateway lists a lessonType label the table
                does not map (both told by contract 1.1 gateways).
            UpstreamError: the connector's errors.
        """
        info = self._service_info()
        skew = abs((dt.datetime.now(dt.UTC) - info.server_time).total_seconds())
        problems = _setup_problems(info, self.settings, self.unknown_labels)
        if problems:
            raise ConfigError("eklase: " + "; ".join(problems), setting="eklase")
        version = info.contract_version or "1.0"
        warning = (f" (more than {CLOCK_SKEW_S} s: a gateway refuses the security tokens of "
                   "a clock that far off; check NTP)" if skew > CLOCK_SKEW_S else "")
        return (f"ok: journal gateway {info.gateway_version} (contract {version}), "
                f"clock difference {skew:.0f} s{warning}")

    # -- mapping

    def lesson_mode(self, label: str, lesson_id: str) -> LessonMode | None:
        """The lesson mode of a lessonType label.

        Returns:
            None for a label not in ``eklase.lesson_types``: the lesson is reported (its id
            and the label) as a contract error and not judged, never taken as in person.
        """
        mode = self._lesson_types.get(_label_key(label))
        if mode is None:
            self._report("lesson", lesson_id, f'lessonType "{label[:100]}" is not in '
                         "eklase.lesson_types (add it with its mode); lesson not judged")
        return mode

    def unknown_labels(self, labels: Iterable[str]) -> list[str]:
        """The labels (e.g. GetServiceInfo's lessonTypeLabel) the table does not map."""
        return sorted({x for x in labels if _label_key(x) not in self._lesson_types})

    def _lesson(self, ws: WsLesson, mode: LessonMode) -> Lesson:
        uzdots = None
        if ws.uzdots is not None:
            uzdots = UzdotsEntry(
                text=_with_links(ws.uzdots.text, ws.uzdots.link),
                created_at=ws.uzdots.created_at.astimezone(RIGA),
                modified_at=_riga(ws.uzdots.modified_at),
                attachments=tuple(a.name for a in ws.uzdots.attachment),
                author_id=ws.uzdots.author_id)
        topic = (Topic(ws.topic.text, ws.topic.entered_at.astimezone(RIGA))
                 if ws.topic is not None else None)
        return Lesson(
            id=ws.id, group_id=ws.group_id, subject_id=ws.subject_id,
            teacher_id=ws.teacher_id[0], date=ws.date, number=ws.number,
            start=ws.start.astimezone(RIGA), end=ws.end.astimezone(RIGA),
            mode=mode, uzdots=uzdots, topic=topic,
            marks=tuple(journal_mark(m) for m in ws.mark), lesson_type=ws.lesson_type,
            cancelled=ws.cancelled, modified_at=_riga(ws.modified_at),
            mark_edits=tuple(MarkEdit(e.student_id, e.author_id, e.at.astimezone(RIGA), e.code)
                             for e in ws.mark_edit))

    @staticmethod
    def _subject(ws: WsSubject) -> Subject:
        return Subject(id=ws.id, name=ws.name, kind=ws.kind,
                       planned_hours=frozen_map({p.group_id: p.hours for p in ws.planned_hours}))

    # -- reading helpers

    def _service_info(self) -> WsServiceInfo:
        try:
            return WsServiceInfo.model_validate(self.client.service_info())
        except ValidationError as exc:
            raise ProtocolError("eklase: GetServiceInfo answer does not fit the contract",
                                upstream=UPSTREAM, detail=str(exc)[:500]) from None

    def _roster(self) -> tuple[dict[str, Group], dict[str, Student]]:
        if self._groups is None or self._students is None:
            groups: dict[str, Group] = {}
            students: dict[str, Student] = {}
            for ws in self._valid(WsGroup, self.client.roster(), "group"):
                groups[ws.id] = Group(ws.id, ws.name, ws.class_teacher_id)
                for st in self._valid(WsStudent, ws.student, "student"):
                    if st.id in students:
                        self._report("student", st.id, f"listed in group {ws.id} and "
                                     f"{students[st.id].group_id}; first kept", contract=False)
                        continue
                    students[st.id] = Student(st.id, ws.id, st.first_name, st.last_name,
                                              st.email, st.offline_mode,
                                              other_groups=tuple(st.other_group_id))
            self._groups, self._students = groups, students
        return self._groups, self._students

    def _valid(self, model: type[M], rows: list[dict], kind: str) -> Iterator[M]:
        for row in rows:
            try:
                yield model.model_validate(row)
            except ValidationError as exc:
                self._report(kind, _record_id(row), _why(exc))

    def _report(self, kind: str, record_id: str, why: str, *, contract: bool = True) -> None:
        """Report a skipped record; ``contract`` = the gateway broke its contract (the run
        then says work was left undone), else a data problem of the journal itself."""
        cls = ContractError if contract else RecordError
        error = cls(f"eklase: skipped {kind} {record_id}: {why}", system=UPSTREAM,
                    record=f"{kind}:{record_id}")
        self.problems.append(error)
        log.warning("%s", error.message)
