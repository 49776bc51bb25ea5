"""The SQLite state store: run lock, runs, lesson results, mark outbox, alert ledger, import
and webhook ledgers, local absence notices, audit log and digest bookkeeping.

One file per installation, created with mode 0600 (it holds ids of students and staff
e-mail addresses), journal mode WAL, foreign keys on, schema migrated by ``PRAGMA
user_version`` (:mod:`sync_jobs.migrations`). Every multi-row write is one transaction
(``BEGIN IMMEDIATE``), so a crash never leaves half a batch. One store object may be shared
by a few threads of one process: a re-entrant lock serialises use of the connection.

The run lock has two layers:

* an ``fcntl.flock`` on ``<db>.lock``, taken without blocking. The kernel drops it when the
  owning process ends in any way, SIGKILL included, so it cannot go stale on this host; it is
  the authority for runs on the same host;
* a row (``run_lock``) naming the owner's run id, PID, host and start time, for operators and
  for a database shared between hosts (where flock may not reach): a row of another host is
  honoured until it is older than ``stale_after_s``. A row of this host whose process is
  gone (its PID is not alive, or it no longer holds the flock) is recovered at once.

Times are stored as UTC ISO strings. Rows that the API gives no time for (audit, outbox,
skips, ledger) take the start time of their run from ``runs``; call :meth:`start_run` first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import logging
import os
import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from connectors.errors import ConfigError
from mappings.model import (
    ActivityRecord,
    Agreement,
    Alert,
    AlertKind,
    Audience,
    Mark,
    Notice,
    NoticeKind,
    Skip,
    Verdict,
    frozen_map,
)
from sync_jobs.migrations import MIGRATIONS
from sync_jobs.state_facts import FactsMixin, LessonFact, QuotaTally  # noqa: F401 - re-exported

log = logging.getLogger("kartiba.state")

MarkStatus = Literal["written", "already_present", "refused", "proposed", "failed"]
MARK_STATUSES: frozenset[str] = frozenset(
    {"pending", "written", "already_present", "refused", "proposed", "failed"})
DONE_STATUSES: frozenset[str] = frozenset({"written", "already_present", "refused", "proposed"})

#: Keys of ``Alert.detail`` whose string values are kept in the ledger (codes, not names).
SAFE_DETAIL_KEYS: frozenset[str] = frozenset({
    "reason", "base_reason", "cause", "platform", "missing", "due", "deadline", "created_at",
    "entered_at", "code", "kind", "state", "mode", "meeting_key", "mark_points",
    "window_start", "window_end", "gap", "gap_detail",
})


class _Addressee(Protocol):
    email: str
    role: str


# --------------------------------------------------------------------------- value types


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxRow:
    """One mark in the outbox (idempotency key = lesson x student)."""

    key: str
    lesson_id: str
    student_id: str
    code: str
    excused: bool
    points: tuple[str, ...]
    reason: str
    status: str
    attempts: int
    last_error: str
    created_run: str
    done_run: str | None

    def to_mark(self) -> Mark:
        """The mark this row stands for."""
        return Mark(self.lesson_id, self.student_id, self.code, self.excused, self.points,
                    self.reason)


@dataclasses.dataclass(frozen=True, slots=True)
class LedgerItem:
    """One alert for one recipient in the ledger (key = kind x lesson x student x recipient)."""

    key: str
    alert: Alert
    recipient: str
    role: str
    status: str
    claimed_run: str
    sent_run: str | None = None
    message_id: str | None = None


# --------------------------------------------------------------------------- helpers


def ts(value: dt.datetime) -> str:
    """An aware datetime as the stored UTC text form.

    Raises:
        ValueError: for a naive datetime.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes stored in the state must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _from_ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _pid_alive(pid: int) -> bool:
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


def ledger_key(alert: Alert, recipient: str) -> str:
    """The ledger key of an alert for one recipient: kind x lesson x student x recipient."""
    return f"{alert.key}:{recipient.strip().lower()}"


def _storable(key: str, value: object) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return key in SAFE_DETAIL_KEYS or key.endswith(("_id", "_ids")) or key == "id"
    if isinstance(value, list | tuple):
        return all(_storable(key, v) for v in value)
    return False


