"""The interfaces between connectors and jobs: sources of evidence and the journal sink.

Jobs depend on these protocols only; each connector package implements one or more of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from mappings.model import (
    ActivityEvidence,
    ActivityRecord,
    ActivityRef,
    ActivityUser,
    JournalMark,
    Lesson,
    Mark,
    MeetingEvidence,
    MeetingRef,
    Notice,
    School,
    Teacher,
)


@runtime_checkable
class JournalSource(Protocol):
    """Reads the school journal (e-klase): school, timetable with UZDOTS/topic/marks, notices."""

    def school(self) -> School: ...

    def lessons(self, date_from: dt.date, date_to: dt.date) -> list[Lesson]: ...

    def notices(self, date_from: dt.date, date_to: dt.date) -> list[Notice]: ...

    def health(self) -> str: ...


class WriteStatus(StrEnum):
    CREATED = "created"  # the journal now has our mark
    ALREADY_PRESENT = "already_present"  # our mark with this idempotency key was there already
    REFUSED = "refused"  # the journal refused (e.g. a person's mark is there)
    PROPOSED = "proposed"  # worklist: sent to the teacher for entry, not in the journal yet


@dataclass(frozen=True, slots=True)
class WriteResult:
    status: WriteStatus
    reason: str = ""


@runtime_checkable
class JournalSink(Protocol):
    """Writes "n" marks to the journal (point 43). Never touches a mark kartiba did not write."""

    name: str

    def lesson_marks(self, lesson_id: str) -> list[JournalMark]:
        """Read back the marks the journal holds for one lesson now."""
        ...

    def write(self, mark: Mark, idempotency_key: str, comment: str) -> WriteResult: ...

    def flush(self) -> int:
        """Finish a batch (the worklist sink mails its files); returns messages sent."""
        ...


@runtime_checkable
class MeetingSource(Protocol):
    """A synchronous-lesson platform (Zoom, Teams, Meet)."""

    platform: str

    def fetch(
        self,
        ref: MeetingRef,
        lesson_start: dt.datetime,
        lesson_end: dt.datetime,
        host: Teacher | None,
        need_chat: bool = True,
    ) -> MeetingEvidence:
        """Evidence of the meeting around one lesson.

        Returns ``MeetingEvidence(found=False)`` when the platform has no such meeting or no
        instance in the window. Raises ``NotReadyError`` when the platform cannot answer yet
        (e.g. the meeting has not ended) and other ``UpstreamError``s on failure.
        """
        ...

    def health(self) -> str: ...


@runtime_checkable
class ActivitySource(Protocol):
    """An asynchronous-work platform (skolo.lv Moodle, uzdevumi.lv, soma.lv)."""

    platform: str

    def fetch(self, refs: Sequence[ActivityRef], until: dt.datetime, *,
              students: Mapping[ActivityRef, Sequence[ActivityUser]] | None = None,
              due: Mapping[ActivityRef, dt.datetime] | None = None,
              ) -> dict[ActivityRef, ActivityEvidence]:
        """Evidence for several activity links at once (one batch per run keeps calls low).

        Every ref in ``refs`` gets an entry; ``found=False`` where the platform has no such
        activity. Records later than ``until`` may be left out. ``students``: per link, the
        students of the lessons that link it (a platform answering per user asks only about
        those); ``due``: per link, the earliest due time of those lessons. Both optional.
        """
        ...

    def health(self) -> str: ...


@runtime_checkable
class ImportLedger(Protocol):
    """Where file-import connectors (uzdevumi.lv, soma.lv) remember files and their rows.

    Implemented by the state store; a file is recorded with its rows in one transaction, so a
    crash never leaves a file half-imported, and a file seen once is never imported again.
    """

    def file_seen(self, system: str, sha256: str) -> bool: ...

    def record_file(self, system: str, sha256: str, name: str,
                    records: Sequence[ActivityRecord]) -> None: ...

    def imported_records(self, system: str, urls: Sequence[str]) -> list[ActivityRecord]: ...


@runtime_checkable
class WebhookLedger(Protocol):
    """Where verified webhook events are kept (Zoom participant_joined/left, chat messages)."""

    def add_event(self, system: str, event_id: str, meeting_key: str, kind: str,
                  at: dt.datetime, payload: dict) -> bool:
        """Store an event; False when an event with this id was stored before (replay)."""
        ...

    def events(self, system: str, meeting_key: str) -> list[dict]:
        """Payloads of the stored events for one meeting (numeric id or instance uuid)."""
        ...
