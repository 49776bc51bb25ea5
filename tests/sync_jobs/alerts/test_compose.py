"""Alert and digest e-mails: every kind in Latvian and English, escaping, headers, subject."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import json
import re
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
    Subject,
    Teacher,
    frozen_map,
)
from sync_jobs.alerts.compose import (
    ALERTS_HEADER,
    AlertItem,
    Recipient,
    alert_subject,
    parse_alerts_header,
    plural_lv,
    render_digest,
    render_message,
)

RIGA = ZoneInfo("Europe/Riga")
DAY = dt.date(2026, 11, 30)
TEACHER = Recipient("ilze.kalnina@school.lv", "Ilze Kalniņa", "teacher")
CLASS_TEACHER = Recipient("anna.ozola@school.lv", "Anna Ozola", "class_teacher")
STUDENT_NAME = "Jānis Bērziņš"

#: kind -> (points, detail, phrase expected in Latvian, phrase expected in English)
KINDS = {
    AlertKind.UZDOTS_MISSING: (("16",), {"deadline": "2026-11-27T17:00:00+02:00"},
                               "Termiņš bija 27.11.2026 17:00", "The deadline was 27.11.2026 17:00"),
    AlertKind.UZDOTS_LATE: (("16",), {"deadline": "2026-11-27T15:00:00+00:00",
                                      "created_at": "2026-11-28T09:15:00+02:00"},
                            "ierakstīts 28.11.2026 09:15, pēc termiņa 27.11.2026 17:00",
                            "entered 28.11.2026 09:15, after the deadline 27.11.2026 17:00"),
    AlertKind.UZDOTS_INCOMPLETE: (("16",), {"missing": ("link", "criteria")},
                                  "trūkst saites uz tiešsaistes stundu, vērtēšanas kritēriju",
                                  "lacks the link to the online lesson, the assessment criteria"),
    AlertKind.TOPIC_MISSING: (("14.2",), {"due": "2026-11-30T23:59:00+02:00"},
                              "nav ierakstīta stundas tēma", "No lesson topic was entered"),
    AlertKind.ABSENCE: (("22", "32"), {"reason": "left_early", "code": "n"},
                        "pieslēgts mazāk nekā pusi stundas",
                        "connected for less than half of the lesson"),
    AlertKind.CHAT_NOT_REGISTERED: (("30",), {"grace_minutes": 7},
                                    "pirmajās 7 minūtēs nereģistrējās čatā",
                                    "within the first 7 minutes"),
    AlertKind.UNMATCHED_PARTICIPANT: (("30",), {"participants": ("Gūsts Ķ.", "JB"),
                                                "unmatched": 1, "ambiguous": 1},
                                      "Dalībnieki: Gūsts Ķ., JB", "Participants: Gūsts Ķ., JB"),
    AlertKind.EVIDENCE_MISSING: (("31",), {"cause": "no_link"},
                                 "nav izmantojamas saites", "has no usable link"),
    AlertKind.REMOVED_BY_TEACHER: (("19",), {}, "atslēdza izglītojamo no tiešsaistes stundas",
                                   "removed the student from the online lesson"),
    AlertKind.QUOTA_WARNING: (("7",), {"remote_hours": 19, "planned_hours": 120, "share": 0.1583},
                              "19 no 120 plānotajām stundām (15,8 %)",
                              "19 of 120 planned hours of “Elektrotehnika” as remote lessons "
                              "(15.8 %)"),
    AlertKind.QUOTA_EXCEEDED: (("7",), {"share": 0.2125}, "(21,2 %)", "(21.2 %)"),
    AlertKind.PRACTICE_REMOTE: (("8",), {}, "kvalifikācijas praksēs attālinātās mācības nav paredzētas",
                                "not allowed in qualification practice"),
    AlertKind.MARK_NOT_WRITTEN: (("22", "32", "43"), {"cause": "journal_locked",
                                                      "reason": "not_connected"},
                                 "žurnāla lapa bija slēgta labošanai",
                                 "journal page was closed for edits"),
    AlertKind.LESSON_CHANGED_AFTER_MARKS: (("32", "33", "43"),
                                           {"change": "cancelled", "marked_students": ("s1",)},
                                           "pēc tam stunda e-klasē atcelta",
                                           "the lesson was later cancelled in e-klase"),
}
STUDENT_KINDS = {AlertKind.ABSENCE, AlertKind.CHAT_NOT_REGISTERED, AlertKind.REMOVED_BY_TEACHER,
                 AlertKind.MARK_NOT_WRITTEN}
POINTS_TEXT = {"lv": {("16",): "kārtības 16. p.", ("22", "32"): "kārtības 22., 32. p.",
                      ("14.2",): "kārtības 14.2. p."},
               "en": {("16",): "kārtība point 16", ("22", "32"): "kārtība points 22, 32",
                      ("14.2",): "kārtība point 14.2"}}


def make_alert(kind: AlertKind, lesson: str = "L1", student: str | None = None,
               points: tuple[str, ...] = ("16",), excused: bool | None = None,
               **detail: object) -> Alert:
    return Alert(kind=kind, lesson_id=lesson, student_id=student, audience=(Audience.TEACHER,),
                 points=points, excused=excused, detail=frozen_map(detail))


def item(alert: Alert, *, day: dt.date = DAY, number: int = 2, group: str = "ET-22",
         student: str = "", teacher: str = "Ilze Kalniņa") -> AlertItem:
    return AlertItem(alert, day, number, "Elektrotehnika", group, student, teacher, alert.detail)


def kind_item(kind: AlertKind) -> AlertItem:
    points, detail, _, _ = KINDS[kind]
    student = "s1" if kind in STUDENT_KINDS else None
    excused = False if kind is AlertKind.ABSENCE else None
    alert = make_alert(kind, student=student, points=points, excused=excused, **detail)
    return item(alert, student=STUDENT_NAME if student else "")


def reparse(msg) -> email.message.EmailMessage:
    """The message as the SMTP server receives it, parsed back."""
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def bodies(msg) -> tuple[str, str]:
    """Plain text and HTML source of a message as received (line ends normalised)."""
    parsed = reparse(msg)
    return tuple(parsed.get_body((sub,)).get_content().replace("\r\n", "\n")
                 for sub in ("plain", "html"))


def visible(html_source: str) -> str:
    """What a mail client shows of an HTML part: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_source))


