"""Runs and the run lock.

The run lock has two layers:

* an ``fcntl.flock`` on ``<db>.lock``, taken without blocking. The kernel drops it when the
  owning process ends in any way, SIGKILL included, so it cannot go stale on this host; it is
  the authority for runs on the same host;
* a row (``run_lock``) naming the owner's run id, PID, host and start time, for operators and
  for a database shared between hosts (where flock may not reach): a row of another host is
  honoured until it is older than ``stale_after_s``. A row of this host whose process is
  gone (its PID is not alive, or it no longer holds the flock) is recovered at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

from sync_jobs.state._db import Database, from_ts, ts

log = logging.getLogger("kartiba.state")


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_flock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


class RunLock(Database):
    """The run lock (flock + lock row)."""

    _lock_fd: int | None = None
    _lock_run: str | None = None

    @property
    def lock_path(self) -> Path:
        """The flock file next to the database."""
        return Path(f"{self.path}.lock")

    def acquire_lock(self, run_id: str, now: dt.datetime, stale_after_s: int = 3600) -> bool:
        """Take the run lock for ``run_id``; False when another run holds it.

        See the module docstring for how flock and the lock row work together.
        """
        with self._mutex:
            if self._lock_run is not None:
                return self._lock_run == run_id
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                log.info("run %s: another run holds the file lock", run_id)
                return False
            try:
                taken = self._claim_lock_row(run_id, now, stale_after_s)
            except BaseException:
                _drop_flock(fd)
                raise
            if not taken:
                _drop_flock(fd)
                return False
            self._lock_fd, self._lock_run = fd, run_id
            return True

    def _claim_lock_row(self, run_id: str, now: dt.datetime, stale_after_s: int) -> bool:
        host = socket.gethostname()
        with self._tx() as c:
            row = c.execute("SELECT * FROM run_lock WHERE id = 1").fetchone()
            if row is not None and row["run_id"] != run_id:
                age = (now - from_ts(row["started_at"])).total_seconds()
                if row["host"] != host and age <= stale_after_s:
                    log.info("run %s: run %s on another host holds the lock (%.0f s)",
                             run_id, row["run_id"], age)
                    return False
                log.warning("run %s: recovered the lock of run %s (pid %s, alive: %s, %.0f s)",
                            run_id, row["run_id"], row["pid"],
                            row["host"] == host and pid_alive(row["pid"]), age)
            c.execute("INSERT OR REPLACE INTO run_lock (id, run_id, pid, host, started_at) "
                      "VALUES (1, ?, ?, ?, ?)", (run_id, os.getpid(), host, ts(now)))
        return True

    def release_lock(self, run_id: str) -> None:
        """Give the run lock back (no-op when ``run_id`` does not hold it)."""
        with self._mutex:
            with self._tx() as c:
                c.execute("DELETE FROM run_lock WHERE id = 1 AND run_id = ?", (run_id,))
            if self._lock_run == run_id and self._lock_fd is not None:
                _drop_flock(self._lock_fd)
                self._lock_fd, self._lock_run = None, None

    def lock_owner(self) -> dict[str, Any] | None:
        """The lock row (run_id, pid, host, started_at), for the operator; None when free."""
        rows = self._rows("SELECT run_id, pid, host, started_at FROM run_lock WHERE id = 1")
        if not rows:
            return None
        owner = dict(rows[0])
        owner["started_at"] = from_ts(owner["started_at"])
        return owner


class Runs(Database):
    """The record of runs (their start time dates the rows each run writes)."""

    def start_run(self, run_id: str, now: dt.datetime, jobs: list[str]) -> None:
        """Record the start of a run (its time dates the rows the run writes)."""
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO runs (run_id, started_at, jobs) VALUES (?, ?, ?)",
                      (run_id, ts(now), json.dumps(list(jobs))))

    def finish_run(self, run_id: str, now: dt.datetime, counts: dict) -> None:
        """Record the end of a run with its counts (numbers keyed by name).

        Raises:
            KeyError: the run was never started.
        """
        with self._tx() as c:
            cur = c.execute("UPDATE runs SET finished_at = ?, counts = ? WHERE run_id = ?",
                            (ts(now), json.dumps(counts, sort_keys=True, default=str), run_id))
            if cur.rowcount == 0:
                raise KeyError(f"unknown run {run_id}")

    def last_runs(self, n: int) -> list[dict]:
        """The ``n`` most recent runs, newest first."""
        rows = self._rows("SELECT * FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?",
                          (n,))
        return [{"run_id": r["run_id"], "started_at": from_ts(r["started_at"]),
                 "finished_at": from_ts(r["finished_at"]), "jobs": json.loads(r["jobs"]),
                 "counts": json.loads(r["counts"])} for r in rows]
