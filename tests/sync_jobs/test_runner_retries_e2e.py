"""The run's summary line counts the HTTP retries (issue 11): 429, 5xx, no answer, 401."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from sandbox.faults import FaultPlan
from sandbox.scenario import load_scenario
from sandbox.stack import start_sandboxes, to_toml
from sync_jobs.cli import main

PRESENCE = Path(__file__).parents[1] / "scenarios" / "01_sync_presence_rerun.json"

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _no_host_secrets(monkeypatch):
    monkeypatch.setenv("KARTIBA_SECRETS_DIR", "/nonexistent")


@pytest.mark.parametrize(("faults", "line"), [
    pytest.param({}, None, id="no-retry-no-count"),
    pytest.param({"http_503": 1.0}, "http_retries=2", id="two-503s"),
])
def test_summary_line_counts_retries(tmp_path, capsys, faults, line) -> None:
    scenario = load_scenario(PRESENCE)
    with ExitStack() as stack:
        boxes = start_sandboxes(scenario, tmp_path, stack)
        config = tmp_path / "kartiba.toml"
        config.write_text(to_toml(boxes.settings_tree), encoding="utf-8")
        boxes.world.set_now(scenario.runs[-1])
        if faults:
            boxes.zoom.faults = FaultPlan(3, faults, max_faults=2)
        assert main(["--config", str(config), "run", "--now", scenario.runs[-1].isoformat(),
                     "attendance"]) == 0
    out = capsys.readouterr().out
    summary = next(x for x in out.splitlines() if x.startswith("kartiba run "))
    if line is None:
        assert "http_retries" not in summary
    else:
        assert line in summary.split()
