"""StateStore.batch: many writes, one transaction; each write still all-or-nothing."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mappings.model import Mark, Outcome, Skip, Verdict
from sync_jobs.state import StateStore

RIGA = ZoneInfo("Europe/Riga")
NOW = dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA)


def _mark(student: str) -> Mark:
    return Mark("L1", student, "n", False, ("30",), "not_connected")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


@pytest.fixture
def store(db: Path):
    with StateStore.open(db) as s:
        s.start_run("r1", NOW, ["attendance"])
        yield s


def _count(db: Path, table: str) -> int:
    """Rows another connection sees (committed rows only)."""
    with sqlite3.connect(db) as other:
        return other.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608


def test_writes_of_a_batch_are_committed_together(store: StateStore, db: Path) -> None:
    with store.batch():
        store.enqueue_marks([_mark("s1"), _mark("s2")], "r1")
        store.save_lesson_result("L1", "r1", True, [Verdict(
            "L1", "s1", Outcome.ABSENT_UNEXCUSED, ("30",), "not_connected")], NOW)
        store.record_skip(Skip("L1", "s3", "manual_mark"), "r1")
        assert (_count(db, "outbox"), _count(db, "lessons"), _count(db, "skips")) == (0, 0, 0)
    assert (_count(db, "outbox"), _count(db, "lessons"), _count(db, "skips")) == (2, 1, 1)


@pytest.mark.parametrize("nested", [
    pytest.param(False, id="flat"),
    pytest.param(True, id="nested-batch"),
])
def test_an_error_leaving_the_batch_rolls_everything_back(store: StateStore, db: Path,
                                                          nested: bool) -> None:
    with pytest.raises(RuntimeError), store.batch():
        store.enqueue_marks([_mark("s1")], "r1")
        if nested:
            with store.batch():
                store.record_skip(Skip("L1", "s3", "manual_mark"), "r1")
        raise RuntimeError("boom")
    assert (_count(db, "outbox"), _count(db, "skips")) == (0, 0)
    assert store.pending_marks() == []
    store.enqueue_marks([_mark("s9")], "r1")  # the store is usable afterwards
    assert _count(db, "outbox") == 1


def test_a_failed_write_inside_a_batch_undoes_only_itself(store: StateStore, db: Path) -> None:
    with store.batch():
        store.enqueue_marks([_mark("s1")], "r1")
        with pytest.raises(KeyError):
            store.set_mark_status("no-such-key", "written", "r1")
        store.set_mark_status(_mark("s1").key, "written", "r1")
    row = store.outbox_row(_mark("s1").key)
    assert row is not None and (row.status, row.attempts) == ("written", 1)
    assert _count(db, "outbox") == 1


def test_other_threads_wait_for_the_batch(store: StateStore, db: Path) -> None:
    seen: list[int] = []
    with store.batch():
        store.enqueue_marks([_mark("s1")], "r1")
        worker = threading.Thread(target=lambda: seen.append(len(store.pending_marks())))
        worker.start()
        worker.join(timeout=0.2)
        assert worker.is_alive()  # blocked on the store until the batch ends
    worker.join(timeout=5)
    assert seen == [1]
