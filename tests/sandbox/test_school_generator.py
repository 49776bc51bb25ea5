"""The scale generator: deterministic, valid scenario v1, documented sizes, fast; minimum calls."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sandbox.scenario import parse_scenario
from sandbox.school import generate_school, main, minimum_calls, previous_working_day

DAY = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def school() -> dict:
    return generate_school(scale=2, seed=7)


# --------------------------------------------------------------------------- determinism, validity


def test_same_seed_gives_the_same_document() -> None:
    first = json.dumps(generate_school(1, seed=11), ensure_ascii=False)
    assert json.dumps(generate_school(1, seed=11), ensure_ascii=False) == first


def test_another_seed_gives_another_document() -> None:
    assert generate_school(1, seed=1) != generate_school(1, seed=2)


@pytest.mark.parametrize("scale", [pytest.param(1, id="K1"), pytest.param(3, id="K3")])
def test_document_is_valid_scenario(scale: int) -> None:
    scenario = parse_scenario(generate_school(scale, seed=scale), f"generated K={scale}")
    assert scenario.runs  # parse_scenario raises on any invalid key, reference or time


@pytest.mark.parametrize("scale", [0, -2])
def test_scale_must_be_positive(scale: int) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_school(scale)


def test_four_units_are_a_valid_scenario() -> None:
    """Scale 4 (the benchmark's largest) parses; its speed is measured by sandbox.bench."""
    doc = generate_school(scale=4, seed=0)
    assert len(parse_scenario(doc).students) == 4 * 900


# --------------------------------------------------------------------------- documented sizes


@pytest.mark.parametrize("scale", [pytest.param(1, id="K1"), pytest.param(2, id="K2")])
def test_documented_sizes(scale: int) -> None:
    doc = generate_school(scale, seed=scale)
    assert len(doc["students"]) == 900 * scale
    assert len(doc["groups"]) == 45 * scale
    assert len(doc["teachers"]) == 80 * scale
    assert set(Counter(s["group"] for s in doc["students"]).values()) == {20}
    assert set(Counter(lesson["group"] for lesson in doc["lessons"]).values()) == {7}
    remote = [lesson for lesson in doc["lessons"] if lesson["mode"] != "in_person"]
    assert len(remote) * 3 == len(doc["lessons"])


def test_ids_and_addresses_are_unique(school: dict) -> None:
    for section in ("students", "teachers", "groups", "lessons"):
        ids = [row["id"] for row in school[section]]
        assert len(ids) == len(set(ids)), section
    emails = [p["email"] for p in school["students"] + school["teachers"]]
    assert len(emails) == len(set(emails))
    assert all(e.endswith("@audzekni.school.lv") for e in (s["email"] for s in school["students"]))


def test_no_teacher_teaches_two_lessons_at_once(school: dict) -> None:
    slots = Counter((lesson["teacher"], lesson["number"]) for lesson in school["lessons"])
    assert max(slots.values()) == 1


def test_runs_are_morning_evening_and_rerun() -> None:
    doc = generate_school(1, day=dt.date(2026, 3, 30))  # first Monday of summer time
    assert doc["runs"] == ["2026-03-30T07:00:00+03:00", "2026-03-30T18:00:00+03:00",
                           "2026-03-30T18:00:00+03:00"]
    assert all(lesson["date"] == "2026-03-30" for lesson in doc["lessons"])


# --------------------------------------------------------------------------- realistic behaviour


def _instances(doc: dict) -> list[dict]:
    return [i for m in doc["zoom"]["meetings"] for i in m["instances"]]


def test_remote_lessons_use_zoom_moodle_and_uzdevumi(school: dict) -> None:
    texts = [lesson["uzdots"]["text"] for lesson in school["lessons"] if "uzdots" in lesson]
    zoom = sum("zoom.us/j/" in t for t in texts)
    moodle = sum("skolo.lv/mod/assign" in t for t in texts)
    uzdevumi = sum("uzdevumi.lv/" in t for t in texts)
    assert zoom > moodle > 0 and zoom > uzdevumi > 0
    ids = [m["id"] for m in school["zoom"]["meetings"]]
    assert len(ids) == len(set(ids))  # one meeting per lesson


def test_zoom_meetings_have_the_awkward_cases(school: dict) -> None:
    instances = _instances(school)
    assert any(len(m["instances"]) == 2 for m in school["zoom"]["meetings"])
    assert any(i["uuid"].startswith("/") for i in instances)
    assert any("//" in i["uuid"] for i in instances)
    rows = [p for i in instances for p in i["participants"]]
    assert any(p["status"] == "in_waiting_room" for p in rows)
    student_emails = {s["email"] for s in school["students"]}
    teacher_names = {t["name"] for t in school["teachers"]}
    student_names = {f"{s['first_name']} {s['last_name']}" for s in school["students"]}
    guests = [p for p in rows if p["email"] == "" and p["name"] not in student_names | teacher_names]
    assert guests
    assert any(p["email"] == "" and p["name"] in student_names for p in rows)
    assert any(p["email"] in student_emails for p in rows)
    with_chat = [i for i in instances if i.get("chat") is not None]
    assert 0 < len(with_chat) < len(instances)


def _share(count: int, total: int) -> float:
    return count / total


def test_behaviour_rates_are_plausible(school: dict) -> None:
    names = {f"{s['first_name']} {s['last_name']}" for s in school["students"]}
    hosts = {t["email"] for t in school["teachers"]}  # a teacher may share a student's name
    rows: dict[tuple[str, str], int] = {}
    for meeting in school["zoom"]["meetings"]:
        if len(meeting["instances"]) > 1:
            continue  # a restart splits everybody's row
        for p in meeting["instances"][0]["participants"]:
            if p["name"] in names and p["status"] == "in_meeting" and p["email"] not in hosts:
                key = (meeting["id"], p["name"])
                rows[key] = rows.get(key, 0) + 1
    single = [m for m in school["zoom"]["meetings"] if len(m["instances"]) == 1]
    seats = 20 * len(single)
    assert 0.02 < sum(n > 1 for n in rows.values()) / len(rows) < 0.10  # rejoins
    assert 0.02 < 1 - len(rows) / seats < 0.10  # absent, ill, offline
    statuses = Counter(s["status"] for s in school["moodle"]["submissions"])
    assert statuses["submitted"] > 10 * statuses["draft"] > 0


def test_some_students_sent_notices(school: dict) -> None:
    kinds = Counter(n["kind"] for n in school["notices"])
    assert kinds["illness"] > 0 and kinds["tech_problem"] > 0
    assert all(n["from"] == n["to"] == "2026-11-30" for n in school["notices"])


def test_uzdots_is_mostly_on_time(school: dict) -> None:
    deadline = dt.datetime.fromisoformat("2026-11-27T17:00:00+02:00")
    remote = [lesson for lesson in school["lessons"] if lesson["mode"] != "in_person"]
    created = [dt.datetime.fromisoformat(lesson["uzdots"]["created_at"])
               for lesson in remote if "uzdots" in lesson]
    on_time = sum(c <= deadline for c in created)
    assert 0.85 < on_time / len(remote) < 1
    assert len(created) < len(remote) or on_time < len(created)


# --------------------------------------------------------------------------- command line


def test_main_writes_the_generated_document(tmp_path: Path) -> None:
    out = tmp_path / "k1" / "school.json"
    assert main(["--scale", "1", "--seed", "3", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == generate_school(1, seed=3)


# --------------------------------------------------------------------------- previous working day


@pytest.mark.parametrize(("day", "expected"), [
    pytest.param(dt.date(2026, 11, 30), dt.date(2026, 11, 27), id="monday-friday"),
    pytest.param(dt.date(2026, 11, 19), dt.date(2026, 11, 17), id="after-18-november"),
    pytest.param(dt.date(2027, 1, 4), dt.date(2026, 12, 30), id="after-new-year"),
    pytest.param(dt.date(2026, 12, 2), dt.date(2026, 12, 1), id="midweek"),
])
def test_previous_working_day(day: dt.date, expected: dt.date) -> None:
    assert previous_working_day(day) == expected


# --------------------------------------------------------------------------- minimum calls


def _t(hhmm: str, day: str = "2026-11-30") -> str:
    return f"{day}T{hhmm}:00+02:00"


def _row(name: str, email: str, join: str, leave: str, day: str = "2026-11-30") -> dict:
    return {"name": name, "email": email, "join": _t(join, day), "leave": _t(leave, day)}


def _tiny(**changes: Any) -> dict:
    """One group of three, one Zoom lesson 09:00-09:45; s3 never joins."""
    doc: dict[str, Any] = {
        "version": 1, "school": {"name": "T"},
        "teachers": [{"id": "t1", "name": "Ilze Kalniņa", "email": "ilze.kalnina@school.lv"}],
        "groups": [{"id": "g1", "name": "ET-22", "class_teacher": "t1"}],
        "students": [{"id": f"s{i}", "group": "g1", "first_name": f, "last_name": "Liepa",
                      "email": f"{f.lower()}.liepa@audzekni.school.lv"}
                     for i, f in ((1, "Anna"), (2, "Laura"), (3, "Marta"))],
        "subjects": [{"id": "m1", "name": "Fizika", "planned_hours": {"g1": 100}}],
        "lessons": [{"id": "L1", "group": "g1", "subject": "m1", "teacher": "t1",
                     "date": "2026-11-30", "number": 2, "start": "09:00", "end": "09:45",
                     "mode": "remote_sync",
                     "uzdots": {"text": "Zoom https://zoom.us/j/81234567890 Termiņš: "
                                        "30.11.2026 09:45. Vērtēšanas kritēriji.",
                                "created_at": _t("10:00", "2026-11-27")}}],
        "zoom": {"meetings": [{"id": "81234567890", "host": "t1", "instances": [{
            "uuid": "abc==", "start": _t("08:55"), "end": _t("09:47"),
            "participants": [_row("Ilze Kalniņa", "ilze.kalnina@school.lv", "08:55", "09:47"),
                             _row("Anna Liepa", "anna.liepa@audzekni.school.lv", "09:00", "09:45"),
                             _row("Laura Liepa", "", "09:05", "09:45")]}]}]},
        "runs": [_t("18:00")]}
    for key, value in changes.items():
        doc[key] = value(doc) if callable(value) else value
    parse_scenario(doc)
    return doc


def _with_chat(doc: dict) -> dict:
    doc["zoom"]["meetings"][0]["instances"][0]["chat"] = []
    return doc["zoom"]


def _with_rows(extra: int):
    def change(doc: dict) -> dict:
        rows = doc["zoom"]["meetings"][0]["instances"][0]["participants"]
        rows += [_row(f"Viesis {i}", "", "09:10", "09:20") for i in range(extra)]
        return doc["zoom"]
    return change


def _restarted(doc: dict) -> dict:
    meeting = doc["zoom"]["meetings"][0]
    first = meeting["instances"][0]
    first["end"] = _t("09:20")
    for p in first["participants"]:
        p["leave"] = min(p["leave"], _t("09:20"))
    second = {"uuid": "/x//y==", "start": _t("09:21"), "end": _t("09:47"), "participants": [
        _row("Ilze Kalniņa", "ilze.kalnina@school.lv", "09:21", "09:47"),
        _row("Anna Liepa", "anna.liepa@audzekni.school.lv", "09:21", "09:45")]}
    last_week = {"uuid": "old==", "start": _t("08:55", "2026-11-23"),
                 "end": _t("09:47", "2026-11-23"), "participants": []}
    meeting["instances"] = [last_week, first, second]
    return doc["zoom"]


def _ended_early_or_running(running: bool):
    """The lesson's instance ended at 09:40, or (running) it has not ended by the run."""
    def change(doc: dict) -> dict:
        instance = doc["zoom"]["meetings"][0]["instances"][0]
        instance["end"] = _t("19:00") if running else _t("09:40")
        for p in instance["participants"]:
            p["leave"] = min(p["leave"], instance["end"])
        return doc["zoom"]
    return change


def _late_uzdots(doc: dict) -> list:
    doc["lessons"][0]["uzdots"]["created_at"] = _t("18:30")
    return doc["lessons"]


def _tech_notice(doc: dict) -> list:
    return [{"student": "s3", "kind": "tech_problem", "from": "2026-11-30", "to": "2026-11-30",
             "received_at": _t("09:30"), "agreement": "catch_up"}]


def _offline_and_manual(doc: dict) -> list:
    doc["students"][2]["offline_mode"] = True
    doc["lessons"][0]["marks"] = [{"student": "s2", "code": "n", "by": "t1", "at": _t("10:00")}]
    doc["zoom"]["meetings"][0]["instances"][0]["participants"].pop()  # Laura leaves no trace
    return doc["students"]


def _moodle(doc: dict) -> dict:
    for cmid, number in ((41, 3), (42, 4)):
        doc["lessons"].append({
            "id": f"A{cmid}", "group": "g1", "subject": "m1", "teacher": "t1",
            "date": "2026-11-30", "number": number, "start": f"1{number - 3}:05",
            "end": f"1{number - 3}:50", "mode": "remote_async",
            "uzdots": {"text": f"skolo.lv https://skolo.lv/mod/assign/view.php?id={cmid} "
                               "Termiņš: 30.11.2026 16:00. Vērtēšanas kritēriji.",
                       "created_at": _t("10:00", "2026-11-27")}})
    return {"courses": [{"id": 5, "name": "A"}, {"id": 6, "name": "B"}],
            "assignments": [{"cmid": 41, "id": 7, "course": 5, "name": "a",
                             "duedate": _t("16:00")},
                            {"cmid": 42, "id": 8, "course": 6, "name": "b",
                             "duedate": _t("16:00")}],
            "submissions": [  # A41: s1 on time, s2 late, s3 draft; A42: all three on time
                {"assignment": 7, "student": "s1", "timemodified": _t("12:00")},
                {"assignment": 7, "student": "s2", "timemodified": _t("16:30")},
                {"assignment": 7, "student": "s3", "status": "draft",
                 "timemodified": _t("12:00")}]
            + [{"assignment": 8, "student": f"s{i}", "timemodified": _t("15:00")}
               for i in (1, 2, 3)]}


# zoom: token + instances + per relevant instance (participant pages + 1 recordings list
# (+1 CHAT download)) (+1 GET /meetings/{id} when no ended instance reaches the lesson end);
# eklase: 4 + 1 chunk + 1 notices (+1 read-back and 1 write per "n")
@pytest.mark.parametrize(("changes", "expected"), [
    pytest.param({}, {"zoom": 4, "moodle": 0, "eklase": 8}, id="one-meeting-one-absent"),
    pytest.param({"zoom": _with_chat}, {"zoom": 5, "moodle": 0, "eklase": 8}, id="chat-file"),
    pytest.param({"zoom": _with_rows(297)}, {"zoom": 4, "moodle": 0, "eklase": 8},
                 id="300-rows-one-page"),
    pytest.param({"zoom": _with_rows(298)}, {"zoom": 5, "moodle": 0, "eklase": 8},
                 id="301-rows-two-pages"),
    pytest.param({"zoom": _restarted}, {"zoom": 6, "moodle": 0, "eklase": 9},
                 id="restarted-meeting-old-instance-ignored"),
    pytest.param({"zoom": _ended_early_or_running(False)}, {"zoom": 5, "moodle": 0, "eklase": 8},
                 id="ended-early-asks-whether-it-runs"),
    pytest.param({"zoom": _ended_early_or_running(True)}, {"zoom": 3, "moodle": 0, "eklase": 6},
                 id="still-running-asks-and-judges-nothing"),
    pytest.param({"lessons": _late_uzdots}, {"zoom": 0, "moodle": 0, "eklase": 6},
                 id="uzdots-not-there-yet"),
    pytest.param({"notices": _tech_notice}, {"zoom": 4, "moodle": 0, "eklase": 6},
                 id="tech-problem-reported"),
    pytest.param({"students": _offline_and_manual}, {"zoom": 4, "moodle": 0, "eklase": 6},
                 id="offline-and-manual-mark"),
    pytest.param({"moodle": _moodle}, {"zoom": 4, "moodle": 4, "eklase": 10},
                 id="two-moodle-courses"),
])
def test_minimum_calls(changes: dict, expected: dict) -> None:
    assert minimum_calls(_tiny(**changes)) == expected


def test_minimum_calls_counts_lesson_chunks_and_ignores_earlier_instants() -> None:
    doc = _tiny()
    assert minimum_calls(doc, days=8)["eklase"] == 4 + 2 + 1 + 1 + 1
    # at 10:00 the lesson is not yet judged (end + 30 min = 10:15): no "n" to write yet
    assert minimum_calls(doc, at=dt.datetime.fromisoformat(_t("10:00")))["eklase"] == 6


def test_minimum_calls_of_a_generated_school(school: dict) -> None:
    calls = minimum_calls(school)
    texts = [lesson.get("uzdots", {}).get("text", "") for lesson in school["lessons"]]
    zoom_linked = sum("zoom.us/j/" in text for text in texts)
    course_of = {a["cmid"]: a["course"] for a in school["moodle"]["assignments"]}
    courses = {course for cmid, course in course_of.items()
               if any(f"view.php?id={cmid} " in text for text in texts)}
    remote = sum(lesson["mode"] != "in_person" for lesson in school["lessons"])
    assert calls["zoom"] >= 1 + 2 * zoom_linked
    assert calls["moodle"] == 2 + len(courses)
    assert 6 < calls["eklase"] < 6 + 0.2 * 20 * remote
