"""Synchronous lessons: kārtība points 30, 13, 15, 19 (through ``evaluate_sync``)."""

from __future__ import annotations

import pytest

from mappings.evaluate import evaluate_sync
from mappings.model import AlertKind, Audience, LessonMode, Outcome
from mappings.policy import DEFAULT_POLICY
from tests.mappings.factories import (
    STUDENTS,
    SYSTEM,
    at,
    by_student,
    everyone_on_time,
    lesson,
    line,
    marks_by_student,
    meeting,
    person,
    school,
    student,
)

S1 = STUDENTS[0]
NOW = at("11:00")


def s1_only(*rows):
    """Evidence where s2 and s3 are on time and s1's rows are ``rows`` (s1 by name)."""
    others = [
        person(s.full_name, ("08:59", "09:46"), email=s.email) for s in STUDENTS[1:3]
    ]
    return meeting(*others, *rows)


PRESENCE = [
    pytest.param([("09:01", "09:46")], Outcome.PRESENT, "connected", None, id="p30-on-time"),
    pytest.param([("09:12", "09:45")], Outcome.PRESENT, "connected", None,
                 id="p30-late-join-still-present"),
    pytest.param([("09:30", "09:45")], Outcome.ABSENT_UNEXCUSED, "joined_late", ("n", False),
                 id="p30-late-join-too-little"),
    pytest.param([("09:00", "09:12")], Outcome.ABSENT_UNEXCUSED, "left_early", ("n", False),
                 id="p30-left-early"),
    pytest.param([], Outcome.ABSENT_UNEXCUSED, "not_connected", ("n", False),
                 id="p30-not-connected"),
    pytest.param([("09:00", "09:15"), ("09:14", "09:25")], Outcome.PRESENT, "connected", None,
                 id="p30-rejoin-segments-merged"),
    pytest.param([("09:00", "09:20"), ("09:05", "09:20")], Outcome.ABSENT_UNEXCUSED,
                 "left_early", ("n", False), id="p30-two-devices-overlap-counted-once"),
    pytest.param([("08:30", "09:10"), ("09:40", "10:30")], Outcome.ABSENT_UNEXCUSED,
                 "left_early", ("n", False), id="p30-time-outside-lesson-not-counted"),
    pytest.param([("08:40", "08:58"), ("09:50", "10:10")], Outcome.ABSENT_UNEXCUSED,
                 "not_connected", ("n", False), id="p30-only-before-and-after-lesson"),
    pytest.param([("09:00", "09:22")], Outcome.ABSENT_UNEXCUSED, "left_early", ("n", False),
                 id="p30-just-under-half"),
]


