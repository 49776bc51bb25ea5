"""A synthetic school at scale for the benchmark, and the fewest upstream calls its sync needs.

``generate_school(scale=K)`` builds a scenario v1 document (``docs/SCENARIOS.md``) of one school
day of a realistic vocational school, K times: 900 students in 45 groups of 20, 80 teachers,
7 lessons per group, a third of them remote — mostly synchronous Zoom lessons (one meeting per
lesson, a few restarted meetings with two instances, UUIDs that start with "/" or contain "//"),
some skolo.lv (Moodle) assignments and some uzdevumi.lv tasks. Behaviour is realistic: most
students join on time, about 5 % join late, about 5 % rejoin (2–3 segments), about 3 % are absent,
some wait in the waiting room, guests without e-mail drop in, some meetings have chat data, a
few students sent notices. The jobs run at 07:00 (UZDOTS check), 18:00 and 18:00 again (rerun).
Everything comes from ``random.Random(seed)``: the same arguments give the same document.

``minimum_calls(scenario)`` is the benchmark's yardstick: the fewest upstream calls a sync of the
day needs given the vendors' paging (formulae in its docstring).

Synthetic people only: names are random combinations of common Latvian names.

Command line: ``python -m sandbox.school --scale K --seed S --out FILE``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import re
import string
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import holidays

RIGA: Final = ZoneInfo("Europe/Riga")

# --------------------------------------------------------------------------- sizes (per scale unit)
STUDENTS_PER_GROUP: Final = 20
GROUPS_PER_UNIT: Final = 45
TEACHERS_PER_UNIT: Final = 80
LESSONS_PER_GROUP: Final = 7
REMOTE_SHARE: Final = 1 / 3

#: Behaviour rates (shares of students per lesson, of meetings, of lessons).
ABSENT_RATE: Final = 0.03
LATE_RATE: Final = 0.05
REJOIN_RATE: Final = 0.05
WAITING_ROOM_RATE: Final = 0.04
UNSIGNED_RATE: Final = 0.08  # joined without signing in: display name only, no e-mail
RESTART_RATE: Final = 0.05
ODD_UUID_RATE: Final = 0.10  # half start with "/", half contain "//"
GUEST_RATE: Final = 0.10
CHAT_RATE: Final = 0.30
UZDOTS_LATE_RATE: Final = 0.04
UZDOTS_MISSING_RATE: Final = 0.02
TOPIC_MISSING_RATE: Final = 0.05
ILLNESS_RATE: Final = 0.01
TECH_PROBLEM_RATE: Final = 0.005
OFFLINE_RATE: Final = 0.005

#: Bell schedule: lesson number -> (start, end), Riga wall time.
BELL: Final = {1: ("08:15", "09:00"), 2: ("09:10", "09:55"), 3: ("10:05", "10:50"),
               4: ("11:00", "11:45"), 5: ("12:15", "13:00"), 6: ("13:10", "13:55"),
               7: ("14:05", "14:50")}

MALE_FIRST: Final = (
    "Jānis", "Andris", "Mārtiņš", "Kārlis", "Pēteris", "Roberts", "Edgars", "Kristaps", "Rihards",
    "Dāvis", "Artūrs", "Gatis", "Toms", "Ralfs", "Emīls", "Nauris", "Oskars", "Valters", "Gints",
    "Aivars", "Kristers", "Ojārs", "Didzis", "Harijs", "Raimonds", "Armands", "Reinis", "Matīss",
    "Renārs", "Ēriks", "Krišjānis", "Niklāvs", "Gustavs", "Ričards", "Uldis", "Dainis")
FEMALE_FIRST: Final = (
    "Anna", "Līga", "Laura", "Elīna", "Katrīna", "Zane", "Evelīna", "Sanita", "Marta", "Ilze",
    "Dace", "Ieva", "Sintija", "Paula", "Beāte", "Megija", "Inese", "Agnese", "Baiba", "Evija",
    "Gerda", "Inga", "Undīne", "Sabīne", "Dita", "Lauma", "Ance", "Ilona", "Justīne", "Alise",
    "Madara", "Kristīne", "Elza", "Rūta", "Santa", "Linda", "Annija", "Estere")
#: Surnames as (masculine, feminine) forms.
SURNAMES: Final = (
    ("Bērziņš", "Bērziņa"), ("Kalniņš", "Kalniņa"), ("Ozoliņš", "Ozoliņa"), ("Jansons", "Jansone"),
    ("Ozols", "Ozola"), ("Liepiņš", "Liepiņa"), ("Krūmiņš", "Krūmiņa"), ("Balodis", "Balode"),
    ("Eglītis", "Eglīte"), ("Zariņš", "Zariņa"), ("Pētersons", "Pētersone"), ("Kļaviņš", "Kļaviņa"),
    ("Vītols", "Vītola"), ("Siliņš", "Siliņa"), ("Lācis", "Lāce"), ("Kalējs", "Kalēja"),
    ("Grīnbergs", "Grīnberga"), ("Lapiņš", "Lapiņa"), ("Vanags", "Vanaga"), ("Strazds", "Strazda"),
    ("Sproģis", "Sproģe"), ("Āboliņš", "Āboliņa"), ("Dūmiņš", "Dūmiņa"), ("Zvirbulis", "Zvirbule"),
    ("Rubenis", "Rubene"), ("Mednis", "Medne"), ("Celmiņš", "Celmiņa"), ("Cīrulis", "Cīrule"),
    ("Vilks", "Vilka"), ("Kociņš", "Kociņa"), ("Puriņš", "Puriņa"), ("Krastiņš", "Krastiņa"),
    ("Auziņš", "Auziņa"), ("Rozītis", "Rozīte"), ("Purmalis", "Purmale"), ("Zeltiņš", "Zeltiņa"))
SUBJECTS: Final = (
    ("Matemātika", "subject"), ("Latviešu valoda", "subject"), ("Angļu valoda", "subject"),
    ("Fizika", "subject"), ("Ķīmija", "subject"), ("Vēsture", "subject"), ("Sports", "subject"),
    ("Informātika", "subject"), ("Elektrotehnika", "module"), ("Datorsistēmas", "module"),
    ("Programmēšana", "module"), ("Datu bāzes", "module"), ("Tūrisma pakalpojumi", "module"),
    ("Ēdienu gatavošana", "module"), ("Automobiļu remonts", "module"), ("Metālapstrāde", "module"),
    ("Loģistika", "module"), ("Uzņēmējdarbība", "module"), ("Grāmatvedība", "module"),
    ("Darba aizsardzība", "module"))
PROGRAMMES: Final = ("ET", "DT", "VT", "AM", "KM", "PR", "EL", "ME", "LO", "TU", "ED", "BV",
                     "AU", "GR", "ML")
GUEST_NAMES: Final = ("iPhone", "Viesis", "Galaxy S21", "Mamma", "DESKTOP-7QK2M", "Lietotājs")
PLANNED_HOURS: Final = (60, 80, 100, 120, 160)


# =========================================================================== generation


def generate_school(scale: int = 1, seed: int = 0, day: dt.date = dt.date(2026, 11, 30)) -> dict:
    """Build a scenario v1 document of one school day at ``scale``.

    Args:
        scale: K; the school has K × (900 students, 45 groups, 80 teachers, 315 lessons).
        seed: seed of the random generator; equal arguments give equal documents.
        day: the school day (should be a working day); runs are at 07:00, 18:00, 18:00 Riga.

    Returns:
        A plain dict valid for ``sandbox.scenario.parse_scenario``.

    Raises:
        ValueError: ``scale`` is smaller than 1.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    return _Builder(scale, random.Random(seed), day).build()


