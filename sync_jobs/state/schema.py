"""Opening the state file: mode 0600, pragmas, and the migrations by ``PRAGMA user_version``.

The migrations themselves stay in :mod:`sync_jobs.migrations` (one module per version).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from connectors.errors import ConfigError
from sync_jobs.migrations import MIGRATIONS

log = logging.getLogger("kartiba.state")


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating with mode 0600) the database file with kartiba's pragmas.

    Args:
        path: the database file; its folder is created with mode 0700.

    Returns:
        A connection in autocommit mode, WAL journal, full sync, foreign keys on.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def make_side_files_private(path: Path) -> None:
    """Give the WAL and shared-memory files of ``path`` mode 0600 (they hold the same data)."""
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.chmod(side, 0o600)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version of an open database (``PRAGMA user_version``)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations the database has not seen, each in its own transaction.

    Raises:
        ConfigError: the file is of a newer schema than this kartiba knows.
        sqlite3.Error: a migration failed (it was rolled back; the version stays).
    """
    version = schema_version(conn)
    if version > len(MIGRATIONS):
        raise ConfigError(
            f"state database schema v{version} is newer than this kartiba "
            f"(knows v{len(MIGRATIONS)}); upgrade kartiba", setting="state.path")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        log.info("state schema migrated to v%d", number)
