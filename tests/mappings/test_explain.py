"""Readable reasons (Latvian default, English optional), citing "kārtības N. p."."""

from __future__ import annotations

import dataclasses
import datetime as dt
import string

import pytest

from mappings.calendar import SchoolCalendar
from mappings.evaluate import (
    absence_alert,
    check_quota,
    check_uzdots,
    evaluate_async,
    evaluate_sync,
)
from mappings.explain import (
    DETAILS,
    REASONS,
    alert_text,
    explain_result,
    reason_text,
    uzdots_line,
)
from mappings.model import AlertKind, LessonMode, LessonResult, NoticeKind, Outcome
from mappings.policy import DEFAULT_POLICY
from mappings.rules.verdicts import verdict
from tests.mappings.factories import (
    STUDENTS,
    SYSTEM,
    activity,
    async_lesson,
    at,
    journal_mark,
    lesson,
    meeting,
    notice,
    person,
    record,
    school,
    uzdots,
)

OTHERS = [person(s.full_name, ("09:00", "09:45"), email=s.email) for s in STUDENTS[1:3]]


def sync_lines(*s1_rows, notices=(), now=at("11:00"), lang="lv", marks=()):
    the_lesson = lesson(marks=marks)
    result = evaluate_sync(the_lesson, school(), meeting(*OTHERS, *s1_rows), notices,
                           DEFAULT_POLICY, now, system_author=SYSTEM)
    return explain_result(result, the_lesson, school(), lang)


LINES = [
    pytest.param([person("Jānis Bērziņš", ("09:00", "09:12"))], {}, "lv",
                 "Jānis Bērziņš — n (neattaisnots): pieslēdzās 12 no 45 min (27 %), "
                 "mazāk par 50 % — kārtības 30. p.", id="p30-left-early-lv"),
    pytest.param([person("Jānis Bērziņš", ("09:00", "09:12"))], {}, "en",
                 "Jānis Bērziņš — n (unexcused): connected 12 of 45 min (27 %), "
                 "less than 50 % — procedure p. 30", id="p30-left-early-en"),
    pytest.param([person("Jānis Bērziņš", ("09:00", "09:40"))], {}, "lv",
                 "Jānis Bērziņš — piedalījās: piedalījās 40 no 45 min (89 %), vajag vismaz 50 % "
                 "— kārtības 30. p.", id="p30-present-lv"),
    pytest.param([person("Jānis Bērziņš", ("09:30", "09:45"))], {}, "lv",
                 "Jānis Bērziņš — n (neattaisnots): pieslēdzās novēloti (30.11.2026 09:30): "
                 "15 no 45 min (33 %), mazāk par 50 % — kārtības 30. p.", id="p30-joined-late-lv"),
    pytest.param([], {"notices": [notice("s1", NoticeKind.ILLNESS, at("07:40"))]}, "lv",
                 "Jānis Bērziņš — n (attaisnots): nepieslēdzās tiešsaistes stundai (0 no 45 min); "
                 "audzinātājs informēts 30.11.2026 07:40, pirms stundas sākuma — kavējums "
                 "attaisnots — kārtības 20., 28., 30. p.", id="p20-p28-excused-lv"),
    pytest.param([], {"notices": [notice("s1", NoticeKind.TECH_PROBLEM, at("09:20"))]}, "lv",
                 "Jānis Bērziņš — attaisnots, bez „n”: nepieslēdzās tiešsaistes stundai "
                 "(0 no 45 min); tehniskas problēmas, pedagogs informēts 30.11.2026 09:20 — „n” "
                 "netiek likts, nokavētais jāapgūst pēc vienošanās — kārtības 41. p.",
                 id="p41-tech-contacted-lv"),
    pytest.param([], {"notices": [notice("s1", NoticeKind.TECH_PROBLEM, at("10:30"))]}, "en",
                 "Jānis Bērziņš — n (unexcused): did not connect to the online lesson (0 of 45 min);"
                 " technical problems, but the teacher was told only at 2026-11-30 10:30 — no "
                 "excuse — procedure p. 30, 39, 43", id="p39-p43-tech-late-en"),
    pytest.param([], {"now": at("10:00")}, "lv",
                 "Jānis Bērziņš — vēl nav vērtējams: vērtēs pēc 30.11.2026 10:15 — kārtības 30. p.",
                 id="p30-not-yet-due-lv"),
]


@pytest.mark.parametrize(("rows", "kw", "lang", "expected"), LINES)
def test_verdict_lines(rows, kw, lang, expected):
    lines = sync_lines(*rows, lang=lang, **kw)
    assert lines[1] == expected


