"""The UZDOTS entry: kārtība point 16 (through ``check_uzdots``)."""

from __future__ import annotations

import datetime as dt

import pytest

from mappings.calendar import SchoolCalendar
from mappings.evaluate import check_uzdots
from mappings.model import AlertKind, Audience, LessonMode
from mappings.policy import DEFAULT_POLICY
from tests.mappings.factories import ASYNC_TEXT, SYNC_TEXT, at, lesson, school, uzdots

MISSING, LATE, INCOMPLETE = (
    AlertKind.UZDOTS_MISSING,
    AlertKind.UZDOTS_LATE,
    AlertKind.UZDOTS_INCOMPLETE,
)
CALENDAR = SchoolCalendar()
NOW = at("18:00")  # Monday 2026-11-30


def kinds(alerts):
    return tuple(a.kind for a in alerts)


TIMING = [
    pytest.param("2026-11-30", at("15:10", "2026-11-27"), NOW, (),
                 id="p16-monday-lesson-friday-entry-on-time"),
    pytest.param("2026-11-30", at("17:00", "2026-11-27"), NOW, (),
                 id="p16-entry-exactly-at-17"),
    pytest.param("2026-11-30", at("17:05", "2026-11-27"), NOW, (LATE,),
                 id="p16-entry-after-17-late"),
    pytest.param("2026-11-30", at("10:00", "2026-11-28"), NOW, (LATE,),
                 id="p16-entry-on-saturday-late"),
    pytest.param("2026-11-30", None, NOW, (MISSING,), id="p16-no-entry"),
    pytest.param("2026-11-30", None, at("16:59", "2026-11-27"), (),
                 id="p16-not-checked-before-deadline"),
    pytest.param("2026-11-30", None, at("17:00", "2026-11-27"), (MISSING,),
                 id="p16-checked-from-the-deadline"),
    pytest.param("2026-11-19", at("10:00", "2026-11-18"), at("18:00", "2026-11-19"), (LATE,),
                 id="p16-holiday-18-nov-is-not-a-working-day"),
    pytest.param("2026-11-19", at("16:00", "2026-11-17"), at("18:00", "2026-11-19"), (),
                 id="p16-before-the-holiday-on-time"),
    pytest.param("2026-01-19", at("16:00", "2026-01-17"), at("18:00", "2026-01-19"), (),
                 id="p16-transferred-working-saturday-counts"),
    pytest.param("2026-01-19", at("10:00", "2026-01-18"), at("18:00", "2026-01-19"), (LATE,),
                 id="p16-sunday-after-transferred-saturday-late"),
    pytest.param("2026-01-05", at("10:00", "2025-12-31"), at("18:00", "2026-01-05"), (LATE,),
                 id="p16-new-year-holidays-and-2-jan-day-off"),
    pytest.param("2026-01-05", at("16:00", "2025-12-30"), at("18:00", "2026-01-05"), (),
                 id="p16-before-new-year-on-time"),
    pytest.param("2026-03-30", at("16:30", "2026-03-27"), at("18:00", "2026-03-30"), (),
                 id="p16-dst-spring-week-on-time"),
    pytest.param("2026-10-26", dt.datetime(2026, 10, 23, 14, 30, tzinfo=dt.UTC),
                 at("18:00", "2026-10-26"), (LATE,), id="p16-dst-summer-time-17-30-riga-late"),
    pytest.param("2026-10-26", dt.datetime(2026, 10, 23, 13, 30, tzinfo=dt.UTC),
                 at("18:00", "2026-10-26"), (), id="p16-dst-summer-time-16-30-riga-on-time"),
]


@pytest.mark.parametrize(("day", "created", "now", "expected"), TIMING)
def test_p16_timing(day, created, now, expected):
    entry = None if created is None else uzdots(SYNC_TEXT, created)
    alerts = check_uzdots(lesson(day=day, entry=entry), CALENDAR, DEFAULT_POLICY, now)
    assert kinds(alerts) == expected
    for alert in alerts:
        assert (alert.lesson_id, alert.student_id, alert.audience, alert.points) == (
            "L1", None, (Audience.TEACHER,), ("16",))


@pytest.mark.parametrize(
    ("day", "deadline"),
    [
        pytest.param("2026-11-30", "2026-11-27T17:00:00+02:00", id="p16-deadline-friday"),
        pytest.param("2026-11-19", "2026-11-17T17:00:00+02:00", id="p16-deadline-before-holiday"),
        pytest.param("2026-01-19", "2026-01-17T17:00:00+02:00",
                     id="p16-deadline-transferred-saturday"),
        pytest.param("2026-03-30", "2026-03-27T17:00:00+02:00", id="p16-deadline-winter-offset"),
        pytest.param("2026-10-26", "2026-10-23T17:00:00+03:00", id="p16-deadline-summer-offset"),
    ],
)
def test_p16_missing_alert_names_the_deadline(day, deadline):
    now = at("18:00", day)
    [alert] = check_uzdots(lesson(day=day, entry=None), CALENDAR, DEFAULT_POLICY, now)
    assert alert.detail["deadline"] == deadline


