"""Writing "n" marks to the journal through the gateway (kārtības 43. p.).

The gateway sink reads the lesson back right before every write and never calls
SetAttendanceMark when a person's mark for that student is there (docs/KARTIBA.md: a teacher's mark
always wins) or when kartiba's own mark is already there. The worklist sink (for schools without
a gateway) lives in :mod:`connectors.eklase.worklist` and is re-exported here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import ChainMap
from collections.abc import Iterable, Mapping

from pydantic import ValidationError

from connectors.base import WriteResult, WriteStatus
from connectors.eklase.client import UPSTREAM, EklaseClient
from connectors.eklase.models import WsMark, WsWriteResult
from connectors.eklase.source import journal_mark
from connectors.eklase.worklist import WorklistSink
from connectors.errors import NotFoundError, ProtocolError, RecordError
from mappings.model import JournalMark, Lesson, Mark

__all__ = ["GatewaySink", "MarksReader", "WorklistSink"]

log = logging.getLogger("kartiba.eklase")

UNKNOWN_AUTHOR = "?"
_STATUS = {
    "created": WriteStatus.CREATED,
    "already-present": WriteStatus.ALREADY_PRESENT,
    "refused": WriteStatus.REFUSED,
}


class MarksReader:
    """Reads back the marks of lessons: one GetLessons for the lesson's whole day.

    Answers are cached per date until :meth:`forget` or a ``fresh`` read. A mark row
    that does not fit the contract is kept with what can be read of it (author unknown unless
    given), so an unreadable mark is never mistaken for "no mark".

    Args:
        client: the gateway client.
        lessons: where to look up a lesson's date and group (e.g. ``EklaseJournal.seen_lessons``).
    """

    def __init__(self, client: EklaseClient, lessons: Mapping[str, Lesson]) -> None:
        self.client = client
        self._own: dict[str, Lesson] = {}
        self.lessons: Mapping[str, Lesson] = ChainMap(self._own, lessons)  # type: ignore[arg-type]
        self._cache: dict[dt.date, dict[str, list[JournalMark]]] = {}

    def remember(self, lessons: Iterable[Lesson]) -> None:
        """Make lessons known that were not read through the journal source."""
        self._own.update((lesson.id, lesson) for lesson in lessons)

    def read(self, lesson_id: str, *, fresh: bool = False) -> list[JournalMark]:
        """The marks the journal holds for a lesson.

        Raises:
            NotFoundError: the lesson is unknown here or no longer in the journal.
        """
        lesson = self.lessons.get(lesson_id)
        if lesson is None:
            raise NotFoundError(f"eklase: lesson {lesson_id} was not read in this run",
                                upstream=UPSTREAM)
        key = lesson.date
        if fresh or key not in self._cache:
            self._cache[key] = self._fetch(key)
        marks = self._cache[key].get(lesson_id)
        if marks is None:
            raise NotFoundError(f"eklase: lesson {lesson_id} is no longer in the journal",
                                upstream=UPSTREAM)
        return list(marks)

    def add(self, lesson_id: str, mark: JournalMark) -> None:
        """Record a mark just written into the cached answer that holds the lesson."""
        lesson = self.lessons.get(lesson_id)
        cached = self._cache.get(lesson.date) if lesson else None
        if cached is not None:
            cached.setdefault(lesson_id, []).append(mark)

    def forget(self, lesson_id: str) -> None:
        """Drop the cached answer that holds a lesson (after a write to it)."""
        lesson = self.lessons.get(lesson_id)
        if lesson is not None:
            self._cache.pop(lesson.date, None)

    def _fetch(self, day: dt.date) -> dict[str, list[JournalMark]]:
        found: dict[str, list[JournalMark]] = {}
        for row in self.client.lessons(day, day):
            lesson_id = str(row.get("id") or "")
            if lesson_id:
                found[lesson_id] = [_lenient_mark(m, lesson_id) for m in row.get("mark") or []]
                found[lesson_id] += [_edit_as_mark(e) for e in row.get("markEdit") or []]
        return found


def _edit_as_mark(row: dict) -> JournalMark:
    """A person's mark edit (set, changed or deleted) read back as that person's mark: where a
    person has decided, nothing is written again (kārtības 43. p.; CONTRACT.md)."""
    return JournalMark(student_id=str(row.get("studentId") or UNKNOWN_AUTHOR),
                       code=str(row.get("code") or ""),
                       author_id=str(row.get("authorId") or UNKNOWN_AUTHOR))


def _lenient_mark(row: dict, lesson_id: str) -> JournalMark:
    try:
        return journal_mark(WsMark.model_validate(row))
    except ValidationError:
        student = str(row.get("studentId") or UNKNOWN_AUTHOR)
        error = RecordError(f"eklase: lesson {lesson_id} holds a mark that does not fit the "
                            f"contract (student {student}); treated as a person's mark",
                            system=UPSTREAM, record=f"lesson:{lesson_id}")
        log.warning("%s", error.message)
        return JournalMark(student_id=student, code=str(row.get("code") or UNKNOWN_AUTHOR),
                           author_id=str(row.get("authorId") or UNKNOWN_AUTHOR))


class GatewaySink:
    """A :class:`connectors.base.JournalSink` writing through SetAttendanceMark.

    Args:
        client: the gateway client (authenticated as ``service_account``'s account).
        service_account: the author id the gateway shows on marks kartiba wrote.
        lessons: where lesson dates and groups are looked up for read-backs; pass
            ``EklaseJournal.seen_lessons`` or call :meth:`remember`.
    """

    name = "eklase-gateway"

    def __init__(self, client: EklaseClient, service_account: str, *,
                 lessons: Mapping[str, Lesson] | None = None) -> None:
        self.client = client
        self.service_account = service_account
        self.reader = MarksReader(client, lessons if lessons is not None else {})
        self._read_fresh: set[dt.date | str] = set()

    def remember(self, lessons: Iterable[Lesson]) -> None:
        """Make lessons known for read-backs (see :meth:`MarksReader.remember`)."""
        self.reader.remember(lessons)

    def lesson_marks(self, lesson_id: str) -> list[JournalMark]:
        """The marks of a lesson (cached per run; writes always read back afresh)."""
        return self.reader.read(lesson_id)

    def write(self, mark: Mark, idempotency_key: str, comment: str) -> WriteResult:
        """Write one mark unless a mark for that student is already there.

        The lesson's marks are read back afresh before the first write to it in this run
        (one GetLessons per lesson day, not per mark); later writes to the same
        lesson use that answer plus the marks written since. The gateway itself refuses a
        write where a person's mark appeared in between.

        Returns:
            REFUSED("manual_mark") when anyone but the service account has a mark there,
            ALREADY_PRESENT when kartiba's mark is there (no call is made in both cases),
            else the gateway's answer ("already-present" counts as success).
        """
        present = [m for m in self.reader.read(mark.lesson_id,
                                               fresh=self._first_write(mark.lesson_id))
                   if m.student_id == mark.student_id]
        if any(m.author_id != self.service_account for m in present):
            log.info("eklase: lesson %s student %s has a person's mark; not written",
                     mark.lesson_id, mark.student_id)
            return WriteResult(WriteStatus.REFUSED, "manual_mark")
        if present:
            return WriteResult(WriteStatus.ALREADY_PRESENT)
        answer = self.client.set_attendance_mark(
            lesson_id=mark.lesson_id, student_id=mark.student_id, code=mark.code,
            excused=mark.excused, idempotency_key=idempotency_key, points=mark.points,
            comment=comment)
        try:
            result = WsWriteResult.model_validate(answer)
        except ValidationError:
            self.reader.forget(mark.lesson_id)
            raise ProtocolError("eklase: SetAttendanceMark answer does not fit the contract",
                                upstream=UPSTREAM) from None
        log.info("eklase: lesson %s student %s: %s", mark.lesson_id, mark.student_id,
                 result.status)
        status = _STATUS[result.status]
        if status is WriteStatus.REFUSED:
            self.reader.forget(mark.lesson_id)
        else:
            self.reader.add(mark.lesson_id, JournalMark(mark.student_id, mark.code,
                                                        self.service_account,
                                                        excused=mark.excused))
        return WriteResult(status, result.reason or "")

    def _first_write(self, lesson_id: str) -> bool:
        lesson = self.reader.lessons.get(lesson_id)
        key = lesson.date if lesson else lesson_id
        if key in self._read_fresh:
            return False
        self._read_fresh.add(key)
        return True

    def flush(self) -> int:
        """Nothing is batched: every write went to the gateway at once."""
        return 0
