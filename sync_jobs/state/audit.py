"""The audit log: what each run did, to which ids (never names or e-mail addresses)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sync_jobs.state._db import Database, from_ts

#: Keys naming personal fields: the audit refuses them whatever their value.
PERSONAL_KEYS: frozenset[str] = frozenset({
    "name", "names", "full_name", "first_name", "last_name", "email", "e_mail", "mail",
    "address", "recipient", "to", "cc", "bcc",
})
_PERSONAL_SUFFIXES = ("_name", "_names", "_email", "_emails", "_address")


def _personal(key: str) -> bool:
    folded = key.lower()
    return folded in PERSONAL_KEYS or folded.endswith(_PERSONAL_SUFFIXES)


def _ids_only(ids: Mapping[str, object]) -> dict[str, object]:
    """The audit's ids, checked: scalars only, no personal field.

    Ids are opaque strings from upstream (``s3@eklase`` is a valid student id): the privacy
    check is on the field, not on the characters of an id.
    """
    for key, value in ids.items():
        if not (value is None or isinstance(value, str | int | float | bool)):
            raise TypeError(f"audit id {key!r} must be a scalar")
        if _personal(key):
            raise ValueError(f"audit field {key!r} is personal data: the audit keeps ids only")
    return dict(ids)


class AuditLog(Database):
    """The ``audit`` table."""

    def audit(self, run_id: str, action: str, **ids: object) -> None:
        """Append an audit row: what the run did, to which ids (never names or e-mails).

        Raises:
            ValueError: a field names personal data (a name or an e-mail address).
            TypeError: a value is not scalar.
        """
        clean = _ids_only(ids)
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
