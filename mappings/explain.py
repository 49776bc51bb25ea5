"""Readable reasons: a lesson result as short sentences a teacher understands.

Latvian by default, English on request; every sentence cites the kārtība points behind it,
e.g. ``n (neattaisnots): pieslēdzās 12 no 45 min (27 %), mazāk par 50 % — kārtības 30. p.``
The texts are for teachers (e-mails, worklists); student names appear only here, never in
logs.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterable, Mapping

from mappings.calendar import to_riga
from mappings.model import (
    Alert,
    Audience,
    Lesson,
    LessonResult,
    Outcome,
    School,
    Skip,
    Verdict,
    frozen_map,
)
from mappings.points import cite

LANGS = ("lv", "en")

REASONS: Mapping[str, tuple[str, str]] = frozen_map(
    {
        # verdicts, synchronous (30, 13, 15, 19)
        "connected": ("piedalījās tiešsaistes stundā", "took part in the online lesson"),
        "not_connected": (
            "nepieslēdzās tiešsaistes stundai",
            "did not connect to the online lesson",
        ),
        "joined_late": (
            "pieslēdzās novēloti un piedalījās par maz",
            "joined late and took part too little",
        ),
        "left_early": (
            "atslēdzās bez iemesla, piedalījās par maz",
            "disconnected without reason, took part too little",
        ),
        "removed_by_teacher": (
            "pedagogs atslēdza izglītojamo no stundas",
            "the teacher removed the student from the lesson",
        ),
        "ambiguous_identity": (
            "nevar droši noteikt, kurš no vārdabrāļiem tas ir — jāpārbauda pedagogam",
            "cannot tell which of several namesakes this is — the teacher must check",
        ),
        # verdicts, asynchronous (31, 35, 42)
        "activity": (
            "darbs platformā paveikts līdz termiņam",
            "worked on the platform by the due time",
        ),
        "no_activity": (
            "līdz termiņam platformā nav nekādas darbības",
            "no activity on the platform by the due time",
        ),
        "extended_due_missed": (
            "arī līdz pagarinātajam termiņam nav darbības",
            "no activity even by the extended deadline",
        ),
        # notices (20, 28, 39, 41, 42, 43)
        "notice_before_start": (
            "audzinātājs informēts pirms stundas sākuma — kavējums attaisnots",
            "the class teacher was told before the lesson started — excused",
        ),
        "notice_after_start": (
            "audzinātājs informēts tikai pēc stundas sākuma — kavējums neattaisnots",
            "the class teacher was told only after the lesson started — unexcused",
        ),
        "tech_problem_contacted": (
            "tehniskas problēmas, izglītojamais laikus sazinājās ar pedagogu — „n” netiek "
            "likts, nokavētais jāapgūst pēc vienošanās",
            "technical problems, the student contacted the teacher in time — no \"n\", "
            "the work is caught up as agreed",
        ),
        "tech_problem_agreed": (
            "tehniskas problēmas, ar pedagogu panākta vienošanās par risinājumu — „n” netiek "
            "likts",
            "technical problems, a solution was agreed with the teacher — no \"n\"",
        ),
        "tech_problem_late": (
            "tehniskas problēmas nav attaisnojums, ja pedagogs netiek laikus informēts",
            "technical problems are no excuse when the teacher is not told in time",
        ),
        # other verdicts
        "offline_mode": (
            "strādā ar darba lapām (nav interneta vai ierīču) — platformu dati netiek vērtēti",
            "works on worksheets (no internet or devices) — platform data is not judged",
        ),
        "evidence_missing": (
            "nav atrasti stundas dati platformā — atzīmes netiek liktas",
            "no lesson data found on the platform — no marks are written",
        ),
        "lesson_changed": (
            "stunda pēc vērtēšanas atcelta vai vairs nav attālināta — „n” netiek rakstīts",
            "the lesson was cancelled or is no longer remote since it was judged — no \"n\"",
        ),
        "evidence_incomplete": (
            "platforma vēl nerāda pilnīgus datus — „n” netiek likts, pārbaudīs vēlreiz",
            "the platform does not show complete data yet — no \"n\", checked again later",
        ),
        "not_yet_due": ("vēl nav vērtējams", "not due for evaluation yet"),
        # skips (43)
        "manual_mark": (
            "žurnālā jau ir pedagoga ieraksts — sistēma to nemaina",
            "a teacher's mark is already in the journal — kartiba leaves it",
        ),
        # alerts
        "uzdots_missing": ("sadaļā „UZDOTS” nav ieraksta", "no entry in the UZDOTS section"),
        "uzdots_late": (
            "ieraksts sadaļā „UZDOTS” veikts pēc termiņa",
            "the UZDOTS entry came after the deadline",
        ),
        "uzdots_incomplete": (
            "ierakstā „UZDOTS” trūkst vajadzīgās informācijas",
            "the UZDOTS entry lacks required information",
        ),
        "topic_missing": (
            "stundas tēma nav ierakstīta e-klasē līdz dienas beigām",
            "the lesson topic was not entered in e-klase by the end of the day",
        ),
        "absence": ("žurnālā ierakstīts „n”", "an \"n\" was written in the journal"),
        "mark_not_written": (
            "„n” neizdevās ierakstīt žurnālā — jāieraksta pašiem",
            "the \"n\" could not be written to the journal — to be entered by hand",
        ),
        "journal_locked": (
            "žurnāla lapa slēgta labošanai — „n” nav ierakstīts",
            "the journal page is closed for edits — the \"n\" was not written",
        ),
        "chat_not_registered": (
            "nepieteicās čatā stundas sākumā",
            "did not register in the chat at the start of the lesson",
        ),
        "unmatched_participant": (
            "tiešsaistes stundā ir neatpazīti dalībnieki",
            "unidentified participants in the online lesson",
        ),
        "quota_warning": (
            "attālināto stundu daļa tuvojas pieļaujamajai robežai",
            "the share of remote lessons is approaching the limit",
        ),
        "quota_exceeded": (
            "attālināto stundu daļa pārsniedz pieļaujamo robežu",
            "the share of remote lessons exceeds the limit",
        ),
        "lesson_changed_after_marks": (
            "stunda mainīta (atcelta, pārcelta vai klātienē) pēc tam, kad kartiba ierakstīja „n” "
            "— lemj pedagogs",
            "the lesson changed (cancelled, moved or in person) after kartiba wrote \"n\" — "
            "a teacher decides",
        ),
        "practice_remote": (
            "kvalifikācijas praksē attālinātās mācības nav paredzētas",
            "no remote learning in qualification practice",
        ),
    }
)
"""Short text per machine reason (verdict reasons, skip reasons, alert kinds): (lv, en)."""

DETAILS: Mapping[str, tuple[str, str]] = frozen_map(
    {
        "connected": (
            "piedalījās {connected} no {lesson} min ({pct} %), vajag vismaz {required} %",
            "connected {connected} of {lesson} min ({pct} %), at least {required} % needed",
        ),
        "not_connected": (
            "nepieslēdzās tiešsaistes stundai (0 no {lesson} min)",
            "did not connect to the online lesson (0 of {lesson} min)",
        ),
        "joined_late": (
            "pieslēdzās novēloti ({first_join}): {connected} no {lesson} min ({pct} %), "
            "mazāk par {required} %",
            "joined late ({first_join}): {connected} of {lesson} min ({pct} %), "
            "less than {required} %",
        ),
        "left_early": (
            "pieslēdzās {connected} no {lesson} min ({pct} %), mazāk par {required} %",
            "connected {connected} of {lesson} min ({pct} %), less than {required} %",
        ),
        "activity": (
            "darbs platformā {activity_at}, termiņš {due}",
            "activity on the platform at {activity_at}, due {due}",
        ),
        "no_activity": (
            "līdz termiņam {due} platformā nav darbības",
            "no activity on the platform by the due time {due}",
        ),
        "extended_due_missed": (
            "arī līdz pagarinātajam termiņam {due} nav darbības",
            "no activity even by the extended deadline {due}",
        ),
        "notice_before_start": (
            "audzinātājs informēts {received}, pirms stundas sākuma — kavējums attaisnots",
            "the class teacher was told at {received}, before the lesson started — excused",
        ),
        "notice_after_start": (
            "audzinātājs informēts {received}, pēc stundas sākuma — kavējums neattaisnots",
            "the class teacher was told at {received}, after the lesson started — unexcused",
        ),
        "tech_problem_contacted": (
            "tehniskas problēmas, pedagogs informēts {received} — „n” netiek likts, "
            "nokavētais jāapgūst pēc vienošanās",
            "technical problems, the teacher was told at {received} — no \"n\", "
            "the work is caught up as agreed",
        ),
        "tech_problem_agreed": (
            "tehniskas problēmas, ar pedagogu panākta vienošanās par risinājumu — „n” netiek "
            "likts",
            "technical problems, a solution was agreed with the teacher — no \"n\"",
        ),
        "tech_problem_late": (
            "tehniskas problēmas, bet pedagogs informēts tikai {received} — tas nav attaisnojums",
            "technical problems, but the teacher was told only at {received} — no excuse",
        ),
        "not_yet_due": ("vērtēs pēc {evaluate_at}", "to be judged after {evaluate_at}"),
        "evidence_missing": (
            "nav stundas datu: {cause} — atzīmes netiek liktas",
            "no lesson data: {cause} — no marks are written",
        ),
        "evidence_incomplete": (
            "dati nav pilnīgi: {cause} — „n” netiek likts, pārbaudīs nākamajā reizē",
            "incomplete data: {cause} — no \"n\", checked again at the next run",
        ),
        "uzdots_missing": (
            "sadaļā „UZDOTS” nav ieraksta (termiņš {deadline})",
            "no entry in the UZDOTS section (deadline {deadline})",
        ),
        "uzdots_late": (
            "ieraksts „UZDOTS” veikts {created_at}, pēc termiņa {deadline}",
            "the UZDOTS entry was made at {created_at}, after the deadline {deadline}",
        ),
        "uzdots_incomplete": (
            "ierakstā „UZDOTS” trūkst: {missing}",
            "the UZDOTS entry lacks: {missing}",
        ),
        "chat_not_registered": (
            "nepieteicās čatā pirmajās {grace} min",
            "did not register in the chat in the first {grace} min",
        ),
        "unmatched_participant": (
            "neatpazīti dalībnieki: {participants}",
            "unidentified participants: {participants}",
        ),
        "quota_warning": (
            "attālinātas {remote} no {planned} plānotajām stundām ({share} %), "
            "brīdinājums no {threshold} %",
            "{remote} of {planned} planned lessons remote ({share} %), warning from "
            "{threshold} %",
        ),
        "quota_exceeded": (
            "attālinātas {remote} no {planned} plānotajām stundām ({share} %), "
            "vairāk par {threshold} %",
            "{remote} of {planned} planned lessons remote ({share} %), more than {threshold} %",
        ),
        "absence": (
            "žurnālā ierakstīts „n” ({excused})",
            "\"n\" written in the journal ({excused})",
        ),
    }
)
"""Sentences with the numbers from a verdict's or alert's detail: (lv, en)."""

_MISSING_PARTS: Mapping[str, tuple[str, str]] = frozen_map(
    {
        "link": ("saite uz tiešsaistes stundu", "the online lesson link"),
        "due": ("izpildes termiņš", "the due date"),
        "criteria": ("vērtēšanas kritēriji", "the assessment criteria"),
    }
)

_CAUSES: Mapping[str, tuple[str, str]] = frozen_map(
    {
        "no_link": ("ierakstā „UZDOTS” nav derīgas saites", "the UZDOTS entry has no usable link"),
        "no_evidence": ("dati no platformas netika saņemti", "nothing came from the platform"),
        "not_found": ("platformā nav datu par šo stundu", "the platform has no data for it"),
        "invalid_link": ("saite norāda uz neesošu sanāksmi vai uzdevumu",
                         "the link names no existing meeting or activity"),
        "meeting_running": ("tiešsaistes sanāksme vēl notiek", "the meeting is still running"),
        "report_not_ready": ("platforma vēl nav sagatavojusi dalībnieku atskaiti",
                             "the platform has not produced the attendance report yet"),
        "no_access": ("kartiba kontam nav tiesību lasīt šos datus",
                      "kartiba's account may not read this data"),
        "organizer_unreadable": ("sanāksmi organizējis cits lietotājs, kura datus kartiba "
                                 "nedrīkst lasīt",
                                 "the meeting was organised by someone whose data kartiba "
                                 "may not read"),
        "not_visible": ("platforma kartiba kontam nerāda daļu izglītojamo (piem., nav "
                        "kursā vai nav tiesību)",
                        "the platform does not show some students to kartiba's account "
                        "(e.g. not enrolled, or rights missing)"),
        "warnings": ("platformas atbildē ir brīdinājumi (trūkst tiesību)",
                     "the platform's answer carried warnings (rights missing)"),
        "fetch_failed": ("platforma neatbildēja", "the platform did not answer"),
    }
)

_AUDIENCE: Mapping[Audience, tuple[str, str]] = frozen_map(
    {
        Audience.TEACHER: ("pedagogam", "teacher"),
        Audience.CLASS_TEACHER: ("grupas audzinātājam", "class teacher"),
        Audience.OVERSIGHT: ("pārraudzībai", "oversight"),
        Audience.PARENTS: ("vecākiem", "parents"),
    }
)

_NO_MARK_REASONS = frozenset({"tech_problem_contacted"})


def reason_text(reason: str, points: Iterable[str], lang: str = "lv") -> str:
    """A short sentence for a machine reason with its citation.

    Args:
        reason: a verdict reason, skip reason or alert kind (e.g. ``"not_connected"``).
        points: the kārtība points to cite.
        lang: ``"lv"`` (default) or ``"en"``.

    Returns:
        e.g. ``"nepieslēdzās tiešsaistes stundai — kārtības 30. p."``; an unknown reason is
        shown as its code.
    """
    i = _lang_index(lang)
    text = REASONS[reason][i] if reason in REASONS else reason
    return _with_citation(text, points, lang)


def explain_result(
    result: LessonResult, lesson: Lesson, school: School, lang: str = "lv"
) -> list[str]:
    """The lesson result as lines: a heading, one line per student, skips, then alerts.

    Args:
        result: what the rules decided.
        lesson: the lesson it is about.
        school: for names of the subject, group and students.
        lang: ``"lv"`` (default) or ``"en"``.

    Returns:
        Lines of text (names included: for teachers, never for logs).
    """
    _lang_index(lang)
    lines = [lesson_heading(lesson, school, lang)]
    lines += [_verdict_line(v, school, lang) for v in result.verdicts]
    lines += [_skip_line(s, school, lang) for s in result.skips]
    lines += [alert_text(a, school, lang) for a in result.alerts]
    return lines


def lesson_heading(lesson: Lesson, school: School, lang: str = "lv") -> str:
    """e.g. ``Elektrotehnika, ET-22, 30.11.2026, 2. stunda (09:00–09:45)``."""
    subject = school.subjects.get(lesson.subject_id)
    group = school.groups.get(lesson.group_id)
    start, end = to_riga(lesson.start), to_riga(lesson.end)
    window = f"{start:%H:%M}–{end:%H:%M}"
    subject_name = subject.name if subject else lesson.subject_id
    group_name = group.name if group else lesson.group_id
    if lang == "lv":
        when = f"{lesson.date:%d.%m.%Y}, {lesson.number}. stunda"
    else:
        when = f"{lesson.date:%Y-%m-%d}, lesson {lesson.number}"
    return f"{subject_name}, {group_name}, {when} ({window})"


def uzdots_line(lesson: Lesson, lang: str = "lv") -> str:
    """Point 16: when the UZDOTS entry the lesson was judged by was made and last changed.

    e.g. ``„UZDOTS”: ierakstīts 27.11.2026 15:10, pēdējoreiz mainīts 28.11.2026 10:00``.
    """
    entry = lesson.uzdots
    if entry is None:
        return "„UZDOTS”: nav ieraksta" if lang == "lv" else "UZDOTS: no entry"
    created = _when(entry.created_at.isoformat(), lang)
    changed = _when(entry.modified_at.isoformat(), lang) if entry.modified_at else None
    if lang == "lv":
        tail = f", pēdējoreiz mainīts {changed}" if changed else ", nav mainīts"
        return f"„UZDOTS”: ierakstīts {created}{tail}"
    tail = f", last changed {changed}" if changed else ", never changed"
    return f"UZDOTS: entered {created}{tail}"


def alert_text(alert: Alert, school: School, lang: str = "lv") -> str:
    """One alert as a line: recipients, the student where there is one, the reason."""
    i = _lang_index(lang)
    heading = ("Paziņojums", "Alert")[i]
    to = ", ".join(_AUDIENCE[a][i] for a in alert.audience)
    who = f"{_student_name(alert.student_id, school)} — " if alert.student_id else ""
    detail = dict(alert.detail)
    if alert.excused is not None:
        detail["excused"] = alert.excused
    sentence = _sentence(alert.kind.value, detail, lang)
    return _with_citation(f"{heading} ({to}): {who}{sentence}", alert.points, lang)


# --------------------------------------------------------------------------- helpers


def _verdict_line(verdict: Verdict, school: School, lang: str) -> str:
    name = _student_name(verdict.student_id, school)
    label = _outcome_label(verdict, lang)
    detail = verdict.detail
    sentence = _sentence(verdict.reason, detail, lang)
    base = detail.get("base_reason")
    if isinstance(base, str) and base != verdict.reason:
        sentence = f"{_sentence(base, detail, lang)}; {sentence}"
    return _with_citation(f"{name} — {label}: {sentence}", verdict.points, lang)


def _skip_line(skip: Skip, school: School, lang: str) -> str:
    name = _student_name(skip.student_id, school)
    lead = ("„n” netiek rakstīts", "no \"n\" written")[_lang_index(lang)]
    text = REASONS.get(skip.why, (skip.why, skip.why))[_lang_index(lang)]
    return _with_citation(f"{name} — {lead}: {text}", ("43",), lang)


def _outcome_label(verdict: Verdict, lang: str) -> str:
    i = _lang_index(lang)
    outcome = verdict.outcome
    if outcome is Outcome.ABSENT_EXCUSED and verdict.reason in _NO_MARK_REASONS:
        return ("attaisnots, bez „n”", "excused, no \"n\"")[i]
    labels = {
        Outcome.PRESENT: ("piedalījās", "present"),
        Outcome.ABSENT_UNEXCUSED: ("n (neattaisnots)", "n (unexcused)"),
        Outcome.ABSENT_EXCUSED: ("n (attaisnots)", "n (excused)"),
        Outcome.NOT_YET_DUE: ("vēl nav vērtējams", "not yet due"),
        Outcome.NOT_EVALUATED: ("netiek vērtēts automātiski", "not judged automatically"),
    }
    return labels[outcome][i]


def _sentence(reason: str, detail: Mapping[str, object], lang: str) -> str:
    """The reason with its numbers when the detail has them, else the short text."""
    i = _lang_index(lang)
    template = DETAILS.get(reason)
    if template is not None:
        fields = _fields(detail, lang)
        needed = {name for _, name, _, _ in string.Formatter().parse(template[i]) if name}
        if needed <= fields.keys():
            return template[i].format(**fields)
    return REASONS[reason][i] if reason in REASONS else reason


def _fields(detail: Mapping[str, object], lang: str) -> dict[str, str]:
    """Detail values formatted for a sentence (minutes, percentages, Riga times)."""
    i = _lang_index(lang)
    out: dict[str, str] = {}
    numbers = {
        "connected": "connected_minutes",
        "lesson": "lesson_minutes",
        "remote": "remote_hours",
        "planned": "planned_hours",
        "grace": "grace_minutes",
    }
    for name, key in numbers.items():
        if isinstance(detail.get(key), int | float):
            out[name] = _number(float(detail[key]), lang)
    shares = {"pct": "share", "required": "required_share", "share": "share",
              "threshold": "threshold"}
    for name, key in shares.items():
        if isinstance(detail.get(key), int | float):
            out[name] = _number(float(detail[key]) * 100, lang, digits=0)
    times = {
        "first_join": "first_join",
        "due": "due",
        "activity_at": "activity_at",
        "evaluate_at": "evaluate_at",
        "received": "notice_received_at",
        "deadline": "deadline",
        "created_at": "created_at",
    }
    for name, key in times.items():
        if isinstance(detail.get(key), str):
            out[name] = _when(str(detail[key]), lang)
    if isinstance(detail.get("missing"), tuple | list):
        parts = [_MISSING_PARTS.get(str(p), (str(p), str(p)))[i] for p in detail["missing"]]
        out["missing"] = ", ".join(parts)
    if isinstance(detail.get("cause"), str):
        cause = str(detail["cause"])
        out["cause"] = _CAUSES.get(cause, (cause, cause))[i]
    if isinstance(detail.get("participants"), tuple | list):
        out["participants"] = ", ".join(str(p) for p in detail["participants"])
    if isinstance(detail.get("excused"), bool):
        out["excused"] = (
            ("attaisnots", "excused") if detail["excused"] else ("neattaisnots", "unexcused")
        )[i]
    return out


def _number(value: float, lang: str, digits: int = 1) -> str:
    """12 → "12", 12.5 → "12,5" (lv) / "12.5" (en); ``digits=0`` rounds half up."""
    if digits == 0 or abs(value - round(value)) < 0.05:
        return str(int(value + 0.5)) if value >= 0 else str(round(value))
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "lv" else text


def _when(iso_text: str, lang: str) -> str:
    """An ISO instant as Riga local time: ``30.11.2026 17:00`` / ``2026-11-30 17:00``."""
    try:
        t = dt.datetime.fromisoformat(iso_text)
    except ValueError:
        return iso_text
    if t.tzinfo is not None:
        t = to_riga(t)
    return f"{t:%d.%m.%Y %H:%M}" if lang == "lv" else f"{t:%Y-%m-%d %H:%M}"


def _student_name(student_id: str | None, school: School) -> str:
    """The student's name; namesakes of one group told apart by their journal id."""
    return school.student_label(student_id) if student_id else "?"


def _with_citation(text: str, points: Iterable[str], lang: str) -> str:
    citation = cite(points, lang)
    return f"{text} — {citation}" if citation else text


def _lang_index(lang: str) -> int:
    if lang not in LANGS:
        raise ValueError(f"unsupported language: {lang!r} (use 'lv' or 'en')")
    return LANGS.index(lang)
