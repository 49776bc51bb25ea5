"""The alert ledger: each alert for each recipient, claimed once and mailed once, ever."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from mappings.model import Alert, AlertKind, Audience, frozen_map
from sync_jobs.state._db import Database, from_ts, ts

#: Keys of ``Alert.detail`` whose string values are kept in the ledger (codes, not names).
SAFE_DETAIL_KEYS: frozenset[str] = frozenset({
    "reason", "base_reason", "cause", "platform", "missing", "due", "deadline", "created_at",
    "entered_at", "code", "kind", "state", "mode", "meeting_key", "mark_points",
    "window_start", "window_end", "gap", "gap_detail",
})


class _Addressee(Protocol):
    email: str
    role: str


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


class AlertLedger(Database):
    """The ``alert_ledger`` table."""

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
        found = {item.key: item for item in self._ledger_items(
            "key IN (SELECT value FROM json_each(?))", (json.dumps(keys),))}
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
                 "sent_at": from_ts(r["sent_at"]), "message_id": r["message_id"]}
                for r in rows]

    def ledger_counts(self) -> dict[str, int]:
        """Ledger items per status (pending and sent, zero included)."""
        counts = {"pending": 0, "sent": 0}
        for r in self._rows("SELECT status, count(*) AS n FROM alert_ledger GROUP BY status"):
            counts[r["status"]] = r["n"]
        return counts

    def alerts_claimed_by(self, run_id: str) -> int:
        """Distinct alerts (kind x lesson x student) a run entered in the ledger first."""
        rows = self._rows("SELECT count(*) FROM (SELECT DISTINCT kind, lesson_id, student_id "
                          "FROM alert_ledger WHERE claimed_run = ?)", (run_id,))
        return int(rows[0][0])

    def _ledger_items(self, where: str, params: Sequence[Any]) -> list[LedgerItem]:
        rows = self._rows(f"SELECT * FROM alert_ledger WHERE {where} "  # noqa: S608 - fixed SQL
                          "ORDER BY claimed_at, rowid", params)
        return [_ledger_item(r) for r in rows]
