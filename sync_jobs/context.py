"""The context one run shares between its jobs: settings, clock reading, store, connectors."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
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
    _school: School | None = None
    _lesson_cache: dict[tuple[dt.date, dt.date], list[Lesson]] = field(default_factory=dict)

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
        """Lessons of a date range, read once per run and remembered for the alert e-mails."""
        key = (date_from, date_to)
        if key not in self._lesson_cache:
            covering = next((k for k in self._lesson_cache
                             if k[0] <= date_from and date_to <= k[1]), None)
            if covering is not None:
                lessons = [x for x in self._lesson_cache[covering]
                           if date_from <= x.date <= date_to]
            else:
                lessons = self.journal.lessons(date_from, date_to)
            self._lesson_cache[key] = lessons
            self.remember(lessons)
        return self._lesson_cache[key]

    def remember(self, lessons: Iterable[Lesson]) -> None:
        for lesson in lessons:
            self.lessons.setdefault(lesson.id, lesson)

    def alert(self, alerts: Iterable[Alert]) -> None:
        self.alerts.extend(alerts)


def _with_school_settings(school: School, settings: Settings) -> School:
    from dataclasses import replace

    return replace(
        school,
        name=settings.school.name or school.name,
        oversight=tuple(settings.school.oversight) or school.oversight,
    )
