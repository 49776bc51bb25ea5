"""The audit log: what each run did, to which ids (never names or e-mail addresses)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sync_jobs.state._db import Database, from_ts


def _no_personal_data(ids: Mapping[str, object]) -> dict[str, object]:
    for key, value in ids.items():
        if not (value is None or isinstance(value, str | int | float | bool)):
            raise TypeError(f"audit id {key!r} must be a scalar")
        if isinstance(value, str) and "@" in value:
            raise ValueError(f"audit id {key!r} looks like an e-mail address: ids only")
    return dict(ids)


class AuditLog(Database):
    """The ``audit`` table."""

    def audit(self, run_id: str, action: str, **ids: object) -> None:
        """Append an audit row: what the run did, to which ids (never names or e-mails).

        Raises:
            ValueError: a value looks like an e-mail address. TypeError: a value is not scalar.
        """
        clean = _no_personal_data(ids)
        with self._tx() as c:
            c.execute("INSERT INTO audit (run_id, at, action, ids) VALUES (?, ?, ?, ?)",
                      (run_id, self._run_time(c, run_id), action,
                       json.dumps(clean, sort_keys=True)))

    def audit_rows(self, run_id: str | None = None) -> list[dict]:
        """Audit rows in order, of one run or of all."""
        if run_id is None:
            rows = self._rows("SELECT * FROM audit ORDER BY id")
        else:
            rows = self._rows("SELECT * FROM audit WHERE run_id = ? ORDER BY id", (run_id,))
        return [{"id": r["id"], "run_id": r["run_id"], "at": from_ts(r["at"]),
                 "action": r["action"], "ids": json.loads(r["ids"])} for r in rows]
