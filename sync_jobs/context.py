"""The context one run shares between its jobs: settings, clock reading, store, connectors."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage

from connectors.base import ActivitySource, JournalSink, JournalSource, MeetingSource
from mappings.calendar import RIGA, SchoolCalendar
from mappings.model import Alert, Lesson, School, Skip
from mappings.policy import Policy
from sync_jobs.settings import Settings
from sync_jobs.state import StateStore

log = logging.getLogger("kartiba.run")


@dataclass
class RunContext:
    """Everything a job needs for one run; ``now`` is read once, before the run starts."""

    settings: Settings
    policy: Policy
    calendar: SchoolCalendar
    store: StateStore
    now: dt.datetime
    run_id: str
    journal: JournalSource
    meetings: dict[str, MeetingSource] = field(default_factory=dict)
    activities: dict[str, ActivitySource] = field(default_factory=dict)
    sink: JournalSink | None = None
    dry_run: bool = False
    alerts: list[Alert] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    digests: list[tuple[str, EmailMessage]] = field(default_factory=list)  # (period key, msg)
    lessons: dict[str, Lesson] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    on_alert: Callable[[list[Alert]], None] | None = None  # claims in the ledger
    _school: School | None = None
    _lesson_cache: dict[tuple[dt.date, dt.date], list[Lesson]] = field(default_factory=dict)
    _read: list[Lesson] = field(default_factory=list)  # every lesson read, in reading order
    _days_read: list[tuple[dt.date, dt.date]] = field(default_factory=list)  # disjoint, sorted

    @property
    def today(self) -> dt.date:
        """The run's date in Riga."""
        return self.now.astimezone(RIGA).date()

    def school(self) -> School:
        """The school (teachers, groups, students, subjects), read once per run."""
        if self._school is None:
            self._school = self.journal.school(self.today)
            if self.settings.school.oversight or self.settings.school.name:
                self._school = _with_school_settings(self._school, self.settings)
        return self._school

    def read_lessons(self, date_from: dt.date, date_to: dt.date) -> list[Lesson]:
        """Lessons of a date range, read once per run and remembered for the alert e-mails.

        Only the days no earlier call of this run has read are asked from the journal, so
        jobs with overlapping windows (attendance, UZDOTS, the school-year quota) cost one
        read of their union. Lessons come in the journal's order within a day, days ascending.
        """
        key = (date_from, date_to)
        if key not in self._lesson_cache:
            for start, end in _uncovered(self._days_read, date_from, date_to):
                self._read.extend(self.journal.lessons(start, end))
                self._days_read = _cover(self._days_read, start, end)
            lessons = sorted((x for x in self._read if date_from <= x.date <= date_to),
                             key=lambda x: x.date)  # stable: the journal's order within a day
            self._lesson_cache[key] = lessons
            self.remember(lessons)
        return self._lesson_cache[key]

    def remember(self, lessons: Iterable[Lesson]) -> None:
        for lesson in lessons:
            self.lessons.setdefault(lesson.id, lesson)

    def alert(self, alerts: Iterable[Alert]) -> None:
        """Record alerts and claim them in the ledger at once (see ``notify.claim``)."""
        alerts = list(alerts)
        self.alerts.extend(alerts)
        if self.on_alert is not None:
            self.on_alert(alerts)


DAY = dt.timedelta(days=1)


def _uncovered(covered: list[tuple[dt.date, dt.date]], date_from: dt.date,
               date_to: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The parts of [date_from, date_to] outside the sorted, disjoint ranges ``covered``."""
    gaps: list[tuple[dt.date, dt.date]] = []
    start = date_from
    for lo, hi in covered:
        if hi < start:
            continue
        if lo > date_to:
            break
        if lo > start:
            gaps.append((start, lo - DAY))
        start = max(start, hi + DAY)
    if start <= date_to:
        gaps.append((start, date_to))
    return gaps


def _cover(covered: list[tuple[dt.date, dt.date]], date_from: dt.date,
           date_to: dt.date) -> list[tuple[dt.date, dt.date]]:
    """``covered`` with [date_from, date_to] added, adjacent ranges merged."""
    merged: list[tuple[dt.date, dt.date]] = []
    for lo, hi in sorted([*covered, (date_from, date_to)]):
        if merged and lo <= merged[-1][1] + DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _with_school_settings(school: School, settings: Settings) -> School:
    from dataclasses import replace

    return replace(
        school,
        name=settings.school.name or school.name,
        oversight=tuple(settings.school.oversight) or school.oversight,
    )
