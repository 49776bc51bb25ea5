"""Retention: deleting what is older than the configured retention, across the tables."""

from __future__ import annotations

import datetime as dt
import logging

from sync_jobs.state._db import Database, ts

log = logging.getLogger("kartiba.state")

#: One DELETE per table, in an order that respects the foreign keys.
_PURGE: dict[str, str] = {
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
    "worklist": "DELETE FROM worklist WHERE status = 'sent' AND sent_at < :c",
    "lesson_facts": "DELETE FROM lesson_facts WHERE date < :d",
    "quota_tallies": "DELETE FROM quota_tallies WHERE counted_at < :c",
}


class Retention(Database):
    """Purging old rows of every table in one transaction."""

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
        counts: dict[str, int] = {}
        with self._tx() as c:
            for table, sql in _PURGE.items():
                counts[table] = c.execute(sql, {"c": cutoff, "d": day}).rowcount
        log.info("purge before %s: %s", cutoff, counts)
        return counts