@pytest.mark.parametrize(("spans", "outcome", "reason", "mark"), PRESENCE)
def test_presence(spans, outcome, reason, mark):
    rows = [person("Jānis Bērziņš", span) for span in spans]  # one row per join, by name
    result = evaluate_sync(lesson(), school(), s1_only(*rows), (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM)
    verdict = by_student(result)["s1"]
    assert (verdict.outcome, verdict.reason, verdict.points) == (outcome, reason, ("30",))
    got = marks_by_student(result).get("s1")
    assert (None if got is None else (got.code, got.excused)) == mark
    assert {v.outcome for sid, v in by_student(result).items() if sid != "s1"} == {Outcome.PRESENT}
    assert result.final


@pytest.mark.parametrize(
    ("share", "outcome"),
    [
        pytest.param(0.5, Outcome.PRESENT, id="p30-exactly-required-share-is-present"),
        pytest.param(0.6, Outcome.ABSENT_UNEXCUSED, id="p30-policy-share-raised"),
    ],
)
def test_required_share_is_policy(share, outcome):
    policy = DEFAULT_POLICY.with_overrides({"min_presence_share": share})
    # 09:00-09:25 of a 50-minute lesson = exactly 50 %
    evidence = s1_only(person("Jānis Bērziņš", ("09:00", "09:25")))
    result = evaluate_sync(lesson(end="09:50"), school(), evidence, (), policy, NOW,
                           system_author=SYSTEM)
    assert by_student(result)["s1"].outcome is outcome


def test_p30_detail_has_the_numbers_and_no_names():
    evidence = s1_only(person("Jānis Bērziņš", ("09:00", "09:12")))
    result = evaluate_sync(lesson(), school(), evidence, (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM)
    detail = by_student(result)["s1"].detail
    assert detail["connected_minutes"] == 12.0
    assert detail["lesson_minutes"] == 45.0
    assert detail["share"] == pytest.approx(12 / 45, abs=1e-4)
    assert detail["required_share"] == 0.5
    assert detail["first_join"] == "2026-11-30T09:00:00+02:00"
    assert not any("Jānis" in str(value) for value in detail.values())


def test_p19_removed_by_host_is_not_left_without_reason():
    evidence = s1_only(person("Jānis Bērziņš", ("09:00", "09:10"), removed=True))
    result = evaluate_sync(lesson(), school(), evidence, (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM)
    verdict = by_student(result)["s1"]
    assert (verdict.outcome, verdict.reason, verdict.points) == (
        Outcome.NOT_EVALUATED, "removed_by_teacher", ("19",))
    assert "s1" not in marks_by_student(result)
    [alert] = [a for a in result.alerts if a.kind is AlertKind.REMOVED_BY_TEACHER]
    assert (alert.lesson_id, alert.student_id, alert.audience, alert.points) == (
        "L1", "s1", (Audience.CLASS_TEACHER,), ("19",))
    assert result.final


def test_p19_removed_row_wins_over_a_later_rejoin():
    rows = (person("Jānis Bērziņš", ("09:00", "09:05"), removed=True),
            person("Jānis Bērziņš", ("09:06", "09:45")))
    result = evaluate_sync(lesson(), school(), s1_only(*rows), (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM)
    assert by_student(result)["s1"].reason == "removed_by_teacher"


CHAT = [
    pytest.param(None, False, id="p30-no-chat-data-no-flag"),
    pytest.param([], True, id="p30-chat-data-but-silent-flagged"),
    pytest.param([line("09:05", "Jānis Bērziņš")], False, id="p30-registered-in-grace"),
    pytest.param([line("09:10", "Janis Berzins")], False, id="p30-registered-at-grace-end"),
    pytest.param([line("09:11", "Jānis Bērziņš")], True, id="p30-registered-too-late"),
    pytest.param([line("08:55", "Jānis Bērziņš")], True, id="p30-line-before-start-not-counted"),
    pytest.param([line("09:03", "Anna Kalniņa")], True, id="p30-someone-else-wrote"),
    pytest.param([line("09:03", "JB", email="janis.berzins@audzekni.school.lv")], False,
                 id="p30-chat-line-matched-by-email"),
]


@pytest.mark.parametrize(("chat", "flagged"), CHAT)
def test_p30_chat_registration(chat, flagged):
    result = evaluate_sync(lesson(), school(), everyone_on_time(chat=chat), (), DEFAULT_POLICY,
                           NOW, system_author=SYSTEM)
    s1_flags = [a for a in result.alerts
                if a.kind is AlertKind.CHAT_NOT_REGISTERED and a.student_id == "s1"]
    assert bool(s1_flags) is flagged
    assert not result.marks  # never a mark for the chat
    if flagged:
        assert (s1_flags[0].audience, s1_flags[0].points) == ((Audience.TEACHER,), ("30",))


def test_p30_chat_not_checked_for_absent_students():
    evidence = s1_only()
    evidence = meeting(*evidence.participants, chat=[])
    result = evaluate_sync(lesson(), school(), evidence, (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM)
    flagged = {a.student_id for a in result.alerts if a.kind is AlertKind.CHAT_NOT_REGISTERED}
    assert flagged == {"s2", "s3"}


def test_p30_namesakes_are_never_guessed():
    twin = student("s4", "Jānis", "Bērziņš", email="janis.berzins2@audzekni.school.lv")
    sch = school(extra=[twin])
    rows = (person("Janis Berzins", ("09:00", "09:45")),)  # no e-mail: s1 or s4?
    result = evaluate_sync(lesson(), sch, s1_only(*rows), (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM)
    verdicts = by_student(result)
    for sid in ("s1", "s4"):
        assert (verdicts[sid].outcome, verdicts[sid].reason) == (
            Outcome.NOT_EVALUATED, "ambiguous_identity")
    assert not result.marks
    [alert] = [a for a in result.alerts if a.kind is AlertKind.UNMATCHED_PARTICIPANT]
    assert alert.student_id is None and alert.points == ("30",)
    assert alert.detail["participants"] == ("Janis Berzins",)
    assert verdicts["s2"].outcome is Outcome.PRESENT


def test_p30_unmatched_guests_listed_once_host_and_teachers_not():
    rows = (
        person("iPhone", ("09:00", "09:45")),
        person("Viesis 7", ("09:10", "09:20")),
        person("Ilze Kalniņa", ("08:55", "09:50")),  # the lesson's teacher (host)
        person("Guntis Vitols", ("09:00", "09:45")),  # another teacher of the school
    )
    result = evaluate_sync(lesson(), school(), everyone_on_time(*rows), (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM)
    [alert] = [a for a in result.alerts if a.kind is AlertKind.UNMATCHED_PARTICIPANT]
    assert alert.detail["participants"] == ("iPhone", "Viesis 7")
    assert alert.audience == (Audience.TEACHER,)
    assert {v.outcome for v in result.verdicts} == {Outcome.PRESENT}


def test_p30_no_unmatched_alert_when_everyone_known():
    result = evaluate_sync(lesson(), school(), everyone_on_time(), (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM)
    assert not [a for a in result.alerts if a.kind is AlertKind.UNMATCHED_PARTICIPANT]


def joint_evidence():
    """One meeting for g1's L1 and g2's L2: s1, s21 there; s2, s3, s22 not."""
    return meeting(
        person("Jānis Bērziņš", ("09:00", "09:45")),
        person("Līga Zariņa", ("09:00", "09:45")),
    )


@pytest.mark.parametrize(
    ("lesson_id", "group", "present", "absent"),
    [
        pytest.param("L1", "g1", {"s1"}, {"s2", "s3"}, id="p15-joint-lesson-group-1"),
        pytest.param("L2", "g2", {"s21"}, {"s22"}, id="p15-joint-lesson-group-2"),
    ],
)
def test_p15_joint_lesson_each_group_judged(lesson_id, group, present, absent):
    sch = school()
    joint = sch.roster("g1") + sch.roster("g2")
    the_lesson = lesson(lesson_id, group=group, subject="m1" if group == "g1" else "m2")
    result = evaluate_sync(the_lesson, sch, joint_evidence(), (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM, joint_roster=joint)
    verdicts = by_student(result)
    assert set(verdicts) == present | absent  # only the lesson's own group
    assert {s for s, v in verdicts.items() if v.outcome is Outcome.PRESENT} == present
    assert set(marks_by_student(result)) == absent
    assert not [a for a in result.alerts if a.kind is AlertKind.UNMATCHED_PARTICIPANT]


def test_p15_without_joint_roster_other_group_is_unmatched():
    result = evaluate_sync(lesson(), school(), joint_evidence(), (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM)
    [alert] = [a for a in result.alerts if a.kind is AlertKind.UNMATCHED_PARTICIPANT]
    assert alert.detail["participants"] == ("Līga Zariņa",)


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(LessonMode.REMOTE_SYNC, id="p13-class-hour-sync"),
        pytest.param(LessonMode.REMOTE_ASYNC, id="p13-class-hour-typed-async-still-sync"),
    ],
)
def test_p13_class_hour_is_judged_as_synchronous(mode):
    the_lesson = lesson(subject="ch", mode=mode, number=7, start="14:00", end="14:45")
    evidence = meeting(person("Jānis Bērziņš", ("14:00", "14:45")))
    result = evaluate_sync(the_lesson, school(), evidence, (), DEFAULT_POLICY, at("15:15"),
                           system_author=SYSTEM)
    verdicts = by_student(result)
    assert verdicts["s1"].outcome is Outcome.PRESENT
    assert verdicts["s2"].points == ("30",)
    assert set(marks_by_student(result)) == {"s2", "s3"}


def test_p30_aliases_table_identifies_a_nickname():
    evidence = s1_only(person("Jancis", ("09:00", "09:45")))
    result = evaluate_sync(lesson(), school(), evidence, (), DEFAULT_POLICY, NOW,
                           system_author=SYSTEM, aliases={"s1": ["Jancis"]})
    assert by_student(result)["s1"].outcome is Outcome.PRESENT
