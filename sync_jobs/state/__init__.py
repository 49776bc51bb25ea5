"""The SQLite state store: one façade, one small module per concept.

=====================  =========================================================
module                 concept
=====================  =========================================================
:mod:`._db`            the connection, the one transaction helper, the time format
:mod:`.schema`         opening the file (0600, pragmas) and the migrations
:mod:`.runs`           runs and the run lock
:mod:`.lessons`        lesson results and verdicts
:mod:`.outbox`         the mark outbox
:mod:`.skips`          marks deliberately not written
:mod:`.alerts`         the alert ledger
:mod:`.imports`        the import ledger (files and their rows)
:mod:`.webhooks`       verified webhook events
:mod:`.notices`        absence notices received outside e-klase
:mod:`.audit`          the audit log (ids only)
:mod:`.digests`        digest bookkeeping
:mod:`.retention`      purging old rows
:mod:`.facts`          the worklist ledger, lesson facts and quota tallies
=====================  =========================================================

One file per installation, created with mode 0600 (it holds ids of students and staff
e-mail addresses), journal mode WAL, foreign keys on, schema migrated by ``PRAGMA
user_version`` (:mod:`sync_jobs.migrations`). Every multi-row write is one transaction
(``BEGIN IMMEDIATE``), so a crash never leaves half a batch. One store object may be shared
by a few threads of one process: a re-entrant lock serialises use of the connection.

Times are stored as UTC ISO strings. Rows that the API gives no time for (audit, outbox,
skips, ledger) take the start time of their run from ``runs``; call :meth:`start_run` first.
A new concept goes into a module of its own, as a :class:`~._db.Database` mixin added to
:class:`StateStore`'s bases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sync_jobs.state import schema
from sync_jobs.state._db import Database, ts
from sync_jobs.state.alerts import (
    SAFE_DETAIL_KEYS,
    AlertLedger,
    LedgerItem,
    ledger_key,
    storable_detail,
)
from sync_jobs.state.audit import AuditLog
from sync_jobs.state.digests import Digests
from sync_jobs.state.facts import FactsMixin, LessonFact, QuotaTally
from sync_jobs.state.imports import ImportLedger
from sync_jobs.state.lessons import LessonResults
from sync_jobs.state.notices import Notices
from sync_jobs.state.outbox import DONE_STATUSES, MARK_STATUSES, MarkStatus, Outbox, OutboxRow
from sync_jobs.state.retention import Retention
from sync_jobs.state.runs import RunLock, Runs
from sync_jobs.state.skips import Skips
from sync_jobs.state.webhooks import WebhookEvents

__all__ = [
    "DONE_STATUSES", "MARK_STATUSES", "SAFE_DETAIL_KEYS", "LedgerItem", "LessonFact",
    "MarkStatus", "OutboxRow", "QuotaTally", "StateStore", "ledger_key", "storable_detail", "ts",
]


class StateStore(RunLock, Runs, LessonResults, Outbox, Skips, AlertLedger, ImportLedger,
                 WebhookEvents, Notices, AuditLog, Digests, FactsMixin, Retention, Database):
    """kartiba's persistent state in one SQLite file. Open with :meth:`open`.

    Args:
        conn: an open connection in autocommit mode (``isolation_level=None``).
        path: the database file (the lock file is ``<path>.lock``).
        max_attempts: a mark that failed this many times is no longer retried.
    """

    @classmethod
    def open(cls, path: str | Path, *, max_attempts: int = 5) -> StateStore:
        """Open (creating with mode 0600 and migrating) the state database at ``path``.

        Raises:
            ConfigError: the file is of a newer schema than this kartiba knows.
        """
        path = Path(path)
        conn = schema.connect(path)
        try:
            schema.migrate(conn)
        except BaseException:
            conn.close()
            raise
        schema.make_side_files_private(path)
        return cls(conn, path, max_attempts=max_attempts)

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
        """The schema version of the open file."""
        with self._mutex:
            return schema.schema_version(self._conn)

    def status(self) -> dict[str, Any]:
        """An operator's overview: schema, lock, recent runs, outbox and ledger counts."""
        ledger = self.ledger_counts()
        return {
            "path": str(self.path),
            "schema_version": self.schema_version,
            "lock": self.lock_owner(),
            "last_runs": self.last_runs(5),
            "outbox": self.outbox_counts(),
            "alerts": {"pending": ledger["pending"], "sent": ledger["sent"]},
            "lessons_final": self.final_lesson_count(),
        }

