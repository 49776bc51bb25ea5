"""Issue 16 through the real SOAP path: ``kartiba run`` (zeep client) against the sandbox
journal gateway over loopback, one test per defect, plus the contract's sandbox behaviour."""

from __future__ import annotations

import datetime as dt
import json
import logging
from contextlib import ExitStack
from pathlib import Path

import pytest

from sandbox.faults import FaultPlan
from sandbox.scenario import load_scenario
from sandbox.stack import start_sandboxes, to_toml
from sync_jobs.cli import main
from sync_jobs.state import StateStore

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).parents[1] / "scenarios"
ONE_LESSON = SCENARIOS / "01_sync_presence_rerun.json"  # L1: "n" for s2, s3, s6
TWO_LESSONS = SCENARIOS / "02_sync_chat_registration.json"  # L1: "n" for s4; L2: for s3
RUN = dt.datetime.fromisoformat("2026-11-30T18:00:00+02:00")
ALERTS_HEADER = "X-Kartiba-Alerts"


@pytest.fixture(autouse=True)
def _no_host_secrets(monkeypatch):
    monkeypatch.setenv("KARTIBA_SECRETS_DIR", "/nonexistent")


def _stack(tmp_path: Path, scenario_path: Path, **eklase: object):
    scenario = load_scenario(scenario_path)
    stack = ExitStack()
    boxes = start_sandboxes(scenario, tmp_path, stack)
    tree = boxes.settings_tree
    tree["eklase"].update(eklase)
    config = tmp_path / "kartiba.toml"
    config.write_text(to_toml(tree), encoding="utf-8")
    return stack, boxes, config


@pytest.fixture
def one(tmp_path):
    stack, boxes, config = _stack(tmp_path, ONE_LESSON, use_digest=True)
    with stack:
        yield boxes, config


@pytest.fixture
def two(tmp_path):
    stack, boxes, config = _stack(tmp_path, TWO_LESSONS, use_digest=True)
    with stack:
        yield boxes, config


def run(boxes, config: Path, at: dt.datetime) -> int:
    boxes.world.set_now(at)
    return main(["--config", str(config), "run", "--now", at.isoformat(), "attendance"])


def created(boxes) -> list[tuple[str, str]]:
    return sorted((w["lesson"], w["student"]) for w in boxes.eklase.writes
                  if w["status"] == "created")