def test_the_table_covers_every_alert_kind() -> None:
    assert set(KINDS) == set(AlertKind)


@pytest.mark.parametrize("lang", ["lv", "en"])
@pytest.mark.parametrize("kind", list(AlertKind), ids=lambda k: k.value)
def test_every_kind_renders_in_both_languages(kind: AlertKind, lang: str) -> None:
    it = kind_item(kind)
    msg = render_message(CLASS_TEACHER, [it], school_name="Daugavpils tehnikums",
                         sender="kartiba@school.lv", lang=lang, run_id="run-1")
    text, source = bodies(msg)
    shown = visible(source)
    phrase = KINDS[kind][2 if lang == "lv" else 3]
    assert phrase in text and phrase in shown
    cited = POINTS_TEXT[lang].get(it.alert.points)
    if cited:
        assert cited in text and cited in shown
    lesson_line = "30.11.2026, 2. stunda" if lang == "lv" else "30.11.2026, lesson 2"
    assert lesson_line in text and lesson_line in shown
    if kind in STUDENT_KINDS:
        assert STUDENT_NAME in text and STUDENT_NAME in shown
    assert ("Ko darīt:" if lang == "lv" else "What you can do:") in text
    assert parse_alerts_header(reparse(msg)) == [{
        "kind": kind.value, "lesson": "L1", "student": it.alert.student_id,
        "points": list(it.alert.points), "excused": it.alert.excused}]


@pytest.mark.parametrize(("excused", "lv", "en", "parents_hint"), [
    pytest.param(False, "neattaisnots kavējums", "unexcused absence", True, id="unexcused"),
    pytest.param(True, "attaisnots kavējums", "excused absence", False, id="excused"),
])
def test_absence_says_kartiba_wrote_the_mark_and_how_to_correct_it(excused, lv, en,
                                                                   parents_hint) -> None:
    alert = make_alert(AlertKind.ABSENCE, student="s1", points=("22", "32"), excused=excused,
                       reason="notice_before_start")
    for lang, phrase in (("lv", lv), ("en", en)):
        text, _ = bodies(render_message(CLASS_TEACHER, [item(alert, student=STUDENT_NAME)],
                                        school_name="S", sender="k@s.lv", lang=lang,
                                        run_id="r"))
        assert phrase in text
        assert ("kārtības automātika nekad nepārraksta cilvēka ierakstītu atzīmi" if lang == "lv"
                else "kartiba never overwrites a mark entered by a person") in text
        hint = "likumisko pārstāvi" if lang == "lv" else "legal representative"
        assert (hint in text) is parents_hint


