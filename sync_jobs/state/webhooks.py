"""The webhook ledger (:class:`connectors.base.WebhookLedger`): verified events, replay-proof."""

from __future__ import annotations

import datetime as dt
import json

from sync_jobs.state._db import Database, ts


class WebhookEvents(Database):
    """The ``webhook_events`` table."""

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
