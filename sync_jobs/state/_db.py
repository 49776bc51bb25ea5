"""The one transaction helper of the state store, and the stored time format.

Every concept module of :mod:`sync_jobs.state` is a mixin of :class:`Database`: it reads with
:meth:`Database._rows` and writes inside :meth:`Database._tx`, so all of them share one
connection, one re-entrant lock and one notion of a transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


def ts(value: dt.datetime) -> str:
    """An aware datetime as the stored UTC text form.

    Args:
        value: a timezone-aware datetime.

    Returns:
        The UTC ISO text with microseconds, e.g. ``2026-11-30T08:00:00.000000+00:00``.

    Raises:
        ValueError: for a naive datetime.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes stored in the state must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def from_ts(value: str | None) -> dt.datetime | None:
    """The datetime of a stored text form; None for None or empty."""
    return dt.datetime.fromisoformat(value) if value else None


class Database:
    """The connection of a state store with its transaction helper.

    Args:
        conn: an open connection in autocommit mode (``isolation_level=None``).
        path: the database file.
        max_attempts: a mark that failed this many times is no longer retried.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, max_attempts: int = 5) -> None:
        self._conn = conn
        self.path = path
        self.max_attempts = max_attempts
        self._mutex = threading.RLock()
        self._depth = 0  # nesting of open write transactions (see _tx, batch)

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
        """All rows of one read, under the store's lock."""
        with self._mutex:
            return self._conn.execute(sql, params).fetchall()
