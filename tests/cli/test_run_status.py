"""``kartiba run`` and ``status`` as an admin sees them: counts, JSON, dry runs, the lock."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from sync_jobs.state import StateStore
from tests.cli.conftest import kartiba


def _state(boxes) -> Path:
    return Path(boxes.settings_tree["state"]["path"])


def test_run_line_counts_new_alerts_and_mails_only(world):
    boxes, config, scenario = world
    at = scenario.runs[-1].isoformat()
    first = kartiba("--config", str(config), "run", "--now", at, "attendance")
    assert first.rc == 0, first.err
    assert "alerts=" in first.out and "emails=" in first.out
    again = kartiba("--config", str(config), "run", "--now", at, "attendance")
    assert again.rc == 0
    assert "alerts=" not in again.out and "emails=" not in again.out, again.out


def test_run_json(world):
    boxes, config, scenario = world
    result = kartiba("--config", str(config), "run", "--json", "--now",
                     scenario.runs[-1].isoformat(), "attendance")
    data = result.json()
    assert result.rc == 0 and data["failed"] is False and data["counts"]["marks_written"] >= 1


def test_status_text_marks_dry_runs_and_json(world):
    boxes, config, scenario = world
    at = scenario.runs[-1].isoformat()
    assert kartiba("--config", str(config), "run", "--dry-run", "--now", at, "attendance").rc == 0
    assert kartiba("--config", str(config), "run", "--now", at, "attendance").rc == 0
    text = kartiba("--config", str(config), "status")
    assert text.rc == 0
    runs = [line for line in text.out.splitlines() if line.startswith("  ")]
    assert len(runs) == 2 and sum("DRY RUN" in line for line in runs) == 1, text.out
    dry = next(line for line in runs if "DRY RUN" in line)
    assert "marks_proposed=3" in dry and "marks_written" not in dry
    assert "run lock: free" in text.out and "marks outbox:" in text.out
    data = kartiba("--config", str(config), "status", "--json").json()
    assert data["outbox"]["written"] >= 1
    assert sorted(r["counts"].get("dry_run", 0) for r in data["last_runs"]) == [0, 1]


def test_backfill_prints_totals_and_fails_when_a_day_failed(world):
    boxes, config, scenario = world
    ok = kartiba("--config", str(config), "run", "attendance", "--from", "2026-11-29",
                 "--to", "2026-11-30")
    assert ok.rc == 0, ok.err
    assert ok.out.startswith("kartiba backfill 2026-11-29..2026-11-30: 2/2 day(s)")
    boxes.zoom.stop()
    state = _state(boxes)
    with StateStore.open(state) as store:  # judge again: forget the lesson
        store._conn.execute("DELETE FROM lessons")
    failed = kartiba("--config", str(config), "run", "attendance", "--from", "2026-11-30",
                     "--to", "2026-11-30", "--json")
    assert failed.rc == 1
    assert failed.json()["failed_days"] == ["2026-11-30"]


def test_lock_held_longer_than_a_run_may_last_is_loud_and_mailed_once_a_day(world):
    """Issue 15 #5: a stuck run is not a silent 'another run is in progress' for ever."""
    boxes, config, scenario = world
    now = scenario.runs[-1]
    holder = StateStore.open(_state(boxes))
    try:
        assert holder.acquire_lock("stuck-run", now - dt.timedelta(hours=2))
        fresh = kartiba("--config", str(config), "run", "--now",
                        (now - dt.timedelta(hours=2, minutes=-5)).isoformat())
        assert fresh.rc == 0 and "another run is in progress" in fresh.out
        assert boxes.smtp.messages == []
        late = kartiba("--config", str(config), "run", "--now", now.isoformat())
        assert late.rc == 1
        assert "held by run stuck-run" in late.err and "max_run_s" in late.err
        assert kartiba("--config", str(config), "run", "--now", now.isoformat()).rc == 1
        alarms = [m for m in boxes.smtp.messages if "run lock" in m.message["Subject"]]
        assert len(alarms) == 1
        assert set(alarms[0].rcpt_tos) == set(scenario.school.oversight)
        status = kartiba("--config", str(config), "status")
        assert "held by run stuck-run" in status.out
    finally:
        holder.release_lock("stuck-run")
        holder.close()


def _unshare_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


needs_unshare = pytest.mark.skipif(not _unshare_available(),
                                   reason="needs unshare -m (mount namespace) to make a "
                                          "read-only or full file system")


def _in_namespace(setup: str, command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    from tests.cli.conftest import KARTIBA

    script = f"{setup} && exec \"$@\""
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(KARTIBA), *command],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@needs_unshare
def test_read_only_state_store_one_line_and_status_still_reads(tmp_path):
    import os

    folder = tmp_path / "state"
    folder.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("KARTIBA_")},
           "KARTIBA_STATE__PATH": str(folder / "state.sqlite"),
           "KARTIBA_CONFIG": "/nonexistent", "KARTIBA_SECRETS_DIR": "/nonexistent"}
    with StateStore.open(folder / "state.sqlite") as store:
        store.start_run("r1", dt.datetime(2026, 12, 1, 18, tzinfo=dt.UTC), ["attendance"])
    ro = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
    status = _in_namespace(ro, ["status"], env)
    assert status.returncode == 0, status.stderr
    assert "r1" in status.stdout
    purge = _in_namespace(ro, ["purge"], env)
    assert purge.returncode == 1 and "Traceback" not in purge.stderr
    assert len(purge.stderr.strip().splitlines()) == 1
    assert "read-only" in purge.stderr


@needs_unshare
def test_full_disk_under_the_state_store_is_one_line(tmp_path):
    import os

    folder = tmp_path / "full"
    folder.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("KARTIBA_")},
           "KARTIBA_STATE__PATH": str(folder / "state.sqlite"),
           "KARTIBA_CONFIG": "/nonexistent", "KARTIBA_SECRETS_DIR": "/nonexistent"}
    full = (f"mount -t tmpfs -o size=12k tmpfs {folder} && "
            f"dd if=/dev/zero of={folder}/filler bs=1k count=64 2>/dev/null; true")
    purge = _in_namespace(full, ["purge"], env)
    assert purge.returncode == 1 and "Traceback" not in purge.stderr, purge.stderr
    assert len(purge.stderr.strip().splitlines()) == 1
    assert "disk is full" in purge.stderr


def test_a_password_in_a_url_setting_is_never_printed(world):
    """Issue 15 #13: ``user:password@`` in a URL setting is scrubbed from run and check output."""
    boxes, config, scenario = world
    env = {"KARTIBA_EKLASE__ENDPOINT": "http://kartiba:hunter2@127.0.0.1:9/journal",
           "KARTIBA_LOG_LEVEL": "DEBUG"}
    run = kartiba("--config", str(config), "run", "--now", scenario.runs[-1].isoformat(),
                  env=env)
    check = kartiba("--config", str(config), "check", env=env)
    assert run.rc != 0 and check.rc != 0
    for text in (run.out, run.err, check.out, check.err):
        assert "hunter2" not in text