def test_heading_and_one_line_per_student():
    lines = sync_lines(person("Jānis Bērziņš", ("09:00", "09:45")))
    assert lines[0] == "Elektrotehnika, ET-22, 30.11.2026, 2. stunda (09:00–09:45)"
    assert [ln.split(" — ")[0] for ln in lines[1:]] == [
        "Jānis Bērziņš", "Anna Kalniņa", "Pēteris Ozoliņš"]


def test_heading_en():
    lines = sync_lines(lang="en")
    assert lines[0] == "Elektrotehnika, ET-22, 2026-11-30, lesson 2 (09:00–09:45)"


def test_p43_skip_line():
    lines = sync_lines(marks=[journal_mark("s1", "8", "t1")])
    assert lines[-1] == ("Jānis Bērziņš — „n” netiek rakstīts: žurnālā jau ir pedagoga ieraksts "
                         "— sistēma to nemaina — kārtības 43. p.")


def test_p31_async_lines():
    the_lesson = async_lesson()
    result = evaluate_async(the_lesson, school(), [activity(record(at("15:00"), "s1"))], (),
                            DEFAULT_POLICY, at("10:00", "2026-12-01"), system_author=SYSTEM)
    lines = explain_result(result, the_lesson, school())
    assert lines[1] == ("Jānis Bērziņš — piedalījās: darbs platformā 30.11.2026 15:00, termiņš "
                        "30.11.2026 23:59 — kārtības 31. p.")
    assert lines[2] == ("Anna Kalniņa — n (neattaisnots): līdz termiņam 30.11.2026 23:59 "
                        "platformā nav darbības — kārtības 31. p.")


ALERTS = [
    pytest.param(
        lambda: check_uzdots(lesson(entry=uzdots("Stunda rīt.", attachments=())),
                             SchoolCalendar(), DEFAULT_POLICY, at("18:00"))[0],
        "lv",
        "Paziņojums (pedagogam): ierakstā „UZDOTS” trūkst: saite uz tiešsaistes stundu, "
        "izpildes termiņš, vērtēšanas kritēriji — kārtības 16. p.",
        id="p16-incomplete-lv"),
    pytest.param(
        lambda: check_uzdots(lesson(entry=None), SchoolCalendar(), DEFAULT_POLICY,
                             at("18:00"))[0],
        "en",
        "Alert (teacher): no entry in the UZDOTS section (deadline 2026-11-27 17:00) — "
        "procedure p. 16",
        id="p16-missing-en"),
    pytest.param(
        lambda: absence_alert(evaluate_sync(lesson(), school(), meeting(*OTHERS), (),
                                            DEFAULT_POLICY, at("11:00"),
                                            system_author=SYSTEM).marks[0]),
        "lv",
        "Paziņojums (grupas audzinātājam): Jānis Bērziņš — žurnālā ierakstīts „n” "
        "(neattaisnots) — kārtības 22., 32. p.",
        id="p22-p32-absence-lv"),
    pytest.param(
        lambda: evaluate_sync(lesson(), school(),
                              meeting(*OTHERS, person("iPhone", ("09:00", "09:45"))), (),
                              DEFAULT_POLICY, at("11:00"), system_author=SYSTEM).alerts[0],
        "lv",
        "Paziņojums (pedagogam): neatpazīti dalībnieki: iPhone — kārtības 30. p.",
        id="p30-unmatched-lv"),
    pytest.param(
        lambda: check_quota([lesson(f"Q{i}", day=dt.date(2026, 9, 1) + dt.timedelta(days=i),
                                    subject="m2", mode=LessonMode.REMOTE_ASYNC, entry=None)
                             for i in range(6)], school(), DEFAULT_POLICY, at("18:00"))[0],
        "lv",
        "Paziņojums (pedagogam, pārraudzībai): attālinātas 6 no 25 plānotajām stundām (24 %), "
        "vairāk par 20 % — kārtības 7. p.",
        id="p7-exceeded-lv"),
    pytest.param(
        lambda: evaluate_sync(lesson(entry=None), school(), None, (), DEFAULT_POLICY,
                              at("11:00"), system_author=SYSTEM).alerts[0],
        "lv",
        "Paziņojums (pedagogam): nav stundas datu: ierakstā „UZDOTS” nav derīgas saites — "
        "atzīmes netiek liktas — kārtības 30. p.",
        id="p30-evidence-missing-lv"),
]