def test_html_is_escaped_and_plain_text_is_not() -> None:
    nasty = "<script>alert(1)</script> & Bērziņš"
    alert = make_alert(AlertKind.REMOVED_BY_TEACHER, student="s1", points=("19",))
    msg = render_message(CLASS_TEACHER, [item(alert, student=nasty, group="<b>ET</b>")],
                         school_name="A & B", sender="k@s.lv", run_id="r")
    text, source = bodies(msg)
    assert nasty in text and "<b>ET</b>" in text
    assert "<script>" not in source and "<b>ET</b>" not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Bērziņš" in source
    assert "A &amp; B" in source
    assert nasty in visible(source)


def test_message_structure_and_headers() -> None:
    items = [kind_item(AlertKind.UZDOTS_MISSING), kind_item(AlertKind.ABSENCE)]
    now = dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA)
    msg = render_message(TEACHER, items, school_name="S", sender="kartiba@school.lv",
                         run_id="2026-11-30T18:00:00+02:00", now=now)
    raw = msg.as_bytes()
    parsed = reparse(msg)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parsed.iter_parts())
    assert parsed["Subject"] == ("[kartiba] 2 paziņojumi par attālinātajām mācībām "
                                 "(ET-22, 30.11.2026)")
    assert parsed["To"].addresses[0].display_name == "Ilze Kalniņa"
    assert parsed["X-Kartiba-Run"] == "2026-11-30T18:00:00+02:00"
    assert email.utils.parsedate_to_datetime(parsed["Date"]) == now
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert raw.isascii()  # everything encoded for any SMTP server
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"ilze.kalnina" not in raw.split(b"\r\n\r\n")[0].split(b"Message-ID:")[1][:80]


def test_alerts_header_has_ids_only_sorted_and_survives_folding() -> None:
    long_lesson = "eklase-lesson-" + "7" * 100
    alerts = [
        make_alert(AlertKind.TOPIC_MISSING, lesson="L2", points=("14.2",)),
        make_alert(AlertKind.ABSENCE, lesson="L1", student="s2", points=("22", "32"),
                   excused=True, reason="notice_before_start"),
        make_alert(AlertKind.UZDOTS_LATE, lesson="L1"),
        make_alert(AlertKind.CHAT_NOT_REGISTERED, lesson=long_lesson, student="sā",
                   points=("30",)),
    ]
    items = [item(a, student=STUDENT_NAME if a.student_id else "") for a in alerts]
    msg = reparse(render_message(TEACHER, items, school_name="S", sender="k@s.lv", run_id="r"))
    header = parse_alerts_header(msg)
    assert [(h["lesson"], h["student"], h["kind"]) for h in header] == [
        ("L1", None, "uzdots_late"), ("L1", "s2", "absence"), ("L2", None, "topic_missing"),
        (long_lesson, "sā", "chat_not_registered")]
    assert header[1] == {"kind": "absence", "lesson": "L1", "student": "s2",
                         "points": ["22", "32"], "excused": True}
    assert "Bērziņš" not in json.dumps(header, ensure_ascii=False)
    assert str(msg[ALERTS_HEADER]).isascii()


def test_message_id_is_deterministic_and_hides_the_address() -> None:
    items = [kind_item(AlertKind.TOPIC_MISSING)]
    args = {"school_name": "S", "sender": "kartiba@school.lv", "run_id": "r1"}
    first = render_message(TEACHER, items, **args)["Message-ID"]
    assert first == render_message(TEACHER, items, **args)["Message-ID"]
    assert first != render_message(CLASS_TEACHER, items, **args)["Message-ID"]
    # a resend by a later run (after a crash) carries the same id, so receivers drop the copy
    assert first == render_message(TEACHER, items, **{**args, "run_id": "r2"})["Message-ID"]
    assert first.startswith("<kartiba.") and first.endswith("@school.lv>")
    assert "ilze" not in first


@pytest.mark.parametrize(("n", "dates", "groups", "lang", "expected"), [
    pytest.param(1, [DAY], ["ET-22"], "lv",
                 "[kartiba] 1 paziņojums par attālinātajām mācībām (ET-22, 30.11.2026)",
                 id="lv-one"),
    pytest.param(3, [DAY], ["ET-22"], "lv",
                 "[kartiba] 3 paziņojumi par attālinātajām mācībām (ET-22, 30.11.2026)",
                 id="lv-three"),
    pytest.param(2, [DAY, dt.date(2026, 11, 27)], ["ET-22", "AM-21"], "lv",
                 "[kartiba] 2 paziņojumi par attālinātajām mācībām "
                 "(AM-21, ET-22, 27.11.2026–30.11.2026)", id="lv-range"),
    pytest.param(1, [DAY], ["ET-22"], "en",
                 "[kartiba] 1 notice about remote learning (ET-22, 30.11.2026)", id="en-one"),
    pytest.param(4, [DAY], ["A", "B", "C", "D"], "en",
                 "[kartiba] 4 notices about remote learning (A, B, C, …, 30.11.2026)",
                 id="en-many-groups"),
])
def test_subject(n, dates, groups, lang, expected) -> None:
    items = [item(make_alert(AlertKind.TOPIC_MISSING, lesson=f"L{i}"),
                  day=dates[i % len(dates)], group=groups[i % len(groups)]) for i in range(n)]
    assert alert_subject(items, lang) == expected


