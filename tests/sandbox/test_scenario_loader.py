"""The scenario v1 loader: strict keys with JSON paths, JSON and YAML, references checked."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from sandbox.scenario import (
    MarkAt,
    ScenarioError,
    lesson_at,
    load_scenario,
    marks_at,
    parse_scenario,
    uzdots_at,
)

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


# --------------------------------------------------------------------------- additions to v1

T0 = "2026-11-27T12:00:00+02:00"


@pytest.mark.parametrize(("data", "needle"), [
    pytest.param(changed(["students", 0, "other_groups"], ["g9"]),
                 "students[0].other_groups[0]: unknown group", id="other-group-unknown"),
    pytest.param(changed(["students", 0, "other_groups"], ["g1"]),
                 "students[0].other_groups[0]: the student's home group", id="other-group-home"),
    pytest.param(changed(["lessons", 0, "added_at"], "2026-11-25T10:00:00"),
                 "lessons[0].added_at", id="added-at-naive"),
    pytest.param(changed(["lessons", 0, "changes"], [{"at": T0, "room": "A"}]),
                 "lessons[0].changes[0].room: unknown key", id="change-unknown-key"),
    pytest.param(changed(["lessons", 0, "changes"], [{"at": T0, "mode": "hybrid"}]),
                 "lessons[0].changes[0].mode", id="change-bad-mode"),
    pytest.param(changed(["lessons", 0, "changes"], [{"at": T0, "start": "9:5"}]),
                 "lessons[0].changes[0].start", id="change-bad-hhmm"),
    pytest.param(changed(["lessons", 0, "changes"], [{"at": T0, "end": "08:30"}]),
                 "lessons[0].changes[0]: lesson must end after it starts", id="change-ends-early"),
    pytest.param(changed(["lessons", 0, "changes"], [{"mode": "in_person"}]),
                 "lessons[0].changes[0].at", id="change-without-at"),
    pytest.param(changed(["lessons", 0, "changes"],
                         [{"at": T0, "cancelled": True},
                          {"at": "2026-11-26T12:00:00+02:00", "cancelled": False}]),
                 "lessons[0].changes: must be in chronological order", id="changes-out-of-order"),
    pytest.param(changed(["lessons", 0, "uzdots"],
                         {"text": "x", "created_at": T0,
                          "edits": [{"at": "2026-11-26T12:00:00+02:00", "text": "y"}]}),
                 "lessons[0].uzdots.edits[0].at: before the entry's created_at",
                 id="edit-before-created"),
    pytest.param(changed(["lessons", 0, "uzdots"],
                         {"text": "x", "created_at": T0, "edits": [{"at": T0, "txt": "y"}]}),
                 "lessons[0].uzdots.edits[0].txt: unknown key", id="edit-unknown-key"),
    pytest.param(changed(["lessons", 0, "journal_edits"],
                         [{"student": "s9", "by": "t1", "at": T0, "code": "5"}]),
                 "lessons[0].journal_edits[0].student: unknown student", id="edit-unknown-student"),
    pytest.param(changed(["lessons", 0, "journal_edits"],
                         [{"student": "s1", "by": "t9", "at": T0, "code": "5"}]),
                 "lessons[0].journal_edits[0].by: unknown teacher", id="edit-unknown-person"),
    pytest.param(changed(["lessons", 0, "journal_edits"],
                         [{"student": "s1", "by": "t1", "at": T0}]),
                 "lessons[0].journal_edits[0].code", id="edit-code-required"),
    pytest.param(changed(["notices", 0, "withdrawn_at"], "2026-11-30T07:00:00+02:00"),
                 "notices[0].withdrawn_at: before received_at", id="withdrawn-before-received"),
    pytest.param(changed(["notices"], [{**BASE["notices"][0], "id": "n1"},
                                       {**BASE["notices"][0], "id": "n1"}]),
                 "duplicate notice id 'n1'", id="duplicate-notice-id"),
])
def test_bad_additions_are_named_by_path(data, needle):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, "world.json")
    assert needle in str(err.value)


def test_files_without_additions_mean_what_they_meant():
    world = parse_scenario(BASE)
    lesson = world.lessons[0]
    assert (lesson.added_at, lesson.changes, lesson.journal_edits) == (None, [], [])
    assert world.students[0].other_groups == []
    assert world.notices[0].withdrawn_at is None and world.notices[0].id is None


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_lesson_reads_as_the_journal_shows_it_at_each_instant():
    data = changed(["lessons", 0, "added_at"], "2026-11-25T10:00:00+02:00")
    data["lessons"][0]["changes"] = [
        {"at": T0, "mode": "remote_async", "start": "10:00", "end": "10:45"},
        {"at": "2026-11-30T12:00:00+02:00", "cancelled": True}]
    row = parse_scenario(data).lessons[0]
    assert lesson_at(row, at("2026-11-25T09:59:00+02:00")) is None
    first = lesson_at(row, at("2026-11-25T10:00:00+02:00"))
    assert (first.start, first.mode, first.cancelled, first.modified_at) == (
        "09:00", "remote_sync", False, None)
    moved = lesson_at(row, at(T0))
    assert (moved.start, moved.end, moved.mode, moved.cancelled) == (
        "10:00", "10:45", "remote_async", False)
    gone = lesson_at(row, at("2026-11-30T18:00:00+02:00"))
    assert (gone.start, gone.cancelled, gone.modified_at) == (
        "10:00", True, at("2026-11-30T12:00:00+02:00"))


def test_uzdots_edits_and_marks_replay_in_time_order():
    data = copy.deepcopy(BASE)
    data["lessons"][0]["uzdots"] = {
        "text": "a", "created_at": "2026-11-26T10:00:00+02:00", "attachments": ["k.pdf"],
        "edits": [{"at": T0, "text": "b"}]}
    data["lessons"][0]["journal_edits"] = [
        {"student": "s1", "by": "t1", "at": "2026-11-30T12:00:00+02:00", "code": None}]
    row = parse_scenario(data).lessons[0]
    before = uzdots_at(row.uzdots, at("2026-11-27T11:59:00+02:00"))
    after = uzdots_at(row.uzdots, at(T0))
    assert (before.text, before.modified_at) == ("a", None)
    assert (after.text, after.attachments, after.modified_at) == ("b", ("k.pdf",), at(T0))
    ours = [MarkAt("s1", "n", "kartiba", at("2026-11-30T10:20:00+02:00"), excused=False)]
    assert [m.code for m in marks_at(row, at("2026-11-30T11:00:00+02:00"), ours)] == ["n"]
    assert marks_at(row, at("2026-11-30T12:00:00+02:00"), ours) == []
