"""Digest bookkeeping: which periodic digest went out for which period."""

from __future__ import annotations

from sync_jobs.state._db import Database


class Digests(Database):
    """The ``digests`` table."""

    def digest_sent(self, kind: str, period: str) -> bool:
        """Whether the digest of this kind for this period (e.g. ``2026-W48``) went out."""
        return bool(self._rows("SELECT 1 FROM digests WHERE kind = ? AND period = ?",
                               (kind, period)))

    def mark_digest_sent(self, kind: str, period: str, run_id: str) -> None:
        """Remember a digest as sent (the first record stays)."""
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO digests (kind, period, run_id, sent_at) "
                      "VALUES (?, ?, ?, ?)", (kind, period, run_id, self._run_time(c, run_id)))
