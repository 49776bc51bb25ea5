"""Alert audiences resolved to e-mail addresses; unknown addresses skipped with ids only."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from mappings.model import (
    Alert,
    AlertKind,
    Audience,
    Group,
    Lesson,
    LessonMode,
    School,
    Student,
    Teacher,
    frozen_map,
)
from sync_jobs.alerts.compose import Recipient
from sync_jobs.alerts.recipients import resolve

RIGA = ZoneInfo("Europe/Riga")
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA)

T1 = Recipient("ilze.kalnina@school.lv", "Ilze Kalniņa", "teacher")
T2 = Recipient("anna.ozola@school.lv", "Anna Ozola", "class_teacher")
DEPUTY = Recipient("deputy@school.lv", "", "oversight")
HEAD = Recipient("head@school.lv", "", "oversight")


def school(**changes) -> School:
    teachers = {
        "t1": Teacher("t1", "Ilze Kalniņa", "ilze.kalnina@school.lv"),
        "t2": Teacher("t2", "Anna Ozola", "anna.ozola@school.lv"),
        "t3": Teacher("t3", "Pēteris Liepa", ""),
    }
    groups = {"g1": Group("g1", "ET-22", "t2"), "g2": Group("g2", "AM-21", "t3"),
              "g3": Group("g3", "NO-CT", None)}
    students = {"s1": Student("s1", "g1", "Jānis", "Bērziņš"),
                "s9": Student("s9", "g2", "Marta", "Kalna")}
    data = {"name": "S", "teachers": teachers, "groups": groups, "students": students,
            "oversight": ("deputy@school.lv", "head@school.lv")}
    data.update(changes)
    return School(name=data["name"], teachers=frozen_map(data["teachers"]),
                  groups=frozen_map(data["groups"]), students=frozen_map(data["students"]),
                  oversight=tuple(data["oversight"]))


def redirect(role: str, teacher_id: str) -> list[Recipient]:
    """An alert whose recipient has no usable address goes to the oversight, saying whose."""
    return [Recipient("deputy@school.lv", "", f"unusable:{role}:{teacher_id}"),
            Recipient("head@school.lv", "", f"unusable:{role}:{teacher_id}")]


def lesson(group: str = "g1", teacher: str = "t1") -> Lesson:
    return Lesson("L1", group, "m1", teacher, START.date(), 2, START,
                  START + dt.timedelta(minutes=45), LessonMode.REMOTE_SYNC)


def alert(*audience: Audience, student: str | None = None) -> Alert:
    return Alert(AlertKind.ABSENCE if student else AlertKind.QUOTA_EXCEEDED, "L1", student,
                 audience=tuple(audience), points=("7",))


@pytest.mark.parametrize(("audience", "the_lesson", "student", "expected"), [
    pytest.param((Audience.TEACHER,), lesson(), None, [T1], id="teacher"),
    pytest.param((Audience.CLASS_TEACHER,), lesson(), "s1", [T2], id="class-teacher"),
    pytest.param((Audience.CLASS_TEACHER,), None, "s1", [T2], id="class-teacher-via-student"),
    pytest.param((Audience.TEACHER, Audience.OVERSIGHT), lesson(), None, [T1, DEPUTY, HEAD],
                 id="teacher-and-oversight"),
    pytest.param((Audience.TEACHER, Audience.CLASS_TEACHER), lesson(teacher="t2"), "s1",
                 [Recipient("anna.ozola@school.lv", "Anna Ozola", "teacher")],
                 id="same-person-once-first-role-wins"),
    pytest.param((Audience.CLASS_TEACHER,), lesson(group="g2"), "s9",
                 redirect("class_teacher", "t3"), id="class-teacher-without-email"),
    pytest.param((Audience.CLASS_TEACHER,), lesson(group="g3"), None,
                 redirect("class_teacher", "-"), id="group-without-class-teacher"),
    pytest.param((Audience.TEACHER,), lesson(teacher="t404"), None,
                 redirect("teacher", "t404"), id="unknown-teacher"),
    pytest.param((Audience.TEACHER,), None, None, redirect("teacher", "-"),
                 id="no-lesson-no-teacher"),
    pytest.param((Audience.PARENTS,), lesson(), "s1", [], id="parents-off"),
])
def test_resolve(audience, the_lesson, student, expected) -> None:
    assert resolve(alert(*audience, student=student), the_lesson, school()) == expected


def test_bad_oversight_addresses_are_skipped() -> None:
    got = resolve(alert(Audience.OVERSIGHT), None,
                  school(oversight=("not-an-address", "DEPUTY@school.lv", "deputy@school.lv")))
    assert got == [Recipient("DEPUTY@school.lv", "", "oversight")]


def test_skips_are_logged_with_ids_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="kartiba.alerts")
    got = resolve(alert(Audience.CLASS_TEACHER, Audience.PARENTS, student="s9"),
                  lesson(group="g2"), school(), parents=True)
    assert got == redirect("class_teacher", "t3")
    text = caplog.text
    assert "t3" in text and "s9" in text
    for personal in ("Pēteris", "Liepa", "Marta", "Kalna", "@"):
        assert personal not in text


@pytest.mark.parametrize("field", ["ilze@school.lv,attacker@evil.example", "ilze@school.lv;x@y.lv",
                                   "Ilze <ilze@school.lv>", "ilze@school", "ilze@sko\nla.lv",
                                   "ilze@skolā.lv"])
def test_a_field_with_anything_but_one_address_goes_to_the_oversight(field) -> None:
    teachers = {"t1": Teacher("t1", "Ilze Kalniņa", field),
                "t2": Teacher("t2", "Anna Ozola", "anna.ozola@school.lv")}
    got = resolve(alert(Audience.TEACHER), lesson(), school(teachers=teachers))
    assert got == redirect("teacher", "t1")
