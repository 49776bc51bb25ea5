"""School calendar: working days and the UZDOTS deadline (kārtība p. 16), Riga time with DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mappings.calendar import (
    RIGA,
    SchoolCalendar,
    end_of_day,
    local,
    riga_date,
    school_year,
    to_riga,
)

D = dt.date
EET = dt.timezone(dt.timedelta(hours=2))  # Riga winter time
EEST = dt.timezone(dt.timedelta(hours=3))  # Riga summer time


@pytest.mark.parametrize(
    ("day", "non_teaching", "expected"),
    [
        pytest.param(D(2026, 11, 17), (), True, id="p16-ordinary-tuesday"),
        pytest.param(D(2026, 11, 18), (), False, id="p16-proclamation-day-holiday"),
        pytest.param(D(2026, 11, 21), (), False, id="p16-ordinary-saturday"),
        pytest.param(D(2026, 11, 22), (), False, id="p16-sunday"),
        pytest.param(D(2026, 1, 17), (), True, id="p16-transferred-working-saturday-jan"),
        pytest.param(D(2026, 1, 2), (), False, id="p16-day-off-moved-from-jan-17"),
        pytest.param(D(2026, 6, 27), (), True, id="p16-transferred-working-saturday-jun"),
        pytest.param(D(2026, 6, 22), (), False, id="p16-day-off-moved-from-jun-27"),
        pytest.param(D(2026, 5, 4), (), False, id="p16-restoration-day-monday"),
        pytest.param(D(2025, 12, 31), (), False, id="p16-new-years-eve"),
        pytest.param(D(2026, 11, 27), (D(2026, 11, 27),), False, id="p16-school-non-teaching"),
        pytest.param(D(2026, 1, 17), (D(2026, 1, 17),), False, id="p16-non-teaching-beats-sat"),
    ],
)
def test_is_working_day(day: dt.date, non_teaching: tuple[dt.date, ...], expected: bool) -> None:
    assert SchoolCalendar(non_teaching).is_working_day(day) is expected


@pytest.mark.parametrize(
    ("lesson_day", "non_teaching", "expected"),
    [
        pytest.param(
            D(2026, 11, 19),
            (),
            dt.datetime(2026, 11, 17, 17, 0, tzinfo=EET),
            id="p16-thursday-after-holiday-wednesday-is-tuesday",
        ),
        pytest.param(
            D(2026, 11, 30),
            (),
            dt.datetime(2026, 11, 27, 17, 0, tzinfo=EET),
            id="p16-monday-lesson-friday-deadline",
        ),
        pytest.param(
            D(2026, 1, 19),
            (),
            dt.datetime(2026, 1, 17, 17, 0, tzinfo=EET),
            id="p16-monday-after-transferred-working-saturday",
        ),
        pytest.param(
            D(2026, 1, 5),
            (),
            dt.datetime(2025, 12, 30, 17, 0, tzinfo=EET),
            id="p16-after-jan-2-day-off-and-new-year",
        ),
        pytest.param(
            D(2026, 1, 17),
            (),
            dt.datetime(2026, 1, 16, 17, 0, tzinfo=EET),
            id="p16-lesson-on-working-saturday",
        ),
        pytest.param(
            D(2026, 11, 30),
            (D(2026, 11, 27),),
            dt.datetime(2026, 11, 26, 17, 0, tzinfo=EET),
            id="p16-school-non-teaching-friday",
        ),
        pytest.param(
            D(2026, 3, 30),
            (),
            dt.datetime(2026, 3, 27, 17, 0, tzinfo=EET),
            id="p16-dst-start-week-monday-deadline-in-winter-time",
        ),
        pytest.param(
            D(2026, 3, 31),
            (),
            dt.datetime(2026, 3, 30, 17, 0, tzinfo=EEST),
            id="p16-dst-start-week-tuesday-deadline-in-summer-time",
        ),
        pytest.param(
            D(2026, 10, 26),
            (),
            dt.datetime(2026, 10, 23, 17, 0, tzinfo=EEST),
            id="p16-dst-end-week-monday-deadline-in-summer-time",
        ),
        pytest.param(
            D(2026, 10, 27),
            (),
            dt.datetime(2026, 10, 26, 17, 0, tzinfo=EET),
            id="p16-dst-end-week-tuesday-deadline-in-winter-time",
        ),
    ],
)
def test_uzdots_deadline(
    lesson_day: dt.date, non_teaching: tuple[dt.date, ...], expected: dt.datetime
) -> None:
    deadline = SchoolCalendar(non_teaching).uzdots_deadline(lesson_day)
    assert deadline == expected
    assert deadline.utcoffset() == expected.utcoffset()
    assert deadline.tzinfo is RIGA


def test_uzdots_deadline_custom_time() -> None:
    """p. 16: the policy may move the 17:00 deadline."""
    deadline = SchoolCalendar().uzdots_deadline(D(2026, 11, 30), dt.time(15, 30))
    assert deadline == dt.datetime(2026, 11, 27, 15, 30, tzinfo=EET)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(D(2026, 11, 19), D(2026, 11, 17), id="skips-holiday"),
        pytest.param(D(2026, 11, 18), D(2026, 11, 17), id="from-a-holiday"),
        pytest.param(D(2026, 11, 22), D(2026, 11, 20), id="from-a-sunday"),
        pytest.param(D(2026, 6, 29), D(2026, 6, 27), id="working-saturday-jun"),
    ],
)
def test_previous_working_day(day: dt.date, expected: dt.date) -> None:
    assert SchoolCalendar().previous_working_day(day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(D(2026, 11, 17), D(2026, 11, 19), id="skips-holiday"),
        pytest.param(D(2026, 1, 16), D(2026, 1, 17), id="to-working-saturday"),
        pytest.param(D(2025, 12, 30), D(2026, 1, 5), id="over-new-year"),
    ],
)
def test_next_working_day(day: dt.date, expected: dt.date) -> None:
    assert SchoolCalendar().next_working_day(day) == expected


def test_previous_working_day_gives_up_on_a_calendar_without_working_days() -> None:
    every_day = [D(2026, 1, 1) + dt.timedelta(days=n) for n in range(400)]
    with pytest.raises(ValueError, match="no working day"):
        SchoolCalendar(every_day).previous_working_day(D(2027, 1, 10))


def test_calendar_rejects_datetime_for_day() -> None:
    with pytest.raises(TypeError):
        SchoolCalendar().is_working_day(dt.datetime(2026, 11, 17, 12, tzinfo=RIGA))


@pytest.mark.parametrize(
    ("day", "at", "expected"),
    [
        pytest.param(
            D(2026, 1, 15), dt.time(9, 0), dt.datetime(2026, 1, 15, 9, 0, tzinfo=EET), id="winter"
        ),
        pytest.param(
            D(2026, 7, 15), dt.time(9, 0), dt.datetime(2026, 7, 15, 9, 0, tzinfo=EEST), id="summer"
        ),
        pytest.param(
            D(2026, 3, 29),
            dt.time(3, 30),
            dt.datetime(2026, 3, 29, 4, 30, tzinfo=EEST),
            id="dst-gap-moves-forward",
        ),
        pytest.param(
            D(2026, 10, 25),
            dt.time(3, 30),
            dt.datetime(2026, 10, 25, 3, 30, tzinfo=EEST),
            id="dst-repeated-hour-first",
        ),
    ],
)
def test_local(day: dt.date, at: dt.time, expected: dt.datetime) -> None:
    result = local(day, at)
    # Compare in UTC: Python never calls a time in the repeated DST hour equal across zones.
    assert result.astimezone(dt.UTC) == expected.astimezone(dt.UTC)
    assert result.utcoffset() == expected.utcoffset()
    assert result.tzinfo is RIGA


def test_local_rejects_aware_time() -> None:
    with pytest.raises(ValueError):
        local(D(2026, 1, 15), dt.time(9, 0, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    ("day", "expected", "hours"),
    [
        pytest.param(D(2026, 11, 30), dt.datetime(2026, 12, 1, 0, 0, tzinfo=EET), 24, id="plain"),
        pytest.param(D(2026, 3, 29), dt.datetime(2026, 3, 30, 0, 0, tzinfo=EEST), 23, id="dst-on"),
        pytest.param(
            D(2026, 10, 25), dt.datetime(2026, 10, 26, 0, 0, tzinfo=EET), 25, id="dst-off"
        ),
    ],
)
def test_end_of_day(day: dt.date, expected: dt.datetime, hours: int) -> None:
    assert end_of_day(day) == expected
    # Elapsed time in UTC: same-zone subtraction in Python is wall-clock arithmetic.
    elapsed = end_of_day(day).astimezone(dt.UTC) - local(day, dt.time(0, 0)).astimezone(dt.UTC)
    assert elapsed == dt.timedelta(hours=hours)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        pytest.param(
            dt.datetime(2026, 11, 29, 22, 30, tzinfo=dt.UTC), D(2026, 11, 30), id="utc-evening"
        ),
        pytest.param(
            dt.datetime(2026, 7, 1, 20, 59, tzinfo=dt.UTC),
            D(2026, 7, 1),
            id="summer-before-midnight",
        ),
        pytest.param(
            dt.datetime(2026, 7, 1, 21, 0, tzinfo=dt.UTC), D(2026, 7, 2), id="summer-midnight"
        ),
        pytest.param(
            dt.datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("America/New_York")),
            D(2026, 7, 1),
            id="other-zone",
        ),
    ],
)
def test_to_riga_and_riga_date(instant: dt.datetime, expected: dt.date) -> None:
    assert riga_date(instant) == expected
    assert to_riga(instant) == instant
    assert to_riga(instant).tzinfo is RIGA


def test_to_riga_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_riga(dt.datetime(2026, 11, 30, 9, 0))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(D(2026, 9, 1), (D(2026, 9, 1), D(2027, 8, 31)), id="p7-first-day"),
        pytest.param(D(2026, 8, 31), (D(2025, 9, 1), D(2026, 8, 31)), id="p7-last-day"),
        pytest.param(D(2027, 1, 15), (D(2026, 9, 1), D(2027, 8, 31)), id="p7-january"),
        pytest.param(D(2026, 12, 31), (D(2026, 9, 1), D(2027, 8, 31)), id="p7-december"),
    ],
)
def test_school_year(day: dt.date, expected: tuple[dt.date, dt.date]) -> None:
    assert school_year(day) == expected