@pytest.mark.parametrize(("n", "word"), [
    pytest.param(1, "paziņojums", id="1"), pytest.param(2, "paziņojumi", id="2"),
    pytest.param(11, "paziņojumi", id="11"), pytest.param(21, "paziņojums", id="21"),
    pytest.param(111, "paziņojumi", id="111"), pytest.param(101, "paziņojums", id="101"),
])
def test_latvian_plural(n: int, word: str) -> None:
    assert plural_lv(n, "paziņojums", "paziņojumi") == word


def test_items_are_grouped_by_kind_in_one_message() -> None:
    items = [item(make_alert(AlertKind.TOPIC_MISSING, lesson="L2", points=("14.2",)), number=3),
             item(make_alert(AlertKind.UZDOTS_MISSING, lesson="L1")),
             item(make_alert(AlertKind.TOPIC_MISSING, lesson="L1", points=("14.2",)))]
    text, _ = bodies(render_message(TEACHER, items, school_name="S", sender="k@s.lv",
                                    run_id="r"))
    uzdots, topic = text.index("== Nav ieraksta sadaļā"), text.index("== Nav ierakstīta stundas")
    assert uzdots < topic  # sections follow the kind order
    assert text.index("2. stunda", topic) < text.index("3. stunda", topic)
    assert text.count("\n* ") == 3


@pytest.mark.parametrize(("items", "lang"), [
    pytest.param([], "lv", id="no-items"),
    pytest.param([kind_item(AlertKind.TOPIC_MISSING)], "de", id="unknown-language"),
])
def test_bad_calls_are_refused(items, lang) -> None:
    with pytest.raises(ValueError):
        render_message(TEACHER, items, school_name="S", sender="k@s.lv", lang=lang, run_id="r")


def test_item_of_resolves_names_from_the_school() -> None:
    school = School(
        name="S",
        teachers=frozen_map({"t1": Teacher("t1", "Ilze Kalniņa", "i@s.lv")}),
        groups=frozen_map({"g1": Group("g1", "ET-22", "t2")}),
        students=frozen_map({"s1": Student("s1", "g1", "Jānis", "Bērziņš")}),
        subjects=frozen_map({"m1": Subject("m1", "Elektrotehnika")}),
    )
    start = dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA)
    lesson = Lesson("L1", "g1", "m1", "t1", DAY, 2, start, start + dt.timedelta(minutes=45),
                    LessonMode.REMOTE_SYNC)
    alert = make_alert(AlertKind.ABSENCE, student="s1", excused=False, reason="not_connected")
    got = AlertItem.of(alert, lesson, school)
    assert (got.lesson_date, got.lesson_number, got.subject_name, got.group_name,
            got.student_name, got.teacher_name) == (
        DAY, 2, "Elektrotehnika", "ET-22", "Jānis Bērziņš", "Ilze Kalniņa")
    bare = AlertItem.of(make_alert(AlertKind.ABSENCE, student="s1"), None, school)
    assert (bare.lesson_date, bare.group_name, bare.student_name) == (None, "ET-22",
                                                                      "Jānis Bērziņš")


SUMMARY = {
    "period": "2026-W48", "date_from": dt.date(2026, 11, 23), "date_to": dt.date(2026, 11, 29),
    "absences": [{"group": "ET-22", "student": "Jānis Bērziņš", "excused": 1, "unexcused": 2,
                  "remote": 5, "present": 2}],
    "uzdots": [{"teacher": "Ilze Kalniņa", "remote": 6, "on_time": 2, "missing": 1, "late": 3,
                "incomplete": 0, "topic_missing": 1}],
    "quota": [{"group": "ET-22", "subject": "Elektrotehnika", "remote_hours": 25,
               "planned_hours": 120, "share": 0.2083, "state": "exceeded",
               "bar": [(120, "#c62828"), (2, "#222222"), (58, "#c62828")]}],
}


