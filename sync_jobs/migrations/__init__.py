"""Schema migrations of the state store, applied in order by ``PRAGMA user_version``.

``MIGRATIONS[i]`` brings a database from ``user_version == i`` to ``i + 1``. A migration is
never edited once released: a schema change is a new module appended to the tuple.
"""

from __future__ import annotations

from sync_jobs.migrations import v001_initial, v002_notices, v003_worklist_facts

MIGRATIONS: tuple[str, ...] = (v001_initial.SQL, v002_notices.SQL, v003_worklist_facts.SQL)

__all__ = ["MIGRATIONS"]
