"""Skips: marks deliberately not written (e.g. a person's mark is already there)."""

from __future__ import annotations

from mappings.model import Skip
from sync_jobs.state._db import Database


class Skips(Database):
    """The ``skips`` table."""

    def record_skip(self, skip: Skip, run_id: str) -> bool:
        """Remember a mark not written (e.g. a person's mark is there); False if known before."""
        with self._tx() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO skips (lesson_id, student_id, why, run_id, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (skip.lesson_id, skip.student_id, skip.why, run_id, self._run_time(c, run_id)))
            return cur.rowcount == 1
