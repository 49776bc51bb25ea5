"""The import ledger (:class:`connectors.base.ImportLedger`): files imported, with their rows."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mappings.model import ActivityRecord
from sync_jobs.state._db import Database, from_ts, ts


class ImportLedger(Database):
    """The ``imported_files`` and ``imported_records`` tables."""

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
                               at=from_ts(r["at"]), kind=r["kind"], email=r["email"],
                               name=r["name"], student_id=r["student_id"]) for r in rows]
