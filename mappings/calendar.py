"""School calendar: Riga local time, working days and the UZDOTS deadline (kārtība p. 16).

Every rule speaks Riga time (Europe/Riga, with daylight saving time). Working days are
Monday to Friday, minus Latvian public holidays, plus the Saturdays the government moves a
working day to (``holidays`` knows them as ``weekend_workdays``), minus the school's own
non-teaching days from configuration.

Pure: no clock reads; the ``holidays`` package computes its dates in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final
from zoneinfo import ZoneInfo

import holidays

RIGA: Final = ZoneInfo("Europe/Riga")
UTC: Final = dt.UTC

#: How far back ``previous_working_day`` looks before giving up (a misconfigured calendar).
_MAX_LOOKBACK_DAYS: Final = 366


def _require_aware(t: dt.datetime) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("naive datetime: every instant must be timezone-aware")


def _require_date(day: dt.date) -> None:
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise TypeError(f"expected a date, got {type(day).__name__}")


def to_riga(t: dt.datetime) -> dt.datetime:
    """Convert an aware instant to Riga local time.

    Args:
        t: a timezone-aware datetime.

    Returns:
        The same instant expressed in Europe/Riga.

    Raises:
        ValueError: ``t`` is naive.
    """
    _require_aware(t)
    return t.astimezone(RIGA)


def local(day: dt.date, at: dt.time) -> dt.datetime:
    """The aware instant of wall-clock time ``at`` on ``day`` in Riga.

    A wall time that does not exist (the hour skipped when DST starts) is moved forward by
    the gap, like a clock would be; an ambiguous one (the hour repeated when DST ends) is the
    first of the two.

    Args:
        day: the calendar day in Riga.
        at: a naive wall-clock time.

    Returns:
        An aware datetime in Europe/Riga.
    """
    _require_date(day)
    if at.tzinfo is not None:
        raise ValueError("local() takes a naive wall-clock time")
    wall = dt.datetime.combine(day, at.replace(fold=0), tzinfo=RIGA)
    # Round trip through UTC: normalises a non-existent wall time to a real instant.
    return wall.astimezone(UTC).astimezone(RIGA)


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant of the day after ``day`` in Riga: an exclusive upper bound of ``day``."""
    return local(day + dt.timedelta(days=1), dt.time(0, 0))


def riga_date(t: dt.datetime) -> dt.date:
    """The Riga calendar day of an aware instant."""
    return to_riga(t).date()


def school_year(day: dt.date) -> tuple[dt.date, dt.date]:
    """The school year (1 September – 31 August) containing ``day`` (kārtība p. 7).

    Args:
        day: any calendar day.

    Returns:
        ``(first_day, last_day)``, both inclusive.
    """
    _require_date(day)
    first_year = day.year if day.month >= 9 else day.year - 1
    return dt.date(first_year, 9, 1), dt.date(first_year + 1, 8, 31)


class SchoolCalendar:
    """Working days of the school (kārtība p. 16).

    Args:
        non_teaching_days: the school's own days off (e.g. a school-wide event day).
        country: country code for public holidays and transferred working days.
    """

    def __init__(self, non_teaching_days: Iterable[dt.date] = (), country: str = "LV") -> None:
        days = frozenset(non_teaching_days)
        for day in days:
            _require_date(day)
        self.non_teaching_days: frozenset[dt.date] = days
        self.country = country
        self._public = holidays.country_holidays(country)

    def __repr__(self) -> str:
        return (
            f"SchoolCalendar(country={self.country!r}, "
            f"non_teaching_days={len(self.non_teaching_days)})"
        )

    def is_public_holiday(self, day: dt.date) -> bool:
        """Whether ``day`` is a public holiday or a day off moved there by law."""
        _require_date(day)
        return day in self._public

    def is_working_day(self, day: dt.date) -> bool:
        """Whether the school works on ``day``.

        Monday–Friday minus public holidays, plus transferred working Saturdays, minus the
        school's non-teaching days.
        """
        _require_date(day)
        if day in self.non_teaching_days:
            return False
        return self._public.is_working_day(day)

    def previous_working_day(self, day: dt.date) -> dt.date:
        """The last working day strictly before ``day``.

        Raises:
            ValueError: no working day within a year before ``day`` (misconfiguration).
        """
        _require_date(day)
        candidate = day
        for _ in range(_MAX_LOOKBACK_DAYS):
            candidate -= dt.timedelta(days=1)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_LOOKBACK_DAYS} days before {day}")

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``.

        Raises:
            ValueError: no working day within a year after ``day`` (misconfiguration).
        """
        _require_date(day)
        candidate = day
        for _ in range(_MAX_LOOKBACK_DAYS):
            candidate += dt.timedelta(days=1)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_LOOKBACK_DAYS} days after {day}")

    def uzdots_deadline(self, lesson_day: dt.date, at: dt.time = dt.time(17, 0)) -> dt.datetime:
        """When the UZDOTS entry of a lesson on ``lesson_day`` must exist (kārtība p. 16).

        "At least one working day before the lesson, by 17:00": ``at`` Riga time on the
        previous working day.

        Args:
            lesson_day: the day of the lesson.
            at: the deadline's wall-clock time (policy ``uzdots_deadline_time``).

        Returns:
            An aware datetime in Europe/Riga.
        """
        return local(self.previous_working_day(lesson_day), at)