def _riga(day: dt.date, hhmm: str, plus_minutes: float = 0) -> dt.datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    wall = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=RIGA)
    return (wall.astimezone(dt.UTC) + dt.timedelta(minutes=plus_minutes)).astimezone(RIGA)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def previous_working_day(day: dt.date) -> dt.date:
    """The Latvian working day before ``day`` (weekends and public holidays skipped)."""
    calendar = holidays.country_holidays("LV", years=[day.year - 1, day.year])
    moved = set(getattr(calendar, "weekend_workdays", ()))
    candidate = day - dt.timedelta(days=1)
    while (candidate.weekday() >= 5 and candidate not in moved) or candidate in calendar:
        candidate -= dt.timedelta(days=1)
    return candidate


@dataclass
class _Lesson:
    """A lesson being built, with what the evidence generators need."""

    row: dict[str, Any]
    start: dt.datetime
    end: dt.datetime
    roster: list[dict[str, Any]]
    teacher: dict[str, Any]
    kind: str = "in_person"  # in_person | zoom | moodle | uzdevumi
    absent: set[str] = field(default_factory=set)


class _Builder:
    """Builds one document; every random draw goes through ``self.rng`` in a fixed order."""

    def __init__(self, scale: int, rng: random.Random, day: dt.date) -> None:
        self.scale = scale
        self.rng = rng
        self.day = day
        self.prev_day = previous_working_day(day)
        self.emails: set[str] = set()
        self.counter = 0
        self.ill: set[str] = set()
        self.doc: dict[str, Any] = {
            "version": 1,
            "school": {"name": "Mēroga tehnikums",
                       "oversight": ["direktora.vietniece@school.lv", "metodikis@school.lv"]},
            "calendar": {"non_teaching_days": []},
            "teachers": [], "groups": [], "students": [], "subjects": [], "lessons": [],
            "zoom": {"meetings": []}, "moodle": {"courses": [], "assignments": [],
                                                 "submissions": [], "quiz_attempts": []},
            "uzdevumi": {"rows": []}, "notices": [], "runs": []}

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    # ----------------------------------------------------------------- people
    def build(self) -> dict:
        teachers = self.make_teachers()
        groups = self.make_groups(teachers)
        rosters = self.make_students(groups)
        self.ill = self.make_illness_notices(self.doc["students"])
        self.doc["subjects"] = [{"id": f"m{i + 1:02d}", "name": name, "kind": kind,
                                 "planned_hours": {}} for i, (name, kind) in enumerate(SUBJECTS)]
        lessons = self.make_lessons(groups, rosters, teachers)
        for lesson in lessons:
            self.add_evidence(lesson)
        self.doc["runs"] = [_iso(_riga(self.day, hm)) for hm in ("07:00", "18:00", "18:00")]
        return self.doc

    def person(self, male: bool) -> tuple[str, str]:
        first = self.rng.choice(MALE_FIRST if male else FEMALE_FIRST)
        last = self.rng.choice(SURNAMES)[0 if male else 1]
        return first, last

    def email(self, first: str, last: str, domain: str) -> str:
        base = f"{_fold(first)}.{_fold(last)}"
        candidate, n = f"{base}@{domain}", 1
        while candidate in self.emails:
            n += 1
            candidate = f"{base}{n}@{domain}"
        self.emails.add(candidate)
        return candidate

    def make_teachers(self) -> list[dict[str, Any]]:
        out = []
        for i in range(TEACHERS_PER_UNIT * self.scale):
            first, last = self.person(self.rng.random() < 0.35)
            out.append({"id": f"t{i + 1:04d}", "name": f"{first} {last}",
                        "email": self.email(first, last, "school.lv")})
        self.doc["teachers"] = out
        return out

    def make_groups(self, teachers: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        combos = len(PROGRAMMES) * 4
        for i in range(GROUPS_PER_UNIT * self.scale):
            code, year = PROGRAMMES[i % len(PROGRAMMES)], 22 + (i // len(PROGRAMMES)) % 4
            suffix = f"/{i // combos + 1}" if i >= combos else ""
            out.append({"id": f"g{i + 1:04d}", "name": f"{code}-{year}{suffix}",
                        "class_teacher": teachers[i]["id"]})
        self.doc["groups"] = out
        return out

    def make_students(self, groups: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        rosters: dict[str, list[dict[str, Any]]] = {}
        number = 0
        for group in groups:
            names: set[str] = set()
            roster = []
            while len(roster) < STUDENTS_PER_GROUP:
                first, last = self.person(self.rng.random() < 0.55)
                if _fold(f"{first} {last}") in names:
                    continue  # unique names within a group keep name matching unambiguous
                names.add(_fold(f"{first} {last}"))
                number += 1
                roster.append({"id": f"s{number:05d}", "group": group["id"], "first_name": first,
                               "last_name": last,
                               "email": self.email(first, last, "audzekni.school.lv"),
                               "offline_mode": self.rng.random() < OFFLINE_RATE})
            rosters[group["id"]] = roster
            self.doc["students"].extend(roster)
        return rosters

    # ----------------------------------------------------------------- timetable
    def make_lessons(self, groups: Sequence[dict[str, Any]],
                     rosters: dict[str, list[dict[str, Any]]],
                     teachers: Sequence[dict[str, Any]]) -> list[_Lesson]:
        slots = [(g, n) for g in range(len(groups)) for n in range(1, LESSONS_PER_GROUP + 1)]
        remote = set(self.rng.sample(slots, round(len(slots) * REMOTE_SHARE)))
        subjects = self.doc["subjects"]
        lessons: list[_Lesson] = []
        for g, group in enumerate(groups):
            chosen = self.rng.sample(subjects, LESSONS_PER_GROUP)
            for number, subject in enumerate(chosen, start=1):
                subject["planned_hours"][group["id"]] = self.rng.choice(PLANNED_HOURS)
                # slot-wise rotation: distinct teachers in one slot since groups <= teachers
                teacher = teachers[(g + number * 11) % len(teachers)]
                lessons.append(self.make_lesson(group, subject, teacher, number,
                                                rosters[group["id"]], (g, number) in remote))
        self.doc["lessons"] = [lesson.row for lesson in lessons]
        return lessons

    def make_lesson(self, group: dict, subject: dict, teacher: dict, number: int,
                    roster: list[dict], is_remote: bool) -> _Lesson:
        start, end = BELL[number]
        lid = f"L{self.next_id():06d}"
        kind = self.remote_kind() if is_remote else "in_person"
        mode = {"in_person": "in_person", "zoom": "remote_sync"}.get(kind, "remote_async")
        row = {"id": lid, "group": group["id"], "subject": subject["id"], "teacher": teacher["id"],
               "date": self.day.isoformat(), "number": number, "start": start, "end": end,
               "mode": mode}
        lesson = _Lesson(row, _riga(self.day, start), _riga(self.day, end), roster, teacher, kind)
        if self.rng.random() >= TOPIC_MISSING_RATE or kind == "in_person":
            entered = lesson.end + dt.timedelta(minutes=self.rng.randint(0, 40))
            row["topic"] = {"text": f"{subject['name']}: tēma {number}",
                            "entered_at": _iso(entered)}
        return lesson

    def remote_kind(self) -> str:
        draw = self.rng.random()
        return "zoom" if draw < 0.75 else "moodle" if draw < 0.90 else "uzdevumi"

    def set_uzdots(self, lesson: _Lesson, text: str) -> None:
        draw = self.rng.random()
        if draw < UZDOTS_MISSING_RATE:
            return
        late = draw < UZDOTS_MISSING_RATE + UZDOTS_LATE_RATE
        minutes = self.rng.randint(18 * 60, 22 * 60) if late else self.rng.randint(8 * 60, 16 * 60)
        created = _riga(self.prev_day, "00:00", minutes)
        lesson.row["uzdots"] = {"text": text + " Vērtēšanas kritēriji pielikumā.",
                                "created_at": _iso(created), "attachments": ["kriteriji.pdf"]}

    # ----------------------------------------------------------------- evidence
    def add_evidence(self, lesson: _Lesson) -> None:
        if lesson.kind == "in_person":
            return
        self.add_notices(lesson)
        {"zoom": self.add_zoom, "moodle": self.add_moodle,
         "uzdevumi": self.add_uzdevumi}[lesson.kind](lesson)

    def make_illness_notices(self, students: Sequence[dict[str, Any]]) -> set[str]:
        """Parents' illness notices (points 26–29) received the evening before or that morning."""
        ill = set()
        for st in students:
            if self.rng.random() < ILLNESS_RATE:
                received = _riga(self.day, "08:00", -self.rng.randint(15, 14 * 60))
                self.notice(st, "illness", received, None)
                ill.add(st["id"])
        return ill

    def add_notices(self, lesson: _Lesson) -> None:
        """Ill students miss the lesson; a few report a technical problem during it (p. 41)."""
        for st in lesson.roster:
            if st["id"] in self.ill:
                lesson.absent.add(st["id"])
            elif self.rng.random() < TECH_PROBLEM_RATE:
                received = lesson.start + dt.timedelta(minutes=self.rng.randint(5, 40))
                self.notice(st, "tech_problem", received, "catch_up")
                lesson.absent.add(st["id"])

    def notice(self, st: dict, kind: str, received: dt.datetime, agreement: str | None) -> None:
        self.doc["notices"].append({"student": st["id"], "kind": kind,
                                    "from": self.day.isoformat(), "to": self.day.isoformat(),
                                    "received_at": _iso(received), "agreement": agreement,
                                    "new_due": None})

    def uuid(self) -> str:
        body = "".join(self.rng.choice(string.ascii_letters + string.digits + "+")
                       for _ in range(22))
        draw = self.rng.random()
        if draw < ODD_UUID_RATE / 2:
            body = "/" + body[1:]
        elif draw < ODD_UUID_RATE:
            cut = self.rng.randint(3, 18)
            body = body[:cut] + "//" + body[cut + 2:]
        return body + "=="

    def add_zoom(self, lesson: _Lesson) -> None:
        mid = str(81_000_000_000 + self.next_id())
        self.set_uzdots(lesson, f"Tiešsaistes stunda Zoom https://zoom.us/j/{mid} pēc stundu "
                                f"saraksta. Termiņš: {self.day:%d.%m.%Y} {lesson.row['end']}.")
        opened = lesson.start - dt.timedelta(minutes=self.rng.randint(2, 8))
        closed = lesson.end + dt.timedelta(minutes=self.rng.randint(1, 4))
        spans = [(opened, closed)]
        if self.rng.random() < RESTART_RATE:
            crash = lesson.start + dt.timedelta(minutes=self.rng.randint(10, 30))
            spans = [(opened, crash), (crash + dt.timedelta(minutes=1), closed)]
        rows = [(lesson.teacher["name"], lesson.teacher["email"], opened, closed, "in_meeting")]
        rows += self.student_rows(lesson)
        if self.rng.random() < GUEST_RATE:
            joined = lesson.start + dt.timedelta(minutes=self.rng.randint(0, 20))
            rows.append((self.rng.choice(GUEST_NAMES), "", joined,
                         joined + dt.timedelta(minutes=self.rng.randint(2, 20)), "in_meeting"))
        with_chat = self.rng.random() < CHAT_RATE
        instances = [self.instance(lesson, span, rows, with_chat) for span in spans]
        self.doc["zoom"]["meetings"].append({"id": mid, "host": lesson.teacher["id"],
                                             "instances": instances})

    def student_rows(self, lesson: _Lesson) -> list[tuple]:
        """Participant rows (name, email, join, leave, status) of the roster's students."""
        rows: list[tuple] = []
        for st in lesson.roster:
            if st["offline_mode"] or st["id"] in lesson.absent:
                continue
            if self.rng.random() < ABSENT_RATE:
                lesson.absent.add(st["id"])
                continue
            name = f"{st['first_name']} {st['last_name']}"
            email = "" if self.rng.random() < UNSIGNED_RATE else st["email"]
            segments = self.segments(lesson)
            if self.rng.random() < WAITING_ROOM_RATE:
                first_join = segments[0][0]
                rows.append((name, email, first_join - dt.timedelta(
                    minutes=self.rng.randint(1, 3)), first_join, "in_waiting_room"))
            rows += [(name, email, join, leave, "in_meeting") for join, leave in segments]
        return rows

    def segments(self, lesson: _Lesson) -> list[tuple[dt.datetime, dt.datetime]]:
        """Join/leave segments of one present student: on time, late, or 2–3 with rejoins."""
        length = int((lesson.end - lesson.start) / dt.timedelta(minutes=1))
        draw = self.rng.random()
        if draw < LATE_RATE:
            join = lesson.start + dt.timedelta(minutes=self.rng.randint(5, 20))
            return [(join, lesson.end)]
        join = lesson.start + dt.timedelta(minutes=self.rng.randint(-3, 3))
        leave = lesson.end + dt.timedelta(minutes=self.rng.randint(-1, 2))
        if draw >= LATE_RATE + REJOIN_RATE:
            return [(join, leave)]
        cuts = sorted(self.rng.sample(range(8, length - 8, 5), self.rng.randint(1, 2)))
        segments, begin = [], join
        for cut in cuts:
            dropped = lesson.start + dt.timedelta(minutes=cut)
            segments.append((begin, dropped))
            begin = dropped + dt.timedelta(minutes=self.rng.randint(1, 4))
        segments.append((begin, leave))
        return segments

    def instance(self, lesson: _Lesson, span: tuple[dt.datetime, dt.datetime],
                 rows: Iterable[tuple], with_chat: bool) -> dict[str, Any]:
        lo, hi = span
        participants = []
        for name, email, join, leave, status in rows:
            join, leave = max(join, lo), min(leave, hi)
            if join < leave:
                participants.append({"name": name, "email": email, "join": _iso(join),
                                     "leave": _iso(leave), "status": status})
        row: dict[str, Any] = {"uuid": self.uuid(), "start": _iso(lo), "end": _iso(hi),
                               "participants": participants}
        if with_chat:
            row["chat"] = self.chat(lesson, participants, lo)
        return row

    def chat(self, lesson: _Lesson, participants: list[dict], lo: dt.datetime) -> list[dict]:
        first = max(lo, lesson.start)
        lines = [{"at": _iso(first), "name": lesson.teacher["name"],
                  "text": "Labrīt! Lūdzu, reģistrējieties čatā."}]
        seen: set[str] = set()
        for p in participants:
            if p["status"] != "in_meeting" or p["name"] in seen or p["email"] == lesson.teacher[
                    "email"] or self.rng.random() > 0.85:
                continue
            seen.add(p["name"])
            said = max(first, dt.datetime.fromisoformat(p["join"]))
            said += dt.timedelta(minutes=self.rng.randint(0, 4))
            lines.append({"at": _iso(said), "name": p["name"], "text": "klātesošs"})
        return sorted(lines, key=lambda line: line["at"])

    def add_moodle(self, lesson: _Lesson) -> None:
        moodle = self.doc["moodle"]
        course = self.next_id()
        cmid, aid = self.next_id(), self.next_id()
        due = _riga(self.day, "16:00")
        moodle["courses"].append({"id": course, "name": f"Kurss {lesson.row['group']}"
                                                        f"/{lesson.row['subject']}"})
        moodle["assignments"].append({"cmid": cmid, "id": aid, "course": course,
                                      "name": f"Patstāvīgais darbs {lesson.row['id']}",
                                      "duedate": _iso(due)})
        self.set_uzdots(lesson, f"Patstāvīgais darbs skolo.lv "
                                f"https://skolo.lv/mod/assign/view.php?id={cmid} "
                                f"Termiņš: {self.day:%d.%m.%Y} 16:00.")
        for st in lesson.roster:
            outcome = self.async_outcome(lesson, st)
            if outcome is None:
                continue
            status, at = outcome
            moodle["submissions"].append({"assignment": aid, "student": st["id"],
                                          "status": status, "timemodified": _iso(at)})

    def add_uzdevumi(self, lesson: _Lesson) -> None:
        task = (f"https://www.uzdevumi.lv/p/tema-{lesson.row['subject']}/"
                f"{10 + lesson.row['number'] % 3}-klase/re-{self.rng.getrandbits(32):08x}")
        self.set_uzdots(lesson, f"Uzdevumi uzdevumi.lv {task} "
                                f"Termiņš: {self.day:%d.%m.%Y} 16:00.")
        for st in lesson.roster:
            outcome = self.async_outcome(lesson, st)
            if outcome is None or outcome[0] != "submitted":
                continue
            self.doc["uzdevumi"]["rows"].append({
                "student": st["id"], "task_url": task, "completed_at": _iso(outcome[1]),
                "score": f"{self.rng.randint(4, 10)}/10"})

    def async_outcome(self, lesson: _Lesson, st: dict) -> tuple[str, dt.datetime] | None:
        """(status, time) of a student's work on an async task due at 16:00, or None."""
        if st["offline_mode"] or st["id"] in lesson.absent:
            return None
        draw = self.rng.random()
        due = _riga(self.day, "16:00")
        window = int((due - lesson.start) / dt.timedelta(minutes=1)) - 1
        in_time = lesson.start + dt.timedelta(minutes=self.rng.randint(min(5, window), window))
        if draw < 0.88:
            return "submitted", in_time
        if draw < 0.92:
            return "submitted", due + dt.timedelta(minutes=self.rng.randint(5, 50))
        if draw < 0.95:
            return "draft", in_time
        return None


# =========================================================================== minimum calls

ZOOM_PAGE_SIZE: Final = 300
ZOOM_LINK: Final = re.compile(r"zoom\.us/j/(\d{9,11})")
MOODLE_LINK: Final = re.compile(r"skolo\.lv/mod/assign/view\.php\?id=(\d+)")
EXPORT_LINK: Final = re.compile(r"https://(?:www\.uzdevumi\.lv|app\.soma\.lv)/\S+")
DUE_TEXT: Final = re.compile(r"Termiņš:\s*(\d{2})\.(\d{2})\.(\d{4})\.?\s+(\d{1,2}):(\d{2})")
SYNC_EVALUATE_AFTER: Final = dt.timedelta(minutes=30)
ASYNC_EVALUATE_AFTER: Final = dt.timedelta(minutes=60)
ESSENTIAL_EKLASE_CALLS: Final = 4  # GetServiceInfo, GetTeachers, GetRoster, GetSubjects


def minimum_calls(
    scenario: dict, *, at: dt.datetime | None = None, days: int = 1
) -> dict[str, int]:
    """The fewest upstream calls a sync of the scenario's day needs, per system.

    The day is the Riga date of ``at`` (default: the last run). Only remote lessons of that day
    whose UZDOTS entry exists at ``at`` and carries a link are considered.

    Formulae:
        zoom = 1 OAuth token (when any meeting is read)
            + Σ over distinct linked Zoom meetings [1 ``GET /past_meetings/{id}/instances``
              + Σ over its instances that ended by ``at`` and overlap a lesson linking it
              (only time inside the lesson counts)
              (max(1, ⌈participant rows / 300⌉) ``GET /report/meetings/{uuid}/participants``
              pages + 1 recordings list (Zoom tells whether there is a CHAT file only when
              asked) + 1 CHAT file download when the instance has chat data)
              + 1 ``GET /meetings/{id}`` when a judged lesson linking it is not covered to its
              end by an ended instance and no ended instance started after its end (the
              lesson's own instance may still run; 0 in a generated school's last run)].
        moodle = 0 when no lesson links an existing assignment; else
            1 ``mod_assign_get_assignments`` + 1 ``mod_assign_get_submissions``
            + 1 ``core_enrol_get_enrolled_users`` per distinct course of the linked assignments
            (no site-info call).
        eklase = 4 (``GetServiceInfo``, ``GetTeachers``, ``GetRoster``, ``GetSubjects``)
            + ⌈days / 7⌉ ``GetLessons`` chunks + 1 ``GetNotices``
            + 1 ``GetLessons`` read-back of the day's marks before writing (when any "n")
            + 1 ``SetAttendanceMark`` per "n" the day needs.

    The "n" count is a deliberately plain, independent reading of the data the generator makes:
    roster students of judged lessons (sync: end + 30 min ≤ ``at``; async: due + 60 min ≤ ``at``)
    who are not offline, have no mark by a person and no ``tech_problem`` notice received by
    the evaluation time, and were connected < 50 % of the lesson (in-meeting rows merged, matched
    by e-mail or by a unique full name) or had no submission / export row by the due time.
    Joint lessons, removals and extended deadlines are not modelled (the generator makes none).

    Args:
        scenario: a scenario v1 document as a dict (for instance from ``generate_school``).
        at: the instant of the sync; defaults to the last run.
        days: days of lessons the journal read covers (``GetLessons`` is read in 7-day chunks).

    Returns:
        ``{"zoom": ..., "moodle": ..., "eklase": ...}``.
    """
    at = at or max(dt.datetime.fromisoformat(r) for r in scenario["runs"])
    day = at.astimezone(RIGA).date()
    lessons = [_LessonView.of(row, at) for row in scenario.get("lessons", [])
               if row["date"] == day.isoformat() and row["mode"] != "in_person"]
    lessons = [lv for lv in lessons if lv.text is not None]
    zoom_calls, found = _zoom_calls(scenario, lessons, at)
    moodle_calls, assignments = _moodle_calls(scenario, lessons)
    marks = _count_absences(scenario, lessons, at, found, assignments)
    # marks are written after reading the day's marks back once (a person's mark wins)
    eklase_calls = ESSENTIAL_EKLASE_CALLS + math.ceil(days / 7) + 1 + marks + (1 if marks else 0)
    return {"zoom": zoom_calls, "moodle": moodle_calls, "eklase": eklase_calls}


@dataclass(frozen=True)
class _LessonView:
    row: dict[str, Any]
    start: dt.datetime
    end: dt.datetime
    text: str | None

    @classmethod
    def of(cls, row: dict[str, Any], at: dt.datetime) -> _LessonView:
        day = dt.date.fromisoformat(row["date"])
        entry = row.get("uzdots")
        visible = entry and dt.datetime.fromisoformat(entry["created_at"]) <= at
        return cls(row, _riga(day, row["start"]), _riga(day, row["end"]),
                   entry["text"] if visible else None)

    def due(self) -> dt.datetime:
        match = DUE_TEXT.search(self.text or "")
        if not match:
            return _riga(self.start.date(), "23:59")
        d, m, y, hh, mm = (int(g) for g in match.groups())
        return _riga(dt.date(y, m, d), f"{hh:02d}:{mm:02d}")


def _zoom_calls(scenario: dict, lessons: list[_LessonView],
                at: dt.datetime) -> tuple[int, dict[str, list[dict]]]:
    """Zoom calls, and lesson id -> the relevant instances found for it."""
    meetings = {m["id"]: m for m in scenario.get("zoom", {}).get("meetings", [])}
    linked: dict[str, list[_LessonView]] = {}
    for lv in lessons:
        match = ZOOM_LINK.search(lv.text or "")
        if match and lv.row["mode"] == "remote_sync":
            linked.setdefault(match.group(1), []).append(lv)
    calls, found = 0, {}
    for mid, users in linked.items():
        calls += 1
        relevant = []
        ended = [(inst, *(dt.datetime.fromisoformat(inst[k]) for k in ("start", "end")))
                 for inst in meetings.get(mid, {}).get("instances", [])]
        ended = [(inst, lo, hi) for inst, lo, hi in ended if hi <= at]
        for inst, lo, hi in ended:
            if any(lo < lv.end and hi > lv.start for lv in users):
                relevant.append(inst)
                calls += max(1, math.ceil(len(inst.get("participants", [])) / ZOOM_PAGE_SIZE))
                # Zoom says whether an instance has a recording (and a CHAT file) only when
                # asked: one recordings call per relevant instance, one download with chat
                calls += 1 + (1 if inst.get("chat") is not None else 0)
        judged = [lv for lv in users if lv.end + SYNC_EVALUATE_AFTER <= at]
        if any(_may_still_run(lv, ended) for lv in judged):
            calls += 1  # GET /meetings/{id}: is the lesson's own instance still running?
        for lv in users:
            found[lv.row["id"]] = relevant
    return (calls + 1 if linked else 0), found


def _may_still_run(lv: _LessonView, ended: list[tuple[dict, dt.datetime, dt.datetime]]) -> bool:
    """No ended instance covers the lesson to its end, and none started after it ended."""
    reached = max((hi for _, lo, hi in ended if lo < lv.end and hi > lv.start), default=None)
    later = any(lo >= lv.end for _, lo, _hi in ended)
    return (reached is None or reached < lv.end) and not later


def _moodle_calls(scenario: dict, lessons: list[_LessonView]) -> tuple[int, dict[str, dict]]:
    """Moodle calls, and lesson id -> the linked assignment."""
    by_cmid = {a["cmid"]: a for a in scenario.get("moodle", {}).get("assignments", [])}
    linked = {}
    for lv in lessons:
        match = MOODLE_LINK.search(lv.text or "")
        if match and int(match.group(1)) in by_cmid:
            linked[lv.row["id"]] = by_cmid[int(match.group(1))]
    if not linked:
        return 0, linked
    return 2 + len({a["course"] for a in linked.values()}), linked


def _count_absences(scenario: dict, lessons: list[_LessonView], at: dt.datetime,
                    instances: dict[str, list[dict]], assignments: dict[str, dict]) -> int:
    rosters: dict[str, list[dict]] = {}
    for st in scenario.get("students", []):
        rosters.setdefault(st["group"], []).append(st)
    kinds = {s["id"]: s.get("kind", "subject") for s in scenario.get("subjects", [])}
    total = 0
    for lv in lessons:
        if kinds.get(lv.row["subject"]) == "qualification_practice":
            continue
        roster = rosters.get(lv.row["group"], [])
        judge = _judge_for(scenario, lv, at, instances, assignments)
        if judge is None:
            continue
        evaluate_at, engaged = judge
        marked = {m["student"] for m in lv.row.get("marks", [])}
        for st in roster:
            if st.get("offline_mode") or st["id"] in marked:
                continue
            if _tech_problem(scenario, st["id"], lv, evaluate_at) or engaged(st, roster):
                continue
            total += 1
    return total


_Engaged = Callable[[dict, list[dict]], bool]


def _judge_for(scenario: dict, lv: _LessonView, at: dt.datetime,
               instances: dict[str, list[dict]],
               assignments: dict[str, dict]) -> tuple[dt.datetime, _Engaged] | None:
    """(evaluation time, engaged(student, roster)) for a lesson that can be judged, or None."""
    if lv.row["mode"] == "remote_sync":
        found = instances.get(lv.row["id"])
        evaluate_at = lv.end + SYNC_EVALUATE_AFTER
        if not found or evaluate_at > at:
            return None
        return evaluate_at, lambda st, roster: _connected_enough(st, roster, lv, found)
    if lv.row["id"] in assignments:
        assignment = assignments[lv.row["id"]]
        due = dt.datetime.fromisoformat(assignment["duedate"]) if assignment.get(
            "duedate") else lv.due()
        done = {s["student"] for s in scenario["moodle"].get("submissions", [])
                if s["assignment"] == assignment["id"]
                and s.get("status", "submitted") == "submitted"
                and dt.datetime.fromisoformat(s["timemodified"]) <= due}
    else:
        match = EXPORT_LINK.search(lv.text or "")
        if not match:
            return None
        due = lv.due()
        rows = scenario.get("uzdevumi", {}).get("rows", []) + scenario.get("soma", {}).get(
            "rows", [])
        done = {r["student"] for r in rows if r["task_url"] == match.group(0)
                and dt.datetime.fromisoformat(r["completed_at"]) <= due}
    evaluate_at = due + ASYNC_EVALUATE_AFTER
    if evaluate_at > at:
        return None
    return evaluate_at, lambda st, roster: st["id"] in done


def _tech_problem(scenario: dict, student_id: str, lv: _LessonView, by: dt.datetime) -> bool:
    day = lv.row["date"]
    return any(n["student"] == student_id and n["kind"] == "tech_problem"
               and n["from"] <= day <= n["to"] and dt.datetime.fromisoformat(n["received_at"]) <= by
               for n in scenario.get("notices", []))


def _connected_enough(st: dict, roster: list[dict], lv: _LessonView,
                      instances: list[dict]) -> bool:
    names = [_fold(f"{s['first_name']} {s['last_name']}") for s in roster]
    own = _fold(f"{st['first_name']} {st['last_name']}")
    spans = []
    for inst in instances:
        for p in inst.get("participants", []):
            if p.get("status", "in_meeting") != "in_meeting":
                continue
            by_email = p.get("email") and p["email"].casefold() == st["email"].casefold()
            by_name = not p.get("email") and _fold(p["name"]) == own and names.count(own) == 1
            if by_email or by_name:
                lo = max(dt.datetime.fromisoformat(p["join"]), lv.start)
                hi = min(dt.datetime.fromisoformat(p["leave"]), lv.end)
                if lo < hi:
                    spans.append((lo, hi))
    return _merged_minutes(spans) * 2 >= (lv.end - lv.start) / dt.timedelta(minutes=1)


def _merged_minutes(spans: list[tuple[dt.datetime, dt.datetime]]) -> float:
    total, current = 0.0, None
    for lo, hi in sorted(spans):
        if current and lo <= current[1]:
            current = (current[0], max(current[1], hi))
            continue
        if current:
            total += (current[1] - current[0]) / dt.timedelta(minutes=1)
        current = (lo, hi)
    if current:
        total += (current[1] - current[0]) / dt.timedelta(minutes=1)
    return total


# =========================================================================== command line


def main(argv: Sequence[str] | None = None) -> int:
    """Write a generated school: ``python -m sandbox.school --scale K --seed S --out FILE``."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.school", description=__doc__.split(
        "\n", 1)[0])
    parser.add_argument("--scale", type=int, default=1, help="K: K x 900 students (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2026, 11, 30),
                        help="school day YYYY-MM-DD (default 2026-11-30)")
    parser.add_argument("--out", type=Path, required=True, help="scenario JSON file to write")
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    doc = generate_school(args.scale, args.seed, args.day)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    calls = minimum_calls(doc)
    print(f"{args.out}: {len(doc['students'])} students, {len(doc['lessons'])} lessons; "
          f"minimum calls {calls}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
