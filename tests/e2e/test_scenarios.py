"""Acceptance: ``kartiba demo`` on each scenario gives exactly the expected result.json.

The expected files were computed by hand from the policy of docs/POLICY.md (tests/scenarios/README.md
explains each item); the demo runs the real jobs and connectors over loopback sockets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync_jobs.cli import main

SCENARIOS = Path(__file__).parents[1] / "scenarios"
CASES = sorted(p for p in SCENARIOS.glob("*.json") if not p.name.endswith(".expected.json"))


@pytest.mark.e2e
@pytest.mark.parametrize("scenario", [pytest.param(p, id=p.stem) for p in CASES])
def test_demo_matches_expected(scenario: Path, tmp_path: Path):
    expected = json.loads(scenario.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert main(["demo", "--scenario", str(scenario), "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert [r["at"] for r in result["runs"]] == [r["at"] for r in expected["runs"]]
    for got, want in zip(result["runs"], expected["runs"], strict=True):
        assert got == want, f"run at {want['at']}"
