"""``kartiba status``: the state store's overview, read-only (works on a read-only disk too)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mappings.calendar import to_riga
from sync_jobs.state import StateStore


class StatusError(OSError):
    """The state store cannot be read at all."""


def _connect(path: Path) -> sqlite3.Connection:
    """A read-only connection; ``immutable`` when even the WAL index cannot be created."""
    if not path.exists():
        raise StatusError(f"{path} does not exist yet (no run has happened)")
    errors = []
    for query in ("mode=ro", "mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(f"file:{path}?{query}", uri=True, timeout=10,
                                   isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error as exc:
            errors.append(str(exc))
    raise StatusError(f"{path} cannot be read: {errors[-1]}")


def read_status(path: Path) -> dict[str, Any]:
    """The overview dict of :meth:`StateStore.status`, read without writing anything."""
    conn = _connect(Path(path))
    try:
        return StateStore(conn, Path(path)).status()
    finally:
        conn.close()


def _when(value: dt.datetime | None) -> str:
    return f"{to_riga(value):%Y-%m-%d %H:%M} Riga" if value else "-"


def _run_line(run: dict[str, Any]) -> str:
    counts = run.get("counts") or {}
    dry = " DRY RUN" if counts.get("dry_run") else ""
    state = "" if run.get("finished_at") else " (unfinished)"
    shown = " ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v and k != "dry_run")
    jobs = ",".join(run.get("jobs") or []) or "-"
    return (f"  {_when(run.get('started_at'))}  {run['run_id']}{dry}{state}  [{jobs}]  "
            f"{shown or 'nothing to do'}")


def status_lines(status: dict[str, Any]) -> Iterator[str]:
    """The readable view: store, lock, last runs (dry runs marked), outbox, alerts."""
    yield f"state store: {status['path']} (schema v{status['schema_version']})"
    lock = status.get("lock")
    if lock:
        yield (f"run lock: held by run {lock['run_id']} (pid {lock['pid']} on {lock['host']}) "
               f"since {_when(lock['started_at'])}")
    else:
        yield "run lock: free"
    yield "last runs:" if status["last_runs"] else "last runs: none yet"
    for run in status["last_runs"]:
        yield _run_line(run)
    outbox = " ".join(f"{k}={v}" for k, v in sorted(status["outbox"].items())) or "empty"
    yield f"marks outbox: {outbox}"
    alerts = status["alerts"]
    yield f"alerts: {alerts['sent']} sent, {alerts['pending']} pending"
    yield f"lessons judged final: {status['lessons_final']}"
