"""CLI tests run the installed ``kartiba`` command as a process, against loopback stand-ins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.scenario import load_scenario
from sandbox.stack import start_sandboxes, to_toml

SCENARIOS = Path(__file__).parents[1] / "scenarios"
PRESENCE = SCENARIOS / "01_sync_presence_rerun.json"
KARTIBA = Path(sys.executable).parent / "kartiba"


@dataclass
class Result:
    """A finished ``kartiba`` process."""

    rc: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def kartiba(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> Result:
    """Run the installed command; the environment has no host settings or secrets."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KARTIBA_")}
    base |= {"KARTIBA_SECRETS_DIR": "/nonexistent", "KARTIBA_CONFIG": "/nonexistent/k.toml"}
    base.pop("CREDENTIALS_DIRECTORY", None)
    proc = subprocess.run([str(KARTIBA), *args], capture_output=True, text=True,
                          env=base | (env or {}), cwd=cwd, timeout=timeout, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def world(tmp_path):
    """Scenario 01 served on loopback; ``config`` points kartiba at it."""
    scenario = load_scenario(PRESENCE)
    with ExitStack() as stack:
        boxes = start_sandboxes(scenario, tmp_path, stack)
        config = tmp_path / "kartiba.toml"
        config.write_text(to_toml(boxes.settings_tree), encoding="utf-8")
        boxes.world.set_now(scenario.runs[-1])
        yield boxes, config, scenario


def settings_env(tree: dict, prefix: str = "KARTIBA_") -> dict[str, str]:
    """A settings tree as KARTIBA_<SECTION>__<FIELD> variables (lists/objects as JSON)."""
    env: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key.upper()}"
        if isinstance(value, dict) and key != "policy":
            env |= settings_env(value, name + "__")
        elif isinstance(value, dict | list | bool | int | float):
            env[name] = json.dumps(value)
        else:
            env[name] = str(value)
    return env