@pytest.mark.parametrize(("make", "lang", "expected"), ALERTS)
def test_alert_lines(make, lang, expected):
    assert alert_text(make(), school(), lang) == expected


REASON_TEXT = [
    pytest.param("not_connected", ("30",), "lv",
                 "nepieslēdzās tiešsaistes stundai — kārtības 30. p.", id="p30-lv"),
    pytest.param("not_connected", ("30",), "en",
                 "did not connect to the online lesson — procedure p. 30", id="p30-en"),
    pytest.param("notice_before_start", ("30", "20", "28"), "lv",
                 "audzinātājs informēts pirms stundas sākuma — kavējums attaisnots — kārtības "
                 "20., 28., 30. p.", id="p20-p28-sorted-lv"),
    pytest.param("topic_missing", ("14.2",), "lv",
                 "stundas tēma nav ierakstīta e-klasē līdz dienas beigām — kārtības 14.2. p.",
                 id="p14.2-lv"),
    pytest.param("something_new", ("30",), "lv", "something_new — kārtības 30. p.",
                 id="unknown-reason-shown-as-code"),
    pytest.param("practice_remote", (), "lv",
                 "kvalifikācijas praksē attālinātās mācības nav paredzētas",
                 id="p8-no-points-no-citation"),
]


@pytest.mark.parametrize(("reason", "points", "lang", "expected"), REASON_TEXT)
def test_reason_text(reason, points, lang, expected):
    assert reason_text(reason, points, lang) == expected


@pytest.mark.parametrize("lang", ["de", "LV", ""])
def test_unsupported_language(lang):
    with pytest.raises(ValueError, match="unsupported language"):
        reason_text("not_connected", ("30",), lang)


EMITTED = {
    "connected", "not_connected", "joined_late", "left_early", "removed_by_teacher",
    "ambiguous_identity", "activity", "no_activity", "extended_due_missed",
    "notice_before_start", "notice_after_start", "tech_problem_contacted", "tech_problem_late",
    "offline_mode", "evidence_missing", "not_yet_due", "manual_mark",
}


def test_every_reason_and_alert_kind_has_both_languages():
    for code in EMITTED | {k.value for k in AlertKind}:
        lv, en = REASONS[code]
        assert lv.strip() and en.strip() and lv != en


def test_detail_templates_only_for_known_reasons_and_same_fields():
    for reason, (lv, en) in DETAILS.items():
        assert reason in REASONS
        fields = [{f for _, f, _, _ in string.Formatter().parse(t) if f} for t in (lv, en)]
        assert fields[0] == fields[1], reason


LABELS = [
    pytest.param(Outcome.PRESENT, "piedalījās", "present", id="present"),
    pytest.param(Outcome.ABSENT_UNEXCUSED, "n (neattaisnots)", "n (unexcused)", id="unexcused"),
    pytest.param(Outcome.ABSENT_EXCUSED, "n (attaisnots)", "n (excused)", id="excused"),
    pytest.param(Outcome.NOT_YET_DUE, "vēl nav vērtējams", "not yet due", id="not-yet-due"),
    pytest.param(Outcome.NOT_EVALUATED, "netiek vērtēts automātiski", "not judged automatically",
                 id="not-evaluated"),
]


@pytest.mark.parametrize(("outcome", "lv", "en"), LABELS)
def test_outcome_labels(outcome, lv, en):
    the_lesson = lesson()
    result = LessonResult("L1", verdicts=(verdict(the_lesson, "s2", outcome, ("30",), "x"),))
    assert explain_result(result, the_lesson, school())[1] == (
        f"Anna Kalniņa — {lv}: x — kārtības 30. p.")
    assert explain_result(result, the_lesson, school(), "en")[1] == (
        f"Anna Kalniņa — {en}: x — procedure p. 30")


def test_p16_uzdots_line_says_when_the_entry_was_last_changed():
    the_lesson = lesson()
    entry = dataclasses.replace(the_lesson.uzdots, modified_at=at("10:00", "2026-11-28"))
    changed = dataclasses.replace(the_lesson, uzdots=entry)
    assert uzdots_line(changed).endswith("pēdējoreiz mainīts 28.11.2026 10:00")
    assert uzdots_line(changed, "en").endswith("last changed 2026-11-28 10:00")
    assert uzdots_line(the_lesson, "en").endswith("never changed")
    assert uzdots_line(dataclasses.replace(the_lesson, uzdots=None)) == "„UZDOTS”: nav ieraksta"
