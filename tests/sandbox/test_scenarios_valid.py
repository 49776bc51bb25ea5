"""The acceptance scenarios and the demo school are valid inputs with well-formed expectations.

Every ``tests/scenarios/*.json`` loads with the strict scenario v1 loader, has an
``*.expected.json`` in exactly the ``result.json`` shape of ``docs/SCENARIOS.md`` that refers
only to things the scenario defines, and is explained in the README. The bundled demo school
loads and has the documented composition.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"
DEMO_SCHOOL = ROOT / "sandbox" / "data" / "demo_school.json"

#: Alert kinds exactly as scenario.md lists them.
ALERT_KINDS = frozenset({
    "uzdots_missing", "uzdots_late", "uzdots_incomplete", "topic_missing", "absence",
    "chat_not_registered", "unmatched_participant", "evidence_missing", "removed_by_teacher",
    "quota_warning", "quota_exceeded", "practice_remote", "lesson_changed_after_marks"})
#: Point numbers of the kārtība (seed/RULES.md) that marks and alerts may cite.
KNOWN_POINTS = frozenset(
    ["2", "4", "6", "7", "8", "9", "13", "14.1", "14.2", "14.4", "14.5", "15", "16", "19", "20",
     "21", "22", "23", "26", "27", "28", "29", "30", "31", "32", "33", "35", "39", "41", "42",
     "43", "47"])
SKIP_REASONS = frozenset({"manual_mark"})
EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$")

RUN_KEYS = {"at", "marks", "skipped", "alerts", "emails"}
MARK_KEYS = {"lesson", "student", "code", "excused", "points"}
SKIP_KEYS = {"lesson", "student", "why"}
ALERT_KEYS = {"kind", "lesson", "student", "to", "points"}


# --------------------------------------------------------------------------- the validator


def _point_key(point: str) -> tuple[int, ...]:
    return tuple(int(part) for part in point.split("."))


def _points_problems(where: str, points: Any) -> Iterator[str]:
    if not isinstance(points, list) or not points:
        yield f"{where}.points: expected a non-empty list"
        return
    if any(not isinstance(p, str) or p not in KNOWN_POINTS for p in points):
        yield f"{where}.points: unknown point in {points}"
        return
    if points != sorted(set(points), key=_point_key):
        yield f"{where}.points: not unique and sorted numerically"


def _keys_problems(where: str, item: Any, keys: set[str]) -> Iterator[str]:
    if not isinstance(item, dict):
        yield f"{where}: expected an object"
    elif set(item) != keys:
        yield f"{where}: keys {sorted(item)} != {sorted(keys)}"


def _mark_problems(where: str, mark: dict) -> Iterator[str]:
    if not (isinstance(mark["lesson"], str) and isinstance(mark["student"], str)):
        yield f"{where}: lesson and student must be ids"
    if mark["code"] != "n":
        yield f"{where}.code: kartiba writes only 'n'"
    if not isinstance(mark["excused"], bool):
        yield f"{where}.excused: expected true/false"
    yield from _points_problems(where, mark["points"])


def _skip_problems(where: str, skip: dict) -> Iterator[str]:
    if not (isinstance(skip["lesson"], str) and isinstance(skip["student"], str)):
        yield f"{where}: lesson and student must be ids"
    if skip["why"] not in SKIP_REASONS:
        yield f"{where}.why: unknown reason {skip['why']!r}"


def _alert_problems(where: str, alert: Any) -> Iterator[str]:
    is_absence = isinstance(alert, dict) and alert.get("kind") == "absence"
    problems = list(_keys_problems(where, alert, ALERT_KEYS | ({"excused"} if is_absence else set())))
    if problems:
        yield from problems
        return
    if alert["kind"] not in ALERT_KINDS:
        yield f"{where}.kind: unknown kind {alert['kind']!r}"
    for key in ("lesson", "student"):
        if alert[key] is not None and not isinstance(alert[key], str):
            yield f"{where}.{key}: expected an id or null"
    if is_absence and not isinstance(alert["excused"], bool):
        yield f"{where}.excused: expected true/false"
    to = alert["to"]
    if not isinstance(to, list) or not to or not all(isinstance(a, str) for a in to):
        yield f"{where}.to: expected a non-empty list of addresses"
    elif any(not EMAIL.match(a) for a in to) or to != sorted(set(to)):
        yield f"{where}.to: addresses must be lower-case, unique and sorted"
    yield from _points_problems(where, alert["points"])


def _sort_key(item: dict) -> tuple[str, str, str]:
    return (item.get("lesson") or "", item.get("student") or "", item.get("kind") or "")


def _list_problems(where: str, items: Any, keys: set[str] | None, check) -> Iterator[str]:
    if not isinstance(items, list):
        yield f"{where}: expected a list"
        return
    for i, item in enumerate(items):
        shape = list(_keys_problems(f"{where}[{i}]", item, keys)) if keys else []
        yield from shape or check(f"{where}[{i}]", item)
    if all(isinstance(item, dict) for item in items) and items != sorted(items, key=_sort_key):
        yield f"{where}: not sorted by (lesson, student, kind)"


def result_problems(doc: Any) -> list[str]:
    """Every way ``doc`` differs from the result.json shape of scenario.md (empty = valid)."""
    problems: list[str] = []
    if not isinstance(doc, dict) or set(doc) != {"runs"} or not isinstance(doc["runs"], list):
        return ["(root): expected {\"runs\": [...]}"]
    for r, run in enumerate(doc["runs"]):
        where = f"runs[{r}]"
        shape = list(_keys_problems(where, run, RUN_KEYS))
        if shape:
            problems += shape
            continue
        try:
            if dt.datetime.fromisoformat(run["at"]).tzinfo is None:
                problems.append(f"{where}.at: no UTC offset")
        except (TypeError, ValueError):
            problems.append(f"{where}.at: not an ISO 8601 instant")
        if isinstance(run["emails"], bool) or not isinstance(run["emails"], int) or run[
                "emails"] < 0:
            problems.append(f"{where}.emails: expected a count")
        problems += _list_problems(f"{where}.marks", run["marks"], MARK_KEYS, _mark_problems)
        problems += _list_problems(f"{where}.skipped", run["skipped"], SKIP_KEYS, _skip_problems)
        problems += _list_problems(f"{where}.alerts", run["alerts"], None, _alert_problems)
    return problems


# --------------------------------------------------------------------------- the validator can fail

_ABSENCE = {"kind": "absence", "lesson": "L1", "student": "s2", "to": ["a@school.lv"],
            "points": ["22", "32"], "excused": False}
_MARK = {"lesson": "L1", "student": "s2", "code": "n", "excused": False, "points": ["30"]}


def _doc(**run: Any) -> dict:
    base = {"at": "2026-11-30T18:00:00+02:00", "marks": [], "skipped": [], "alerts": [],
            "emails": 0}
    base.update(run)
    return {"runs": [base]}


@pytest.mark.parametrize(("doc", "fragment"), [
    pytest.param({"runs": [], "extra": 1}, "(root)", id="extra-top-key"),
    pytest.param(_doc(at="2026-11-30T18:00:00"), "no UTC offset", id="naive-at"),
    pytest.param(_doc(emails=-1), "emails", id="negative-emails"),
    pytest.param(_doc(marks=[{**_MARK, "code": "8"}]), "only 'n'", id="mark-not-n"),
    pytest.param(_doc(marks=[{**_MARK, "points": ["43", "30"]}]), "sorted numerically",
                 id="points-unsorted"),
    pytest.param(_doc(marks=[{**_MARK, "points": ["99"]}]), "unknown point", id="unknown-point"),
    pytest.param(_doc(marks=[{**_MARK, "student": "s3"}, _MARK]), "not sorted",
                 id="marks-unsorted"),
    pytest.param(_doc(marks=[{k: v for k, v in _MARK.items() if k != "excused"}]), "keys",
                 id="mark-without-excused"),
    pytest.param(_doc(skipped=[{"lesson": "L1", "student": "s2", "why": "offline"}]),
                 "unknown reason", id="unknown-skip-reason"),
    pytest.param(_doc(alerts=[{k: v for k, v in _ABSENCE.items() if k != "excused"}]), "keys",
                 id="absence-without-excused"),
    pytest.param(_doc(alerts=[{**_ABSENCE, "kind": "topic_missing", "points": ["14.2"]}]),
                 "keys", id="excused-on-other-kind"),
    pytest.param(_doc(alerts=[{**_ABSENCE, "kind": "absent"}]), "keys", id="unknown-kind"),
    pytest.param(_doc(alerts=[{**_ABSENCE, "to": ["b@school.lv", "a@school.lv"]}]),
                 "lower-case, unique and sorted", id="to-unsorted"),
    pytest.param(_doc(alerts=[{**_ABSENCE, "to": ["A@school.lv"]}]),
                 "lower-case, unique and sorted", id="to-upper-case"),
    pytest.param(_doc(alerts=[_ABSENCE, {**_ABSENCE, "kind": "chat_not_registered",
                                         "points": ["30"], "student": "s1"}]),
                 "keys", id="chat-alert-with-excused"),
])
def test_validator_rejects_malformed_results(doc: dict, fragment: str) -> None:
    problems = result_problems(doc)
    assert problems, "the validator accepted a malformed document"
    assert any(fragment in p for p in problems), problems


def test_validator_accepts_the_documented_example() -> None:
    example = {"runs": [{
        "at": "2026-11-30T18:00:00+02:00",
        "marks": [{"lesson": "L1", "student": "s2", "code": "n", "excused": False,
                   "points": ["30"]}],
        "skipped": [{"lesson": "L1", "student": "s3", "why": "manual_mark"}],
        "alerts": [{"kind": "uzdots_missing", "lesson": "L7", "student": None,
                    "to": ["ilze.kalnina@school.lv"], "points": ["16"]}],
        "emails": 3}]}
    assert result_problems(example) == []


# --------------------------------------------------------------------------- the scenario files


def _scenario_files() -> list[Path]:
    return sorted(p for p in SCENARIOS.glob("*.json") if not p.name.endswith(".expected.json"))


def _expected_path(path: Path) -> Path:
    return path.with_name(path.stem + ".expected.json")


SCENARIO_PARAMS = [pytest.param(p, id=p.stem) for p in _scenario_files()]


def _load_pair(path: Path) -> tuple[Scenario, dict, dict]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    expected = json.loads(_expected_path(path).read_text(encoding="utf-8"))
    return load_scenario(path), raw, expected


def test_there_are_at_least_twelve_scenarios() -> None:
    assert len(_scenario_files()) >= 12


def test_every_expected_file_belongs_to_a_scenario() -> None:
    stems = {p.stem for p in _scenario_files()}
    orphans = [p.name for p in SCENARIOS.glob("*.expected.json")
               if p.name.removesuffix(".expected.json") not in stems]
    assert orphans == []


@pytest.mark.parametrize("path", SCENARIO_PARAMS)
def test_scenario_loads_and_expected_has_result_shape(path: Path) -> None:
    assert _expected_path(path).is_file(), f"{path.name} has no expected file"
    _, _, expected = _load_pair(path)
    assert result_problems(expected) == []


@pytest.mark.parametrize("path", SCENARIO_PARAMS)
def test_expected_runs_are_the_scenario_runs(path: Path) -> None:
    scenario, raw, expected = _load_pair(path)
    assert [run["at"] for run in expected["runs"]] == raw["runs"]
    assert [dt.datetime.fromisoformat(run["at"]) for run in expected["runs"]] == scenario.runs


@pytest.mark.parametrize("path", SCENARIO_PARAMS)
def test_expected_items_refer_to_the_scenario(path: Path) -> None:
    scenario, _, expected = _load_pair(path)
    lessons = {lesson.id: lesson for lesson in scenario.lessons}
    students = {s.id: s for s in scenario.students}
    addresses = {t.email.lower() for t in scenario.teachers} | {
        a.lower() for a in scenario.school.oversight}
    for run in expected["runs"]:
        for item in run["marks"] + run["skipped"] + run["alerts"]:
            assert item["lesson"] is None or item["lesson"] in lessons, item
            assert item["student"] is None or item["student"] in students, item
            if item["lesson"] and item["student"]:
                lesson = lessons[item["lesson"]]
                modes = {lesson.mode, *(c.mode for c in lesson.changes if c.mode)}
                assert modes != {"in_person"}, item  # remote at some time (journal changes)
                groups = {lesson.group} | {
                    other.group for other in scenario.lessons
                    if other.date == lesson.date and other.start == lesson.start}
                student = students[item["student"]]  # home group or one of its other groups
                assert {student.group, *student.other_groups} & groups, item
        for alert in run["alerts"]:
            assert set(alert["to"]) <= addresses, alert


@pytest.mark.parametrize("path", SCENARIO_PARAMS)
def test_every_mark_has_its_absence_alert(path: Path) -> None:
    """docs/POLICY.md: every "n" written gives one absence item to the class teacher (p. 22, 32)."""
    scenario, _, expected = _load_pair(path)
    class_teacher = {g.id: g.class_teacher for g in scenario.groups}
    emails = {t.id: t.email.lower() for t in scenario.teachers}
    for run in expected["runs"]:
        absences = {(a["lesson"], a["student"]): a for a in run["alerts"]
                    if a["kind"] == "absence"}
        assert set(absences) == {(m["lesson"], m["student"]) for m in run["marks"]}
        for mark in run["marks"]:
            alert = absences[(mark["lesson"], mark["student"])]
            group = scenario.student(mark["student"]).group
            assert alert["excused"] == mark["excused"]
            assert alert["to"] == [emails[class_teacher[group]]]


@pytest.mark.parametrize("path", SCENARIO_PARAMS)
def test_emails_are_distinct_recipients_per_run(path: Path) -> None:
    _, _, expected = _load_pair(path)
    for run in expected["runs"]:
        assert run["emails"] == len({a for alert in run["alerts"] for a in alert["to"]})


@pytest.mark.parametrize("path", SCENARIO_PARAMS)
def test_scenario_avoids_unplanned_digests(path: Path) -> None:
    """Only the documented UZDOTS scenario runs on a Friday at or after 15:00 (weekly digest)."""
    scenario = load_scenario(path)
    late_fridays = [r for r in scenario.runs
                    if r.weekday() == 4 and r.time() >= dt.time(15, 0)]
    assert not late_fridays or path.stem == "07_uzdots_weekend"


@pytest.mark.parametrize("path", SCENARIO_PARAMS)
def test_readme_explains_the_scenario(path: Path) -> None:
    readme = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    assert f"## {path.stem} " in readme


def test_scenarios_cover_every_alert_kind() -> None:
    kinds = set()
    for path in _scenario_files():
        expected = json.loads(_expected_path(path).read_text(encoding="utf-8"))
        kinds |= {a["kind"] for run in expected["runs"] for a in run["alerts"]}
    assert kinds == ALERT_KINDS


def test_some_scenario_reruns_the_same_instant_and_expects_nothing() -> None:
    found = False
    for path in _scenario_files():
        expected = json.loads(_expected_path(path).read_text(encoding="utf-8"))
        runs = expected["runs"]
        for before, after in zip(runs, runs[1:], strict=False):
            if before["at"] == after["at"]:
                found = True
                assert (after["marks"], after["alerts"], after["emails"]) == ([], [], 0)
    assert found


# --------------------------------------------------------------------------- the demo school


@pytest.fixture(scope="module")
def demo() -> Scenario:
    return load_scenario(DEMO_SCHOOL)


def test_demo_school_composition(demo: Scenario) -> None:
    assert (len(demo.groups), len(demo.teachers)) == (3, 4)
    assert 15 <= len(demo.students) <= 20
    class_hours = {s.id for s in demo.subjects if s.kind == "class_hour"}
    assert len({lesson.group for lesson in demo.lessons if lesson.subject in class_hours}) == 1
    assert any(s.kind == "qualification_practice" for s in demo.subjects)
    week = [lesson for lesson in demo.lessons if lesson.date >= dt.date(2026, 11, 30)]
    assert {lesson.date for lesson in week} == {
        dt.date(2026, 11, 30) + dt.timedelta(days=i) for i in range(5)}
    assert {lesson.mode for lesson in week} == {"in_person", "remote_sync", "remote_async"}


def test_demo_school_uses_every_platform(demo: Scenario) -> None:
    texts = " ".join(lesson.uzdots.text for lesson in demo.lessons if lesson.uzdots)
    for link in ("zoom.us/j/", "teams.microsoft.com/l/meetup-join/", "meet.google.com/",
                 "skolo.lv/mod/assign/view.php?id=", "uzdevumi.lv/", "soma.lv/"):
        assert link in texts, link
    assert demo.zoom.meetings and demo.teams.meetings and demo.meet.conferences
    assert demo.moodle.submissions and demo.uzdevumi.rows and demo.soma.rows
    uuids = [i.uuid for m in demo.zoom.meetings for i in m.instances]
    assert any(u.startswith("/") for u in uuids) and any("//" in u for u in uuids)
    assert {n.kind for n in demo.notices} == {"illness", "other", "tech_problem"}
    assert any(s.offline_mode for s in demo.students)


def test_demo_school_runs(demo: Scenario) -> None:
    riga = [r.isoformat() for r in demo.runs]
    assert riga[0] == "2026-11-27T17:05:00+02:00"
    daily = {f"2026-{d}T18:00:00+02:00" for d in ("11-30", "12-01", "12-02", "12-03", "12-04")}
    assert daily <= set(riga)
    assert len(riga) == len(set(riga)) + 1  # exactly one repeated instant


def test_demo_school_people_are_synthetic_addresses(demo: Scenario) -> None:
    assert all(t.email.endswith("@school.lv") for t in demo.teachers)
    assert all(s.email.endswith("@audzekni.school.lv") for s in demo.students)
    assert all(a.endswith(".school.lv") or a.endswith("@school.lv") for a in demo.school.oversight)
