"""No wrong "n" from the outbox: a pending "n" whose lesson was cancelled in the meantime is
not written (kārtības 43. p.), through the real SOAP path against the sandbox gateway."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import ExitStack
from pathlib import Path

import pytest

from sandbox.scenario import load_scenario
from sandbox.stack import start_sandboxes, to_toml
from sync_jobs.cli import main
from sync_jobs.state import StateStore

pytestmark = pytest.mark.e2e

SCENARIO = Path(__file__).parents[1] / "scenarios" / "01_sync_presence_rerun.json"
RUN = dt.datetime.fromisoformat("2026-11-30T18:00:00+02:00")
KEYS = ("L1:s2", "L1:s3", "L1:s6")


@pytest.fixture(autouse=True)
def _no_host_secrets(monkeypatch):
    monkeypatch.setenv("KARTIBA_SECRETS_DIR", "/nonexistent")


@pytest.fixture
def cancelled_next_day(tmp_path):
    """Scenario 01 with L1 cancelled in the journal from Tuesday 08:00 on."""
    data = json.loads(SCENARIO.read_text(encoding="utf-8"))
    data["lessons"][0]["changes"] = [{"at": "2026-12-01T08:00:00+02:00", "cancelled": True}]
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with ExitStack() as stack:
        boxes = start_sandboxes(load_scenario(path), tmp_path, stack)
        config = tmp_path / "kartiba.toml"
        config.write_text(to_toml(boxes.settings_tree), encoding="utf-8")
        yield boxes, config


def run(boxes, config: Path, at: dt.datetime) -> int:
    boxes.world.set_now(at)
    return main(["--config", str(config), "run", "--now", at.isoformat(), "attendance"])


def test_pending_mark_of_a_cancelled_lesson_is_not_written(cancelled_next_day):
    boxes, config = cancelled_next_day
    boxes.eklase.locked_lessons.add("L1")  # Monday: the page is locked, the "n" wait
    assert run(boxes, config, RUN) == 0
    boxes.eklase.locked_lessons.clear()
    assert run(boxes, config, RUN + dt.timedelta(days=1)) == 0  # Tuesday: L1 is cancelled
    assert [w for w in boxes.eklase.writes if w["status"] == "created"] == []
    with StateStore.open(Path(boxes.settings_tree["state"]["path"])) as store:
        rows = [store.outbox_row(k) for k in KEYS]
    assert {(r.status, r.last_error) for r in rows} == {("refused", "lesson_changed")}
