"""The scenario v1 loader: strict keys with JSON paths, JSON and YAML, references checked."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from sandbox.scenario import ScenarioError, load_scenario, parse_scenario

BASE = {
    "version": 1,
    "school": {"name": "S", "oversight": ["d@s.lv"]},
    "teachers": [{"id": "t1", "name": "Ilze Kalniņa", "email": "i@s.lv"}],
    "groups": [{"id": "g1", "name": "ET-22", "class_teacher": "t1"}],
    "students": [{"id": "s1", "group": "g1", "first_name": "Jānis", "last_name": "Bērziņš"}],
    "subjects": [{"id": "m1", "name": "E", "planned_hours": {"g1": 120}}],
    "lessons": [{"id": "L1", "group": "g1", "subject": "m1", "teacher": "t1",
                 "date": "2026-11-30", "number": 2, "start": "09:00", "end": "09:45",
                 "mode": "remote_sync"}],
    "notices": [{"student": "s1", "kind": "illness", "from": "2026-11-30", "to": "2026-11-30",
                 "received_at": "2026-11-30T07:40:00+02:00", "agreement": None,
                 "new_due": None}],
    "runs": ["2026-11-30T18:00:00+02:00"],
}


def changed(path: list, value) -> dict:
    data = copy.deepcopy(BASE)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(("data", "needle"), [
    pytest.param(changed(["lessons", 0, "room"], "A1"), "lessons[0].room: unknown key",
                 id="unknown-lesson-key"),
    pytest.param(changed(["zoom"], {"meetings": [], "webinars": []}),
                 "zoom.webinars: unknown key", id="unknown-nested-key"),
    pytest.param(changed(["lessons", 0, "end"], "08:00"), "lessons[0].end", id="ends-before-start"),
    pytest.param(changed(["lessons", 0, "start"], "9:00"), "lessons[0].start", id="bad-hhmm"),
    pytest.param(changed(["lessons", 0, "mode"], "hybrid"), "lessons[0].mode", id="bad-mode"),
    pytest.param(changed(["students", 0, "group"], "g9"), "unknown group", id="dangling-group"),
    pytest.param(changed(["runs"], ["2026-11-30T18:00:00"]), "offset", id="naive-run"),
    pytest.param(changed(["runs"], ["2026-12-01T18:00:00+02:00", "2026-11-30T18:00:00+02:00"]),
                 "chronological", id="runs-out-of-order"),
    pytest.param(changed(["version"], 2), "version", id="version"),
])
def test_bad_scenarios_are_named_by_path(data, needle):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, "world.json")
    assert needle in str(err.value)
    assert "world.json" in str(err.value)


def test_json_and_yaml_load_the_same_world(tmp_path: Path):
    as_json = tmp_path / "w.json"
    as_yaml = tmp_path / "w.yaml"
    as_json.write_text(json.dumps(BASE), encoding="utf-8")
    as_yaml.write_text(yaml.safe_dump(BASE, allow_unicode=True), encoding="utf-8")
    assert load_scenario(as_json) == load_scenario(as_yaml)
    assert load_scenario(as_yaml).notices[0].from_.isoformat() == "2026-11-30"


def test_chat_absent_differs_from_empty():
    meeting = {"id": "1", "host": "t1", "instances": [
        {"uuid": "a", "start": "2026-11-30T09:00:00+02:00", "end": "2026-11-30T09:45:00+02:00"},
        {"uuid": "b", "start": "2026-11-30T10:00:00+02:00", "end": "2026-11-30T10:45:00+02:00",
         "chat": []}]}
    world = parse_scenario(changed(["zoom"], {"meetings": [meeting]}))
    assert world.zoom.meetings[0].instances[0].chat is None
    assert world.zoom.meetings[0].instances[1].chat == []


def test_broken_json_is_a_scenario_error(tmp_path: Path):
    path = tmp_path / "w.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenario(path)