def storable_detail(detail: Mapping[str, object]) -> dict[str, object]:
    """The part of an alert's detail the ledger keeps: numbers, flags, ids and codes.

    Strings are kept only under keys naming ids or codes (:data:`SAFE_DETAIL_KEYS`, ``*_id``,
    ``*_ids``); anything else (names, free text) is dropped and looked up again at render time.
    Datetimes are kept as ISO text.
    """
    kept: dict[str, object] = {}
    for key, value in detail.items():
        if isinstance(value, dt.datetime | dt.date):
            kept[key] = value.isoformat()
        elif _storable(key, value):
            kept[key] = list(value) if isinstance(value, tuple) else value
    return kept


def _no_personal_data(ids: Mapping[str, object]) -> dict[str, object]:
    for key, value in ids.items():
        if not (value is None or isinstance(value, str | int | float | bool)):
            raise TypeError(f"audit id {key!r} must be a scalar")
        if isinstance(value, str) and "@" in value:
            raise ValueError(f"audit id {key!r} looks like an e-mail address: ids only")
    return dict(ids)


# --------------------------------------------------------------------------- the store


class StateStore(FactsMixin):
    """kartiba's persistent state in one SQLite file. Open with :meth:`open`.

    Args:
        conn: an open connection in autocommit mode (``isolation_level=None``).
        path: the database file (the lock file is ``<path>.lock``).
        max_attempts: a mark that failed this many times is no longer retried.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, max_attempts: int = 5) -> None:
        self._conn = conn
        self.path = path
        self.max_attempts = max_attempts
        self._mutex = threading.RLock()
        self._depth = 0  # nesting of open write transactions (see _tx, batch)
        self._lock_fd: int | None = None
        self._lock_run: str | None = None

    # -- lifecycle

    @classmethod
    def open(cls, path: str | Path, *, max_attempts: int = 5) -> StateStore:
        """Open (creating with mode 0600 and migrating) the state database at ``path``.

        Raises:
            ConfigError: the file is of a newer schema than this kartiba knows.
        """
        path = Path(path)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path, max_attempts=max_attempts)
            store._migrate()
        except BaseException:
            conn.close()
            raise
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.chmod(side, 0o600)
        return store

    def close(self) -> None:
        """Release a held run lock and close the connection."""
        with self._mutex:
            if self._lock_run is not None:
                self.release_lock(self._lock_run)
            self._conn.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._mutex:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise ConfigError(
                f"state database schema v{version} is newer than this kartiba "
                f"(knows v{len(MIGRATIONS)}); upgrade kartiba", setting="state.path")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            try:
                self._conn.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
            except sqlite3.Error:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            log.info("state schema migrated to v%d", number)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front so concurrent writers queue, not deadlock.

        Inside :meth:`batch` it is a savepoint of the batch's transaction instead: it still
        succeeds or fails as a whole, and the batch commits (and syncs to disk) once.
        """
        with self._mutex:
            if self._depth:
                yield from self._savepoint()
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
            self._conn.execute("COMMIT")

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        name = f"kartiba_{self._depth}"
        self._conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self._conn
        except BaseException:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._depth -= 1
        self._conn.execute(f"RELEASE {name}")

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Run several writes as one transaction: one commit instead of one per write.

        For bursts of bookkeeping without I/O in between (a job recording its lessons; a mark
        and its audit row): every method keeps its own all-or-nothing behaviour, and an
        exception leaving the block rolls the whole batch back. The store is held by the
        calling thread until the block ends, so keep network calls out of it.
        """
        with self._tx():
            yield

    @staticmethod
    def _run_time(c: sqlite3.Connection, run_id: str) -> str | None:
        """The start time of a run (dates the rows it writes); None for an unknown run."""
        row = c.execute("SELECT started_at FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row[0] if row else None

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._mutex:
            return self._conn.execute(sql, params).fetchall()

    # -- run lock

    @property
    def lock_path(self) -> Path:
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
                self._drop_flock(fd)
                raise
            if not taken:
                self._drop_flock(fd)
                return False
            self._lock_fd, self._lock_run = fd, run_id
            return True

    def _claim_lock_row(self, run_id: str, now: dt.datetime, stale_after_s: int) -> bool:
        host = socket.gethostname()
        with self._tx() as c:
            row = c.execute("SELECT * FROM run_lock WHERE id = 1").fetchone()
            if row is not None and row["run_id"] != run_id:
                age = (now - _from_ts(row["started_at"])).total_seconds()
                if row["host"] != host and age <= stale_after_s:
                    log.info("run %s: run %s on another host holds the lock (%.0f s)",
                             run_id, row["run_id"], age)
                    return False
                log.warning("run %s: recovered the lock of run %s (pid %s, alive: %s, %.0f s)",
                            run_id, row["run_id"], row["pid"],
                            row["host"] == host and _pid_alive(row["pid"]), age)
            c.execute("INSERT OR REPLACE INTO run_lock (id, run_id, pid, host, started_at) "
                      "VALUES (1, ?, ?, ?, ?)", (run_id, os.getpid(), host, ts(now)))
        return True

    @staticmethod
    def _drop_flock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def release_lock(self, run_id: str) -> None:
        """Give the run lock back (no-op when ``run_id`` does not hold it)."""
        with self._mutex:
            with self._tx() as c:
                c.execute("DELETE FROM run_lock WHERE id = 1 AND run_id = ?", (run_id,))
            if self._lock_run == run_id and self._lock_fd is not None:
                self._drop_flock(self._lock_fd)
                self._lock_fd, self._lock_run = None, None

    def lock_owner(self) -> dict[str, Any] | None:
        """The lock row (run_id, pid, host, started_at), for the operator; None when free."""
        rows = self._rows("SELECT run_id, pid, host, started_at FROM run_lock WHERE id = 1")
        if not rows:
            return None
        owner = dict(rows[0])
        owner["started_at"] = _from_ts(owner["started_at"])
        return owner

    # -- runs

    def start_run(self, run_id: str, now: dt.datetime, jobs: list[str]) -> None:
        """Record the start of a run (its time dates the rows the run writes)."""
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO runs (run_id, started_at, jobs) VALUES (?, ?, ?)",
                      (run_id, ts(now), json.dumps(list(jobs))))

    def finish_run(self, run_id: str, now: dt.datetime, counts: dict) -> None:
        """Record the end of a run with its counts (numbers keyed by name)."""
        with self._tx() as c:
            cur = c.execute("UPDATE runs SET finished_at = ?, counts = ? WHERE run_id = ?",
                            (ts(now), json.dumps(counts, sort_keys=True, default=str), run_id))
            if cur.rowcount == 0:
                raise KeyError(f"unknown run {run_id}")

    def last_runs(self, n: int) -> list[dict]:
        """The ``n`` most recent runs, newest first."""
        rows = self._rows("SELECT * FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?",
                          (n,))
        return [{"run_id": r["run_id"], "started_at": _from_ts(r["started_at"]),
                 "finished_at": _from_ts(r["finished_at"]), "jobs": json.loads(r["jobs"]),
                 "counts": json.loads(r["counts"])} for r in rows]

    # -- lesson results

    def lesson_final(self, lesson_id: str) -> bool:
        """Whether a lesson's result is final (the jobs stop looking at it)."""
        rows = self._rows("SELECT final FROM lessons WHERE lesson_id = ?", (lesson_id,))
        return bool(rows and rows[0]["final"])

    def lesson_open(self, lesson_id: str) -> bool:
        """Whether a lesson was judged (or tried) before and is not final yet."""
        rows = self._rows("SELECT final FROM lessons WHERE lesson_id = ?", (lesson_id,))
        return bool(rows) and not rows[0]["final"]

    def save_lesson_result(self, lesson_id: str, run_id: str, final: bool,
                           verdicts: Sequence[Verdict], evaluated_at: dt.datetime) -> None:
        """Replace a lesson's verdicts with the latest evaluation; a final lesson stays final.

        Only ids, outcome, points and the reason code are kept.
        """
        with self._tx() as c:
            c.execute(
                "INSERT INTO lessons (lesson_id, final, run_id, evaluated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (lesson_id) DO UPDATE SET final = max(final, excluded.final), "
                "run_id = excluded.run_id, evaluated_at = excluded.evaluated_at",
                (lesson_id, int(final), run_id, ts(evaluated_at)))
            c.execute("DELETE FROM verdicts WHERE lesson_id = ?", (lesson_id,))
            c.executemany(
                "INSERT INTO verdicts (lesson_id, student_id, outcome, points, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                [(lesson_id, v.student_id, str(v.outcome), json.dumps(list(v.points)), v.reason)
                 for v in verdicts])

    def verdicts(self, lesson_id: str) -> list[dict]:
        """The stored verdicts of a lesson, by student id."""
        rows = self._rows(
            "SELECT v.*, l.run_id, l.evaluated_at, l.final FROM verdicts v "
            "JOIN lessons l USING (lesson_id) WHERE lesson_id = ? ORDER BY student_id",
            (lesson_id,))
        return [{"lesson_id": r["lesson_id"], "student_id": r["student_id"],
                 "outcome": r["outcome"], "points": tuple(json.loads(r["points"])),
                 "reason": r["reason"], "run_id": r["run_id"],
                 "evaluated_at": _from_ts(r["evaluated_at"]), "final": bool(r["final"])}
                for r in rows]

    # -- mark outbox

    def enqueue_marks(self, marks: Sequence[Mark], run_id: str) -> int:
        """Add marks to the outbox; a key already there is left exactly as it is.

        Returns:
            How many marks were new.
        """
        added = 0
        with self._tx() as c:
            when = self._run_time(c, run_id)
            for m in marks:
                cur = c.execute(
                    "INSERT OR IGNORE INTO outbox (key, lesson_id, student_id, code, excused, "
                    "points, reason, created_run, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (m.key, m.lesson_id, m.student_id, m.code, int(m.excused),
                     json.dumps(list(m.points)), m.reason, run_id, when))
                added += cur.rowcount
        return added

    def pending_marks(self) -> list[OutboxRow]:
        """Marks still to write: pending, or failed fewer than ``max_attempts`` times."""
        rows = self._rows(
            "SELECT * FROM outbox WHERE status = 'pending' OR (status = 'failed' AND attempts < ?)"
            " ORDER BY created_at, key", (self.max_attempts,))
        return [self._outbox_row(r) for r in rows]

    def outbox_row(self, key: str) -> OutboxRow | None:
        """One outbox row by key, or None."""
        rows = self._rows("SELECT * FROM outbox WHERE key = ?", (key,))
        return self._outbox_row(rows[0]) if rows else None

    @staticmethod
    def _outbox_row(r: sqlite3.Row) -> OutboxRow:
        return OutboxRow(key=r["key"], lesson_id=r["lesson_id"], student_id=r["student_id"],
                         code=r["code"], excused=bool(r["excused"]),
                         points=tuple(json.loads(r["points"])), reason=r["reason"],
                         status=r["status"], attempts=r["attempts"], last_error=r["last_error"],
                         created_run=r["created_run"], done_run=r["done_run"])

    def set_mark_status(self, key: str, status: MarkStatus, run_id: str,
                        error: str = "") -> None:
        """Record the outcome of one write attempt (``attempts`` goes up by one).

        ``error`` must be a scrubbed message (ids only). A failed mark is done once it failed
        ``max_attempts`` times.

        Raises:
            ValueError: unknown status. KeyError: no such key in the outbox.
        """
        if status not in MARK_STATUSES - {"pending"}:
            raise ValueError(f"unknown mark status {status!r}")
        with self._tx() as c:
            cur = c.execute(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, "
                "done_run = CASE WHEN ? OR attempts + 1 >= ? THEN ? END, "
                "done_at = CASE WHEN ? OR attempts + 1 >= ? THEN ? END WHERE key = ?",
                (status, error, status in DONE_STATUSES, self.max_attempts, run_id,
                 status in DONE_STATUSES, self.max_attempts, self._run_time(c, run_id), key))
            if cur.rowcount == 0:
                raise KeyError(f"no outbox row {key}")

    def record_skip(self, skip: Skip, run_id: str) -> bool:
        """Remember a mark not written (e.g. a person's mark is there); False if known before."""
        with self._tx() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO skips (lesson_id, student_id, why, run_id, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (skip.lesson_id, skip.student_id, skip.why, run_id, self._run_time(c, run_id)))
            return cur.rowcount == 1

    def outbox_counts(self) -> dict[str, int]:
        """Outbox rows per status (every status present, zero included)."""
        counts = dict.fromkeys(sorted(MARK_STATUSES), 0)
        for r in self._rows("SELECT status, count(*) AS n FROM outbox GROUP BY status"):
            counts[r["status"]] = r["n"]
        return counts

    # -- alert ledger

    def ledger_claim(self, items: Sequence[tuple[Alert, str | _Addressee]],
                     run_id: str) -> list[LedgerItem]:
        """Enter alerts per recipient in the ledger; return those not sent yet.

        An item never seen before is inserted as pending. An item already sent is dropped,
        so the same alert never reaches the same recipient twice. An item left pending by an
        earlier run (crash, SMTP failure) is returned again. Recommended job flow: claim,
        then render and send everything :meth:`ledger_pending` returns, and call
        :meth:`ledger_mark_sent` right after the SMTP server accepted each message.
        """
        keys: list[str] = []
        with self._tx() as c:
            when = self._run_time(c, run_id)
            for alert, to in items:
                email, role = (to, "") if isinstance(to, str) else (to.email, to.role)
                key = ledger_key(alert, email)
                keys.append(key)
                c.execute(
                    "INSERT OR IGNORE INTO alert_ledger (key, kind, lesson_id, student_id, "
                    "recipient, role, audience, points, excused, detail, claimed_run, "
                    "claimed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (key, str(alert.kind), alert.lesson_id, alert.student_id,
                     email.strip().lower(), role, json.dumps([str(a) for a in alert.audience]),
                     json.dumps(list(alert.points)),
                     None if alert.excused is None else int(alert.excused),
                     json.dumps(storable_detail(alert.detail), sort_keys=True),
                     run_id, when))
        found = {item.key: item for item in self._ledger_items("key IN (SELECT value FROM "
                                                               "json_each(?))",
                                                               (json.dumps(keys),))}
        seen: set[str] = set()
        claimed = []
        for key in keys:
            item = found.get(key)
            if item is not None and item.status == "pending" and key not in seen:
                seen.add(key)
                claimed.append(item)
        return claimed

    def ledger_mark_sent(self, keys: Iterable[str], run_id: str, message_id: str,
                         at: dt.datetime | None = None) -> int:
        """Mark ledger items sent (call right after the SMTP server accepted the message).

        Args:
            keys: ledger keys of the items the message carried.
            run_id: the sending run.
            message_id: the Message-ID of the accepted message.
            at: when; defaults to the run's start time.

        Returns:
            How many items changed from pending to sent.
        """
        with self._tx() as c:
            when = ts(at) if at is not None else self._run_time(c, run_id)
            changed = 0
            for key in keys:
                cur = c.execute(
                    "UPDATE alert_ledger SET status = 'sent', sent_run = ?, message_id = ?, "
                    "sent_at = ? WHERE key = ? AND status = 'pending'",
                    (run_id, message_id, when, key))
                changed += cur.rowcount
        return changed

    def ledger_pending(self) -> list[LedgerItem]:
        """Items claimed but not sent (by any run), oldest claim first."""
        return self._ledger_items("status = 'pending'", ())

    def ledger_sent_since(self, since: dt.datetime) -> list[dict]:
        """Items sent at or after ``since`` (for the weekly digest), in sending order."""
        rows = self._rows("SELECT * FROM alert_ledger WHERE status = 'sent' AND sent_at >= ? "
                          "ORDER BY sent_at, key", (ts(since),))
        return [{"key": r["key"], "kind": r["kind"], "lesson_id": r["lesson_id"],
                 "student_id": r["student_id"], "recipient": r["recipient"], "role": r["role"],
                 "points": tuple(json.loads(r["points"])),
                 "excused": None if r["excused"] is None else bool(r["excused"]),
                 "detail": json.loads(r["detail"]), "sent_run": r["sent_run"],
                 "sent_at": _from_ts(r["sent_at"]), "message_id": r["message_id"]}
                for r in rows]

    def _ledger_items(self, where: str, params: Sequence[Any]) -> list[LedgerItem]:
        rows = self._rows(f"SELECT * FROM alert_ledger WHERE {where} "  # noqa: S608 - fixed SQL
                          "ORDER BY claimed_at, rowid", params)
        return [self._ledger_item(r) for r in rows]

    @staticmethod
    def _ledger_item(r: sqlite3.Row) -> LedgerItem:
        alert = Alert(kind=AlertKind(r["kind"]), lesson_id=r["lesson_id"],
                      student_id=r["student_id"],
                      audience=tuple(Audience(a) for a in json.loads(r["audience"])),
                      points=tuple(json.loads(r["points"])),
                      excused=None if r["excused"] is None else bool(r["excused"]),
                      detail=frozen_map(json.loads(r["detail"])))
        return LedgerItem(key=r["key"], alert=alert, recipient=r["recipient"], role=r["role"],
                          status=r["status"], claimed_run=r["claimed_run"],
                          sent_run=r["sent_run"], message_id=r["message_id"])

    # -- import ledger (connectors.base.ImportLedger)

    def file_seen(self, system: str, sha256: str) -> bool:
        """Whether a file with this content was imported for ``system`` before."""
        return bool(self._rows("SELECT 1 FROM imported_files WHERE system = ? AND sha256 = ?",
                               (system, sha256)))

    def record_file(self, system: str, sha256: str, name: str,
                    records: Sequence[ActivityRecord]) -> None:
        """Record an imported file with its rows in one transaction (a file seen is skipped)."""
        with self._tx() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO imported_files (system, sha256, name) VALUES (?, ?, ?)",
                (system, sha256, name))
            if cur.rowcount == 0:
                return
            c.executemany(
                "INSERT INTO imported_records (system, sha256, activity_url, at, kind, email, "
                "name, student_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(system, sha256, r.activity_url, ts(r.at), r.kind, r.email, r.name,
                  r.student_id) for r in records])

    def imported_records(self, system: str, urls: Sequence[str]) -> list[ActivityRecord]:
        """The imported rows of ``system`` for these activity URLs, by time."""
        rows = self._rows(
            "SELECT * FROM imported_records WHERE system = ? AND activity_url IN "
            "(SELECT value FROM json_each(?)) ORDER BY at, id", (system, json.dumps(list(urls))))
        return [ActivityRecord(platform=system, activity_url=r["activity_url"],
                               at=_from_ts(r["at"]), kind=r["kind"], email=r["email"],
                               name=r["name"], student_id=r["student_id"]) for r in rows]

    # -- webhook ledger (connectors.base.WebhookLedger)

    def add_event(self, system: str, event_id: str, meeting_key: str, kind: str,
                  at: dt.datetime, payload: dict) -> bool:
        """Store a verified webhook event; False when its id was stored before (replay)."""
        with self._tx() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO webhook_events (system, event_id, meeting_key, kind, at, "
                "payload) VALUES (?, ?, ?, ?, ?, ?)",
                (system, event_id, meeting_key, kind, ts(at),
                 json.dumps(payload, sort_keys=True, default=str)))
            return cur.rowcount == 1

    def events(self, system: str, meeting_key: str) -> list[dict]:
        """Payloads of one meeting's stored events, in event time order."""
        rows = self._rows("SELECT payload FROM webhook_events WHERE system = ? AND "
                          "meeting_key = ? ORDER BY at, event_id", (system, meeting_key))
        return [json.loads(r["payload"]) for r in rows]

    # -- local notices

    def add_notice(self, notice: Notice) -> bool:
        """Keep an absence notice received outside e-klase; False when its id is known."""
        with self._tx() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO notices (id, student_id, kind, date_from, date_to, "
                "received_at, agreement, new_due) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (notice.id, notice.student_id, str(notice.kind), notice.date_from.isoformat(),
                 notice.date_to.isoformat(), ts(notice.received_at),
                 str(notice.agreement) if notice.agreement else None,
                 ts(notice.new_due) if notice.new_due else None))
            return cur.rowcount == 1

    def notices(self, date_from: dt.date, date_to: dt.date) -> list[Notice]:
        """Stored notices covering any day of [date_from, date_to], by receipt time."""
        rows = self._rows("SELECT * FROM notices WHERE date_to >= ? AND date_from <= ? "
                          "ORDER BY received_at, id",
                          (date_from.isoformat(), date_to.isoformat()))
        return [Notice(id=r["id"], student_id=r["student_id"], kind=NoticeKind(r["kind"]),
                       date_from=dt.date.fromisoformat(r["date_from"]),
                       date_to=dt.date.fromisoformat(r["date_to"]),
                       received_at=_from_ts(r["received_at"]),
                       agreement=Agreement(r["agreement"]) if r["agreement"] else None,
                       new_due=_from_ts(r["new_due"])) for r in rows]

    # -- audit log

    def audit(self, run_id: str, action: str, **ids: object) -> None:
        """Append an audit row: what the run did, to which ids (never names or e-mails).

        Raises:
            ValueError: a value looks like an e-mail address. TypeError: a value is not scalar.
        """
        clean = _no_personal_data(ids)
        with self._tx() as c:
            c.execute("INSERT INTO audit (run_id, at, action, ids) VALUES (?, ?, ?, ?)",
                      (run_id, self._run_time(c, run_id), action,
                       json.dumps(clean, sort_keys=True)))

    def audit_rows(self, run_id: str | None = None) -> list[dict]:
        """Audit rows in order, of one run or of all."""
        if run_id is None:
            rows = self._rows("SELECT * FROM audit ORDER BY id")
        else:
            rows = self._rows("SELECT * FROM audit WHERE run_id = ? ORDER BY id", (run_id,))
        return [{"id": r["id"], "run_id": r["run_id"], "at": _from_ts(r["at"]),
                 "action": r["action"], "ids": json.loads(r["ids"])} for r in rows]

    # -- digests

    def digest_sent(self, kind: str, period: str) -> bool:
        """Whether the digest of this kind for this period (e.g. ``2026-W48``) went out."""
        return bool(self._rows("SELECT 1 FROM digests WHERE kind = ? AND period = ?",
                               (kind, period)))

    def mark_digest_sent(self, kind: str, period: str, run_id: str) -> None:
        """Remember a digest as sent (the first record stays)."""
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO digests (kind, period, run_id, sent_at) "
                      "VALUES (?, ?, ?, ?)", (kind, period, run_id, self._run_time(c, run_id)))

    # -- overview

    def status(self) -> dict[str, Any]:
        """An operator's overview: schema, lock, recent runs, outbox and ledger counts."""
        ledger = {r["status"]: r["n"] for r in self._rows(
            "SELECT status, count(*) AS n FROM alert_ledger GROUP BY status")}
        return {
            "path": str(self.path),
            "schema_version": self.schema_version,
            "lock": self.lock_owner(),
            "last_runs": self.last_runs(5),
            "outbox": self.outbox_counts(),
            "alerts": {"pending": ledger.get("pending", 0), "sent": ledger.get("sent", 0)},
            "lessons_final": self._rows("SELECT count(*) FROM lessons WHERE final = 1")[0][0],
        }

    # -- retention

    def purge(self, older_than: dt.datetime) -> dict[str, int]:
        """Delete what is older than the retention, in one transaction.

        Verdicts (with their lesson rows), webhook events, imported rows, sent ledger items,
        audit rows, skips, digests, runs and local notices older than ``older_than`` go;
        outbox rows only once done. Pending ledger items and pending marks stay. Imported file
        hashes stay, so a file is never imported twice. The retention must be longer than any
        window over which the rules repeat an alert (a school year for the quota alerts), or a
        purged alert could be mailed again.

        Returns:
            Rows deleted per table.
        """
        cutoff = ts(older_than)
        day = older_than.astimezone(dt.UTC).date().isoformat()
        statements = {
            "verdicts": "DELETE FROM verdicts WHERE lesson_id IN "
                        "(SELECT lesson_id FROM lessons WHERE evaluated_at < :c)",
            "lessons": "DELETE FROM lessons WHERE evaluated_at < :c",
            "webhook_events": "DELETE FROM webhook_events WHERE at < :c",
            "imported_records": "DELETE FROM imported_records WHERE at < :c",
            "alert_ledger": "DELETE FROM alert_ledger WHERE status = 'sent' AND sent_at < :c",
            "audit": "DELETE FROM audit WHERE at < :c",
            "skips": "DELETE FROM skips WHERE at < :c",
            "outbox": "DELETE FROM outbox WHERE done_at IS NOT NULL AND done_at < :c",
            "digests": "DELETE FROM digests WHERE sent_at < :c",
            "runs": "DELETE FROM runs WHERE started_at < :c AND finished_at IS NOT NULL",
            "notices": "DELETE FROM notices WHERE date_to < :d",
        }
        counts: dict[str, int] = {}
        with self._tx() as c:
            for table, sql in statements.items():
                counts[table] = c.execute(sql, {"c": cutoff, "d": day}).rowcount
        log.info("purge before %s: %s", cutoff, counts)
        return counts
