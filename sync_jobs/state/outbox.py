"""The mark outbox: marks to write to the journal, one row per lesson x student."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Sequence
from typing import Literal

from mappings.model import Mark
from sync_jobs.state._db import Database

MarkStatus = Literal["written", "already_present", "refused", "proposed", "failed"]
MARK_STATUSES: frozenset[str] = frozenset(
    {"pending", "written", "already_present", "refused", "proposed", "failed"})
DONE_STATUSES: frozenset[str] = frozenset({"written", "already_present", "refused", "proposed"})


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


def _outbox_row(r: sqlite3.Row) -> OutboxRow:
    return OutboxRow(key=r["key"], lesson_id=r["lesson_id"], student_id=r["student_id"],
                     code=r["code"], excused=bool(r["excused"]),
                     points=tuple(json.loads(r["points"])), reason=r["reason"],
                     status=r["status"], attempts=r["attempts"], last_error=r["last_error"],
                     created_run=r["created_run"], done_run=r["done_run"])


class Outbox(Database):
    """The ``outbox`` table."""

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
        return [_outbox_row(r) for r in rows]

    def outbox_row(self, key: str) -> OutboxRow | None:
        """One outbox row by key, or None."""
        rows = self._rows("SELECT * FROM outbox WHERE key = ?", (key,))
        return _outbox_row(rows[0]) if rows else None

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

    def defer_mark(self, key: str, reason: str) -> None:
        """Leave a mark pending after a temporary refusal (e.g. ``journal_locked``).

        The row stays (or becomes again) ``pending``, so every later run tries it again;
        ``attempts`` counts the tries and ``last_error`` keeps the reason (a code, no names).

        Raises:
            KeyError: no open outbox row with that key.
        """
        with self._tx() as c:
            cur = c.execute(
                "UPDATE outbox SET status = 'pending', attempts = attempts + 1, last_error = ? "
                "WHERE key = ? AND done_run IS NULL", (reason, key))
            if cur.rowcount == 0:
                raise KeyError(f"no open outbox row {key}")

    def outbox_counts(self) -> dict[str, int]:
        """Outbox rows per status (every status present, zero included)."""
        counts = dict.fromkeys(sorted(MARK_STATUSES), 0)
        for r in self._rows("SELECT status, count(*) AS n FROM outbox GROUP BY status"):
            counts[r["status"]] = r["n"]
        return counts