@pytest.mark.parametrize(("lang", "kind", "expected"), [
    pytest.param("lv", "class_teacher", ["Pārskats grupas audzinātājam (kārtības 21., 22., 32. p.)",
                                         "Jānis Bērziņš: „n” attaisnoti 1, „n” neattaisnoti 2",
                                         "Ilze Kalniņa: attālinātās stundas 6, laikā 2, par vēlu "
                                         "3, nav ieraksta 1, nepilnīgs 0, nav tēmas 1",
                                         "25 no 120 stundām (20,8 %) — pārsniedz 20 %"],
                 id="lv-class-teacher"),
    pytest.param("en", "oversight", ["oversight of remote learning (kārtība point 6)",
                                     'Jānis Bērziņš: "n" excused 1, "n" unexcused 2',
                                     "on time 2, late 3, missing 1, incomplete 0, no topic 1",
                                     "25 of 120 hours (20.8 %) — above 20 %"],
                 id="en-oversight"),
])
def test_digest(lang: str, kind: str, expected: list[str]) -> None:
    msg = render_digest(CLASS_TEACHER, SUMMARY, school_name="S", sender="k@s.lv", lang=lang,
                        run_id="r", kind=kind)
    text, source = bodies(msg)
    for phrase in expected:
        assert phrase in text
    assert '<th scope="row" style="text-align: left;">Jānis Bērziņš</th>' in source
    assert 'bgcolor="#222222"' in source and "<svg" not in source  # CSS bars, no SVG in mail
    assert "<caption" in source and "2026-W48" not in text
    parsed = reparse(msg)
    assert json.loads(parsed["X-Kartiba-Digest"]) == {"kind": kind, "period": "2026-W48"}
    assert parse_alerts_header(parsed) == []
    assert "23.11.2026–29.11.2026" in parsed["Subject"]


def test_empty_digest_says_so() -> None:
    text, _ = bodies(render_digest(TEACHER, {"period": "2026-W48"}, school_name="S",
                                   sender="k@s.lv", run_id="r"))
    for phrase in ("Nav kavējumu.", "Visi „UZDOTS” ieraksti bija laikā un pilnīgi.",
                   "Nav attālināto stundu."):
        assert phrase in text


@pytest.mark.parametrize(("lang", "cited"), [
    pytest.param("lv", "(kārtības 20., 28., 30. p.)", id="lv"),
    pytest.param("en", "20", id="en"),
])
def test_absence_mail_cites_why_the_n_was_written(lang, cited) -> None:
    """The class teacher reads the reason of the "n" with its own points, not only 22, 32."""
    from mappings.evaluate import absence_alert
    from mappings.model import Mark

    mark = Mark("L1", "s1", "n", True, ("20", "28", "30"), "notice_before_start")
    msg = render_message(CLASS_TEACHER, [item(absence_alert(mark), student=STUDENT_NAME)],
                         school_name="S", sender="kartiba@school.lv", lang=lang, run_id="r1")
    text, _ = bodies(msg)
    assert cited in text
    assert ("22., 32. p." if lang == "lv" else "32") in text


def test_from_names_the_automation_and_to_cannot_be_forged() -> None:
    forged = Recipient("ilze.kalnina@school.lv", "x <attacker@evil.example> Liepiņš", "teacher")
    msg = reparse(render_message(forged, [kind_item(AlertKind.TOPIC_MISSING)], school_name="S",
                                 sender="kartiba@school.lv", run_id="r1",
                                 now=dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA)))
    assert [a.addr_spec for a in msg["To"].addresses] == ["ilze.kalnina@school.lv"]
    assert msg["From"].addresses[0].display_name == "kārtības automātika (kartiba)"
    assert msg["From"].addresses[0].addr_spec == "kartiba@school.lv"


def test_oversight_copy_says_whose_address_is_unusable() -> None:
    deputy = Recipient("deputy@school.lv", "", "unusable:class_teacher:t3")
    redirected = kind_item(AlertKind.ABSENCE).redirected(
        "Pēteris Liepa (grupas audzinātājs, ID t3)")
    text, html = bodies(render_message(deputy, [redirected], school_name="S",
                                       sender="kartiba@school.lv", run_id="r1"))
    note = ("Šis paziņojums bija paredzēts: Pēteris Liepa (grupas audzinātājs, ID t3) — "
            "e-pasta adrese e-klasē nav derīga")
    assert note in text and note in visible(html)


def test_latvian_text_uses_one_quotation_style_and_neutral_words() -> None:
    items = [kind_item(kind) for kind in AlertKind]
    text, html = bodies(render_message(TEACHER, items, school_name="S",
                                       sender="kartiba@school.lv", run_id="r1"))
    for body in (text, html):
        assert "“" not in body and '"n"' not in body and "Audzēkn" not in body
        assert "17.00" not in body and "kartiba pārbaudīja" not in body
    assert "„n”" in text and "Izglītojamais" in text