def alerts(boxes) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(kind, lesson, student, recipients) of every alert item mailed so far."""
    found: dict[tuple[str, str, str], set[str]] = {}
    for received in boxes.smtp.messages:
        for item in json.loads(received.message[ALERTS_HEADER] or "[]"):
            key = (item["kind"], item["lesson"], item["student"])
            found.setdefault(key, set()).update(received.rcpt_tos)
    return sorted((*key, tuple(sorted(to))) for key, to in found.items())


def outbox(boxes) -> dict[str, tuple[str, str]]:
    with StateStore.open(Path(boxes.settings_tree["state"]["path"])) as store:
        rows = [store.outbox_row(k) for k in ("L1:s2", "L1:s3", "L1:s6")]
    return {r.key: (r.status, r.last_error) for r in rows if r is not None}


# --------------------------------------------------------------------------- defect 1


def test_locked_journal_keeps_marks_pending_then_tells_teacher_and_class_teacher(one):
    boxes, config = one
    boxes.eklase.locked_lessons.add("L1")
    assert run(boxes, config, RUN) == 0
    assert created(boxes) == []
    assert {w["status"] for w in boxes.eklase.writes} == {"refused"}
    assert set(outbox(boxes).values()) == {("pending", "journal_locked")}
    assert alerts(boxes) == []  # no absence alert for an "n" that is not in the journal

    # still in the attendance window: tried again, still pending, still nobody mailed
    tries = len(boxes.eklase.writes)
    assert run(boxes, config, RUN + dt.timedelta(days=3)) == 0
    assert len(boxes.eklase.writes) == 2 * tries
    assert set(outbox(boxes).values()) == {("pending", "journal_locked")}
    assert alerts(boxes) == []

    # the window closed (evaluation 10:15 + 7 days): handed to the people, once
    assert run(boxes, config, RUN + dt.timedelta(days=8)) == 0
    assert created(boxes) == []
    assert set(outbox(boxes).values()) == {("refused", "journal_locked")}
    both = ("andris.liepins@school.lv", "ilze.kalnina@school.lv")
    assert alerts(boxes) == [("mark_not_written", "L1", s, both) for s in ("s2", "s3", "s6")]
    text = boxes.smtp.messages[0].message.get_body(("plain",)).get_content()
    assert "žurnāla lapa bija slēgta labošanai" in text and "22., 32., 43." in text

    writes = len(boxes.eklase.writes)
    assert run(boxes, config, RUN + dt.timedelta(days=9)) == 0
    assert len(boxes.eklase.writes) == writes
    assert len(alerts(boxes)) == 3


def test_locked_journal_opened_within_the_window_gets_the_marks(one):
    boxes, config = one
    boxes.eklase.locked_lessons.add("L1")
    assert run(boxes, config, RUN) == 0
    boxes.eklase.locked_lessons.clear()
    assert run(boxes, config, RUN + dt.timedelta(days=1)) == 0
    assert created(boxes) == [("L1", "s2"), ("L1", "s3"), ("L1", "s6")]
    assert [a[0] for a in alerts(boxes)] == ["absence"] * 3


def test_person_mark_saved_in_between_stays_a_final_skip(one):
    """A manual_mark refusal (a teacher saved a mark after kartiba's read-back) is final."""
    boxes, config = one
    boxes.eklase.racing_marks.add(("L1", "s3"))
    assert run(boxes, config, RUN) == 0
    assert created(boxes) == [("L1", "s2"), ("L1", "s6")]
    with StateStore.open(Path(boxes.settings_tree["state"]["path"])) as store:
        row = store.outbox_row("L1:s3")
    assert (row.status, row.last_error) == ("refused", "manual_mark")
    assert [a[:3] for a in alerts(boxes)] == [("absence", "L1", "s2"), ("absence", "L1", "s6")]
    writes = len(boxes.eklase.writes)
    assert run(boxes, config, RUN + dt.timedelta(days=1)) == 0
    assert len(boxes.eklase.writes) == writes  # never tried again


# --------------------------------------------------------------------------- defect 2


def test_digest_retries_after_transient_faults_are_not_replays(one):
    """PasswordDigest + the sandbox's nonce memory: every retry carries a fresh nonce."""
    boxes, config = one
    boxes.eklase.faults = FaultPlan(7, {"soap": 1.0}, max_faults=4)
    try:
        assert run(boxes, config, RUN) == 0
    finally:
        injected = boxes.eklase.faults.snapshot()
        boxes.eklase.faults = None
    assert injected == {"soap": 4}
    assert created(boxes) == [("L1", "s2"), ("L1", "s3"), ("L1", "s6")]


# --------------------------------------------------------------------------- defect 3


def test_non_transient_fault_is_not_retried_and_named(two, caplog):
    boxes, config = two
    boxes.eklase.forced_faults["SetAttendanceMark"] = ["INTERNAL"]
    with caplog.at_level(logging.WARNING):
        assert run(boxes, config, RUN) == 1  # one mark left for the next run
    assert len(created(boxes)) == 1
    assert boxes.eklase.calls["SetAttendanceMark"] == 1  # the faulted call was not served
    assert "SetAttendanceMark answered a SOAP Fault INTERNAL" in caplog.text
    assert "HTTP 500" not in caplog.text
    assert run(boxes, config, RUN) == 0  # the next run writes it
    assert created(boxes) == [("L1", "s4"), ("L2", "s3")]


def test_unavailable_is_waited_out_within_the_call(two):
    boxes, config = two
    boxes.eklase.forced_faults["GetLessons"] = ["UNAVAILABLE", "UNAVAILABLE"]
    boxes.eklase.forced_faults["SetAttendanceMark"] = ["UNAVAILABLE"]
    assert run(boxes, config, RUN) == 0
    assert created(boxes) == [("L1", "s4"), ("L2", "s3")]


# --------------------------------------------------------------------------- defect 4


def test_lesson_time_without_offset_is_the_gateways_error_and_exits_1(two, caplog):
    boxes, config = two
    boxes.eklase.naive_times.add("L1")
    with caplog.at_level(logging.WARNING):
        assert run(boxes, config, RUN) == 1
    assert created(boxes) == [("L2", "s3")]  # the rest is processed
    assert "system=eklase record=lesson:L1" in caplog.text


def test_unknown_lesson_type_label_is_an_error_never_in_person(two, caplog):
    boxes, config = two
    boxes.eklase.lesson_labels["L1"] = "Hibrīdā"
    with caplog.at_level(logging.WARNING):
        assert run(boxes, config, RUN) == 1
    assert created(boxes) == [("L2", "s3")]
    assert 'lessonType "Hibrīdā" is not in eklase.lesson_types' in caplog.text


# --------------------------------------------------------------------------- defect 5


def test_fault_detail_without_namespace_keeps_its_code(two, caplog):
    boxes, config = two
    boxes.eklase.unqualified_fault_detail = True
    boxes.eklase.forced_faults["SetAttendanceMark"] = ["INTERNAL"]
    with caplog.at_level(logging.WARNING):
        assert run(boxes, config, RUN) == 1
    assert "SOAP Fault INTERNAL" in caplog.text