def test_p16_school_non_teaching_day_moves_the_deadline():
    calendar = SchoolCalendar(non_teaching_days=[dt.date(2026, 11, 27)])
    the_lesson = lesson(entry=uzdots(SYNC_TEXT, at("15:10", "2026-11-27")))
    [alert] = check_uzdots(the_lesson, calendar, DEFAULT_POLICY, NOW)
    assert alert.kind is LATE
    assert alert.detail == {"deadline": "2026-11-26T17:00:00+02:00",
                            "created_at": "2026-11-27T15:10:00+02:00"}


SYNC_NO_LINK = "Tiešsaistes stunda. Termiņš: 30.11.2026 17:00. Vērtēšanas kritēriji pielikumā."
SYNC_NO_DUE = "Tiešsaistes stunda https://zoom.us/j/81234567890. Vērtēšanas kritēriji."
ASYNC_NO_LINK = "Izpildīt darba lapu. Termiņš: 30.11.2026 17:00. Vērtēšanas kritēriji."

COMPLETENESS = [
    pytest.param(LessonMode.REMOTE_SYNC, SYNC_NO_LINK, ("a.pdf",), ("link",),
                 id="p16-sync-without-link"),
    pytest.param(LessonMode.REMOTE_SYNC, SYNC_NO_DUE, (), ("due",), id="p16-sync-without-due"),
    pytest.param(LessonMode.REMOTE_SYNC, "Tiešsaistes stunda https://zoom.us/j/81234567890. "
                 "Termiņš: 30.11.2026 17:00.", (), ("criteria",),
                 id="p16-no-criteria-no-attachment"),
    pytest.param(LessonMode.REMOTE_SYNC, "Tiešsaistes stunda https://zoom.us/j/81234567890. "
                 "Termiņš: 30.11.2026 17:00.", ("uzdevums.docx",), (),
                 id="p16-criteria-by-attachment"),
    pytest.param(LessonMode.REMOTE_SYNC, "Stunda rīt.", (), ("link", "due", "criteria"),
                 id="p16-everything-missing"),
    pytest.param(LessonMode.REMOTE_ASYNC, ASYNC_TEXT, (), ("due",), id="p16-async-without-due"),
    pytest.param(LessonMode.REMOTE_ASYNC, ASYNC_NO_LINK, (), (),
                 id="p16-async-needs-no-meeting-link"),
]


@pytest.mark.parametrize(("mode", "text", "attachments", "missing"), COMPLETENESS)
def test_p16_completeness(mode, text, attachments, missing):
    the_lesson = lesson(mode=mode, entry=uzdots(text, attachments=attachments))
    alerts = check_uzdots(the_lesson, CALENDAR, DEFAULT_POLICY, NOW)
    if missing:
        [alert] = alerts
        assert alert.kind is INCOMPLETE
        assert alert.detail["missing"] == missing
    else:
        assert alerts == ()


def test_p16_late_and_incomplete_both_fire():
    entry = uzdots(SYNC_NO_LINK, at("17:05", "2026-11-27"))
    alerts = check_uzdots(lesson(entry=entry), CALENDAR, DEFAULT_POLICY, NOW)
    assert kinds(alerts) == (LATE, INCOMPLETE)


@pytest.mark.parametrize(
    ("with_school", "expected"),
    [
        pytest.param(True, (INCOMPLETE,), id="p13-p16-class-hour-needs-a-link"),
        pytest.param(False, (), id="p16-without-school-lesson-type-decides"),
    ],
)
def test_p13_class_hour_uzdots_is_checked_as_synchronous(with_school, expected):
    the_lesson = lesson(subject="ch", mode=LessonMode.REMOTE_ASYNC,
                        entry=uzdots(ASYNC_NO_LINK))
    sch = school() if with_school else None
    assert kinds(check_uzdots(the_lesson, CALENDAR, DEFAULT_POLICY, NOW, school=sch)) == expected


SCOPE = [
    pytest.param({"mode": LessonMode.IN_PERSON}, NOW, (), id="p16-in-person-not-checked"),
    pytest.param({"day": "2023-02-27"}, at("18:00", "2023-02-27"), (),
                 id="p47-before-effective-date"),
    pytest.param({"day": "2023-03-01"}, at("18:00", "2023-03-01"), (MISSING,),
                 id="p47-on-effective-date"),
    pytest.param({"day": "2026-11-20"}, NOW, (), id="p16-older-than-check-days"),
    pytest.param({"day": "2026-11-23"}, NOW, (MISSING,), id="p16-exactly-check-days-old"),
    pytest.param({"day": "2026-12-01"}, NOW, (MISSING,), id="p16-tomorrows-lesson-checked"),
]


@pytest.mark.parametrize(("kw", "now", "expected"), SCOPE)
def test_p16_scope(kw, now, expected):
    the_lesson = lesson(entry=None, **kw)
    assert kinds(check_uzdots(the_lesson, CALENDAR, DEFAULT_POLICY, now)) == expected
