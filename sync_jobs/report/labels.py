"""The report's words in Latvian (default) and English, and its number/date formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

FORMATS = ("html", "xlsx", "csv", "json")

LABELS: Mapping[str, Mapping[str, str]] = {
    "lv": {
        "title": "Attālināto mācību pārskats",
        "period": "Periods",
        "made": "Sagatavots",
        "group": "Grupa",
        "subject": "Priekšmets",
        "teacher": "Pedagogs",
        "student": "Izglītojamais",
        "id": "ID",
        "date": "Datums",
        "lesson": "Stunda",
        "week": "Nedēļa no",
        "remote": "Attālinātās stundas",
        "present": "Piedalījās",
        "lessons": "Stundas",
        "judged": "Vērtēti apmeklējumi",
        "n_excused": "„n” attaisnoti",
        "n_unexcused": "„n” neattaisnoti",
        "absent_no_mark": "Nebija, bez „n”",
        "not_evaluated": "Nav vērtēts",
        "share": "Apmeklējums",
        "outcome": "Vērtējums",
        "mark": "Atzīme",
        "reason": "Iemesls",
        "students_h": "Izglītojamie (kārtības 30., 31., 43. p.)",
        "students_cap": "Attālinātās stundas katram izglītojamajam",
        "lessons_cap": "Stundas, uz kurām balstīti skaitļi",
        "groups_h": "Apmeklējums grupās un priekšmetos",
        "groups_cap": "Apmeklējums: piedalījās no vērtētajiem apmeklējumiem (izglītojamais × "
                      "stunda), kopā un pa nedēļām",
        "weeks_cap": "Apmeklējums pa nedēļām",
        "quota_h": "Attālināto mācību apjoms mācību gadā (kārtības 7. p.)",
        "quota_cap": "Attālinātās stundas no plānotajām; brīdinājums no {warn}, robeža {max}",
        "remote_hours": "Attālināti (st.)",
        "planned_hours": "Plānots (st.)",
        "state": "Stāvoklis",
        "teachers_h": "Pedagogi: „UZDOTS” un stundu tēmas (kārtības 14.2., 16. p.)",
        "teachers_cap": "„UZDOTS” ieraksti attālinātajām stundām un neierakstītās tēmas",
        "on_time": "Laikā",
        "late": "Par vēlu",
        "missing": "Nav ieraksta",
        "incomplete": "Nepilnīgs",
        "not_checked": "Vēl nav pārbaudāms",
        "topic_missing": "Nav tēmas",
        "none": "Nav datu šim periodam.",
        "ids_only": "Vārdi nav parādīti (tikai e-klases ID): kārtības automātika vārdus "
                    "neglabā, un tie šoreiz netika nolasīti no e-klases.",
        "names_note": "Skaitļi no kārtības automātikas stāvokļa datnes; vārdi nolasīti no "
                      "e-klases tikai šim pārskatam un netiek glabāti.",
        "footer": "Sagatavoja kārtības automātika (kartiba).",
        "filters": "Atlase",
        "all": "visi",
        "line_warn": "brīdinājums",
        "line_max": "robeža",
        "chart_quota": "Attālināto stundu daļa no plānotajām katrai grupai un priekšmetam",
        "chart_weeks": "Apmeklējuma daļa pa nedēļām",
    },
    "en": {
        "title": "Remote-learning report",
        "period": "Period",
        "made": "Made",
        "group": "Group",
        "subject": "Subject",
        "teacher": "Teacher",
        "student": "Student",
        "id": "ID",
        "date": "Date",
        "lesson": "Lesson",
        "week": "Week from",
        "remote": "Remote lessons",
        "present": "Present",
        "lessons": "Lessons",
        "judged": "Judged attendances",
        "n_excused": "\"n\" excused",
        "n_unexcused": "\"n\" unexcused",
        "absent_no_mark": "Absent, no \"n\"",
        "not_evaluated": "Not evaluated",
        "share": "Attendance",
        "outcome": "Verdict",
        "mark": "Mark",
        "reason": "Reason",
        "students_h": "Students (points 30, 31, 43)",
        "students_cap": "Remote lessons per student",
        "lessons_cap": "The lessons behind the numbers",
        "groups_h": "Attendance by group and subject",
        "groups_cap": "Attendance: present of judged attendances (student × lesson), in total "
                      "and per week",
        "weeks_cap": "Attendance per week",
        "quota_h": "Remote share of the school year (point 7)",
        "quota_cap": "Remote of planned hours; warning from {warn}, limit {max}",
        "remote_hours": "Remote (h)",
        "planned_hours": "Planned (h)",
        "state": "State",
        "teachers_h": "Teachers: UZDOTS and lesson topics (points 14.2, 16)",
        "teachers_cap": "UZDOTS entries of remote lessons and missing topics",
        "on_time": "On time",
        "late": "Late",
        "missing": "Missing",
        "incomplete": "Incomplete",
        "not_checked": "Not checkable yet",
        "topic_missing": "No topic",
        "none": "No data for this period.",
        "ids_only": "Names are not shown (e-klase ids only): the automation keeps no names, "
                    "and they were not read from e-klase this time.",
        "names_note": "Numbers from the automation's state file; names read from e-klase for "
                      "this report only and not kept.",
        "footer": "Made by the remote-learning automation (kartiba).",
        "filters": "Selection",
        "all": "all",
        "line_warn": "warning",
        "line_max": "limit",
        "chart_quota": "Remote share of planned hours per group and subject",
        "chart_weeks": "Attendance share per week",
    },
}

OUTCOMES: Mapping[str, Mapping[str, str]] = {
    "lv": {"present": "piedalījās", "absent_excused": "nebija, attaisnots",
           "absent_unexcused": "nebija, neattaisnots", "not_evaluated": "nav vērtēts"},
    "en": {"present": "present", "absent_excused": "absent, excused",
           "absent_unexcused": "absent, unexcused", "not_evaluated": "not evaluated"},
}

STATES: Mapping[str, Mapping[str, str]] = {
    "lv": {"ok": "robežās", "warning": "tuvojas 20 %", "exceeded": "pārsniedz 20 %"},
    "en": {"ok": "within", "warning": "near 20 %", "exceeded": "above 20 %"},
}


def dmy(value: dt.date | dt.datetime | None) -> str:
    """DD.MM.YYYY (a datetime also with HH:MM)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


def percent(share: float | None, lang: str = "lv") -> str:
    """A share as a percentage with one decimal ("12,5 %" in Latvian); "–" when unknown."""
    if share is None:
        return "–"
    text = f"{share * 100:.1f}".rstrip("0").rstrip(".")
    return (text.replace(".", ",") if lang == "lv" else text) + " %"
