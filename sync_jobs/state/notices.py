"""Absence notices received outside e-klase (imported by ``kartiba notices``)."""

from __future__ import annotations

import datetime as dt

from mappings.model import Agreement, Notice, NoticeKind
from sync_jobs.state._db import Database, from_ts, ts


class Notices(Database):
    """The ``notices`` table."""

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
                       received_at=from_ts(r["received_at"]),
                       agreement=Agreement(r["agreement"]) if r["agreement"] else None,
                       new_due=from_ts(r["new_due"])) for r in rows]

    def all_notices(self, student_id: str | None = None) -> list[dict[str, object]]:
        """Notices recorded with ``kartiba notice`` (ids, kind, dates), oldest first."""
        sql = "SELECT * FROM notices"
        params: tuple = ()
        if student_id:
            sql, params = sql + " WHERE student_id = ?", (student_id,)
        rows = self._rows(sql + " ORDER BY date_from, received_at, id", params)
        return [{"id": r["id"], "student_id": r["student_id"], "kind": r["kind"],
                 "date_from": r["date_from"], "date_to": r["date_to"],
                 "received_at": r["received_at"], "agreement": r["agreement"],
                 "new_due": r["new_due"]} for r in rows]

    def remove_notice(self, notice_id: str) -> str | None:
        """Delete a notice; returns its student id, or None when no notice has that id."""
        with self._tx() as c:
            row = c.execute("SELECT student_id FROM notices WHERE id = ?",
                            (notice_id,)).fetchone()
            if row is None:
                return None
            c.execute("DELETE FROM notices WHERE id = ?", (notice_id,))
            return str(row[0])
