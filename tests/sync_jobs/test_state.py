"""The SQLite state store: schema, file mode, run lock, outbox, alert ledger, ledgers, purge."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.base import ImportLedger, WebhookLedger
from connectors.errors import ConfigError
from mappings.model import (
    ActivityRecord,
    Agreement,
    Alert,
    AlertKind,
    Audience,
    Mark,
    Notice,
    NoticeKind,
    Outcome,
    Skip,
    Verdict,
    frozen_map,
)
from sync_jobs.alerts.compose import Recipient
from sync_jobs.migrations import MIGRATIONS
from sync_jobs.state import StateStore, ledger_key, storable_detail

RIGA = ZoneInfo("Europe/Riga")
NOW = dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA)
REPO = Path(__file__).resolve().parents[2]


def mark(lesson: str = "L1", student: str = "s1", code: str = "n", excused: bool = False,
         points: tuple[str, ...] = ("30",), reason: str = "not_connected") -> Mark:
    return Mark(lesson, student, code, excused, points, reason)


def alert(kind: AlertKind = AlertKind.UZDOTS_MISSING, lesson: str | None = "L1",
          student: str | None = None, **detail: object) -> Alert:
    return Alert(kind=kind, lesson_id=lesson, student_id=student,
                 audience=(Audience.TEACHER,), points=("16",), detail=frozen_map(detail))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "kartiba.sqlite"


@pytest.fixture
def store(db: Path):
    with StateStore.open(db) as s:
        s.start_run("r1", NOW, ["attendance"])
        yield s


# --------------------------------------------------------------------------- schema and file


def test_migrations_from_an_empty_file_and_reopen(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.touch()  # an empty file is a valid, empty SQLite database
    with StateStore.open(db) as s:
        assert s.schema_version == len(MIGRATIONS)
        s.start_run("r1", NOW, ["uzdots"])
        assert s.enqueue_marks([mark()], "r1") == 1
    with StateStore.open(db) as s:  # re-open: nothing re-applied, data kept
        assert s.schema_version == len(MIGRATIONS)
        assert [r.key for r in s.pending_marks()] == ["L1:s1"]
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "run_lock", "outbox", "alert_ledger", "imported_files", "webhook_events",
            "audit", "digests", "notices"} <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_migrations_are_applied_in_order_from_an_older_version(db: Path) -> None:
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO runs (run_id, started_at) VALUES ('old', '2026-01-01')")
    conn.commit()
    conn.close()
    with StateStore.open(db) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert [r["run_id"] for r in s.last_runs(5)] == ["old"]
        assert s.notices(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == []


def test_a_newer_schema_is_refused(db: Path) -> None:
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(ConfigError, match="newer"):
        StateStore.open(db)


def test_a_failing_migration_leaves_the_file_untouched(db: Path, monkeypatch) -> None:
    import sync_jobs.state.schema as schema

    monkeypatch.setattr(schema, "MIGRATIONS", (MIGRATIONS[0], "CREATE TABLE runs (x);"))
    with pytest.raises(sqlite3.OperationalError):
        StateStore.open(db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


@pytest.mark.parametrize("existing_mode", [
    pytest.param(None, id="new-file"),
    pytest.param(0o644, id="existing-world-readable"),
])
def test_files_are_private(db: Path, existing_mode: int | None) -> None:
    if existing_mode is not None:
        db.parent.mkdir(parents=True)
        db.touch()
        os.chmod(db, existing_mode)
    with StateStore.open(db) as s:
        s.acquire_lock("r1", NOW)
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.lock")):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


# --------------------------------------------------------------------------- run lock


def test_second_store_cannot_take_a_held_lock(db: Path) -> None:
    with StateStore.open(db) as a, StateStore.open(db) as b:
        assert a.acquire_lock("r1", NOW)
        assert a.acquire_lock("r1", NOW)  # re-entrant for the same run
        assert not a.acquire_lock("r2", NOW)
        assert not b.acquire_lock("r2", NOW)
        owner = b.lock_owner()
        assert (owner["run_id"], owner["pid"], owner["host"]) == (
            "r1", os.getpid(), socket.gethostname())
        a.release_lock("r1")
        assert b.lock_owner() is None
        assert b.acquire_lock("r2", NOW)


_HOLDER = """
import datetime as dt, sys
from sync_jobs.state import StateStore
s = StateStore.open(sys.argv[1])
assert s.acquire_lock("holder", dt.datetime.now(dt.UTC))
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("sig", [
    pytest.param(signal.SIGKILL, id="sigkill"),
    pytest.param(signal.SIGTERM, id="sigterm"),
])
def test_lock_of_another_process_and_recovery_after_it_dies(db: Path, sig: int) -> None:
    StateStore.open(db).close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with StateStore.open(db) as s:
            assert not s.acquire_lock("r2", NOW)
            assert s.lock_owner()["pid"] == holder.pid
            holder.send_signal(sig)
            holder.wait(timeout=10)
            assert s.acquire_lock("r2", NOW)  # flock gone with the process; row recovered
            assert s.lock_owner()["run_id"] == "r2"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def _plant_lock_row(db: Path, pid: int, host: str, started: dt.datetime) -> None:
    conn = sqlite3.connect(db)
    conn.execute("INSERT OR REPLACE INTO run_lock VALUES (1, 'ghost', ?, ?, ?)",
                 (pid, host, started.astimezone(dt.UTC).isoformat()))
    conn.commit()
    conn.close()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no such process any more


@pytest.mark.parametrize(("pid", "host", "age_s", "taken"), [
    pytest.param("dead", "here", 10, True, id="dead-pid-this-host"),
    pytest.param("self", "here", 10, True, id="live-pid-without-flock-this-host"),
    pytest.param(1, "other-host.example", 10, False, id="other-host-fresh"),
    pytest.param(1, "other-host.example", 7200, True, id="other-host-stale"),
])
def test_lock_row_recovery(db: Path, pid, host: str, age_s: int, taken: bool) -> None:
    StateStore.open(db).close()
    real_pid = _dead_pid() if pid == "dead" else os.getpid() if pid == "self" else pid
    _plant_lock_row(db, real_pid, socket.gethostname() if host == "here" else host,
                    NOW - dt.timedelta(seconds=age_s))
    with StateStore.open(db) as s:
        assert s.acquire_lock("r2", NOW, stale_after_s=3600) is taken
        assert s.lock_owner()["run_id"] == ("r2" if taken else "ghost")


# --------------------------------------------------------------------------- runs and lessons


def test_runs_are_listed_newest_first(store: StateStore) -> None:
    store.start_run("r2", NOW + dt.timedelta(hours=1), ["uzdots", "attendance"])
    store.finish_run("r2", NOW + dt.timedelta(hours=1, minutes=2), {"marks_written": 3})
    runs = store.last_runs(5)
    assert [r["run_id"] for r in runs] == ["r2", "r1"]
    assert runs[0]["counts"] == {"marks_written": 3}
    assert runs[0]["jobs"] == ["uzdots", "attendance"]
    assert runs[0]["finished_at"] == NOW + dt.timedelta(hours=1, minutes=2)
    assert runs[1]["finished_at"] is None
    assert [r["run_id"] for r in store.last_runs(1)] == ["r2"]
    with pytest.raises(KeyError):
        store.finish_run("nope", NOW, {})


def test_lesson_results_keep_ids_only_and_final_stays_final(store: StateStore) -> None:
    first = [Verdict("L1", "s1", Outcome.NOT_YET_DUE, ("31",), "not_due",
                     frozen_map({"name": "Jānis Bērziņš"}))]
    store.save_lesson_result("L1", "r1", False, first, NOW)
    assert not store.lesson_final("L1")
    second = [Verdict("L1", "s1", Outcome.ABSENT_UNEXCUSED, ("31",), "no_activity"),
              Verdict("L1", "s2", Outcome.PRESENT, ("31",), "activity")]
    store.save_lesson_result("L1", "r1", True, second, NOW)
    store.save_lesson_result("L1", "r1", False, second, NOW)  # final never goes back
    assert store.lesson_final("L1")
    assert not store.lesson_final("L2")
    rows = store.verdicts("L1")
    assert [(r["student_id"], r["outcome"], r["points"], r["reason"]) for r in rows] == [
        ("s1", "absent_unexcused", ("31",), "no_activity"),
        ("s2", "present", ("31",), "activity")]
    raw = sqlite3.connect(store.path).execute("SELECT * FROM verdicts").fetchall()
    assert "Bērziņš" not in json.dumps(raw)


# --------------------------------------------------------------------------- outbox


def test_outbox_never_changes_an_existing_key(store: StateStore) -> None:
    assert store.enqueue_marks([mark(), mark(student="s2")], "r1") == 2
    store.set_mark_status("L1:s1", "written", "r1")
    store.start_run("r2", NOW + dt.timedelta(days=1), ["attendance"])
    changed = mark(code="n", excused=True, points=("20", "28", "30"), reason="notice")
    assert store.enqueue_marks([changed, mark(student="s3")], "r2") == 1
    row = store.outbox_row("L1:s1")
    assert (row.status, row.excused, row.points, row.created_run) == (
        "written", False, ("30",), "r1")
    assert row.to_mark() == mark()
    assert [r.key for r in store.pending_marks()] == ["L1:s2", "L1:s3"]


@pytest.mark.parametrize(("statuses", "pending", "attempts", "done_run"), [
    pytest.param([], True, 0, None, id="new"),
    pytest.param(["written"], False, 1, "r1", id="written"),
    pytest.param(["already_present"], False, 1, "r1", id="already-present"),
    pytest.param(["refused"], False, 1, "r1", id="refused"),
    pytest.param(["proposed"], False, 1, "r1", id="proposed-worklist"),
    pytest.param(["failed"], True, 1, None, id="failed-once-retryable"),
    pytest.param(["failed", "written"], False, 2, "r1", id="failed-then-written"),
    pytest.param(["failed"] * 3, False, 3, "r1", id="failed-max-attempts"),
])
def test_mark_status_and_retries(db: Path, statuses, pending, attempts, done_run) -> None:
    with StateStore.open(db, max_attempts=3) as s:
        s.start_run("r1", NOW, [])
        s.enqueue_marks([mark()], "r1")
        for status in statuses:
            s.set_mark_status("L1:s1", status, "r1", error="HTTP 503" if status == "failed" else "")
        assert bool(s.pending_marks()) is pending
        row = s.outbox_row("L1:s1")
        assert (row.attempts, row.done_run) == (attempts, done_run)
        assert row.status == (statuses[-1] if statuses else "pending")
        assert s.outbox_counts()[row.status] == 1
        assert sum(s.outbox_counts().values()) == 1


def test_mark_status_rejects_unknown_status_and_key(store: StateStore) -> None:
    store.enqueue_marks([mark()], "r1")
    with pytest.raises(ValueError):
        store.set_mark_status("L1:s1", "pending", "r1")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        store.set_mark_status("L9:s9", "written", "r1")


def test_skips_are_recorded_once(store: StateStore) -> None:
    skip = Skip("L1", "s3", "manual_mark")
    assert store.record_skip(skip, "r1")
    assert not store.record_skip(skip, "r1")
    assert store.record_skip(Skip("L1", "s2", "manual_mark"), "r1")


def test_concurrent_threads_share_one_store(store: StateStore) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                store.enqueue_marks([mark(lesson=f"L{n}", student=f"s{i}")], "r1")
                store.audit("r1", "queued", lesson=f"L{n}", student=f"s{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.outbox_counts()["pending"] == 120
    assert len(store.audit_rows("r1")) == 120


# --------------------------------------------------------------------------- alert ledger


def test_ledger_never_returns_an_item_twice(store: StateStore) -> None:
    a1, a2 = alert(), alert(AlertKind.TOPIC_MISSING)
    claimed = store.ledger_claim([(a1, "Ilze@School.lv"), (a2, "ilze@school.lv"),
                                  (a1, "ilze@school.lv")], "r1")
    assert [c.key for c in claimed] == [ledger_key(a1, "ilze@school.lv"),
                                        ledger_key(a2, "ilze@school.lv")]
    assert store.ledger_mark_sent([c.key for c in claimed], "r1", "<m1@x>") == 2
    store.start_run("r2", NOW + dt.timedelta(days=1), [])
    again = store.ledger_claim([(a1, "ilze@school.lv"), (a1, "deputy@school.lv")], "r2")
    assert [c.recipient for c in again] == ["deputy@school.lv"]  # a new recipient only
    assert store.ledger_mark_sent([again[0].key, claimed[0].key], "r2", "<m2@x>") == 1


def test_pending_after_a_crash_is_retried_not_doubled(db: Path) -> None:
    a = alert(AlertKind.ABSENCE, student="s2")
    a = Alert(a.kind, a.lesson_id, a.student_id, (Audience.CLASS_TEACHER,), ("22", "32"),
              excused=False, detail=frozen_map({"reason": "not_connected", "code": "n",
                                                "name": "Jānis", "share": 0.2}))
    with StateStore.open(db) as s:
        s.start_run("r1", NOW, [])
        claimed = s.ledger_claim([(a, Recipient("aud@school.lv", "Anna", "class_teacher"))],
                                 "r1")
        assert len(claimed) == 1
        # crash here: the SMTP server never accepted the message
    with StateStore.open(db) as s:
        s.start_run("r2", NOW + dt.timedelta(hours=1), [])
        pending = s.ledger_pending()
        assert [p.key for p in pending] == [claimed[0].key]
        item = pending[0]
        assert (item.recipient, item.role, item.claimed_run) == (
            "aud@school.lv", "class_teacher", "r1")
        restored = item.alert
        assert (restored.kind, restored.lesson_id, restored.student_id, restored.audience,
                restored.points, restored.excused) == (
            a.kind, a.lesson_id, a.student_id, a.audience, a.points, a.excused)
        assert dict(restored.detail) == {"reason": "not_connected", "code": "n", "share": 0.2}
        # the rules produce the same alert again: still the one pending item, not a second
        assert [c.key for c in s.ledger_claim([(a, "aud@school.lv")], "r2")] == [item.key]
        assert s.ledger_mark_sent([item.key], "r2", "<m@x>") == 1
        assert s.ledger_pending() == []
        assert s.ledger_claim([(a, "aud@school.lv")], "r2") == []
        sent = s.ledger_sent_since(NOW)
        assert [(r["key"], r["sent_run"], r["message_id"]) for r in sent] == [
            (item.key, "r2", "<m@x>")]
        assert sent[0]["sent_at"] == NOW + dt.timedelta(hours=1)
        assert s.ledger_sent_since(NOW + dt.timedelta(hours=2)) == []


@pytest.mark.parametrize(("detail", "kept"), [
    pytest.param({"reason": "left_early", "connected_s": 600}, {"reason": "left_early",
                                                                "connected_s": 600}, id="codes"),
    pytest.param({"unmatched": ["Jānis B"], "count": 1}, {"count": 1}, id="names-dropped"),
    pytest.param({"student_ids": ("s1", "s2")}, {"student_ids": ["s1", "s2"]}, id="ids"),
    pytest.param({"deadline": dt.datetime(2026, 11, 27, 17, tzinfo=RIGA)},
                 {"deadline": "2026-11-27T17:00:00+02:00"}, id="datetime"),
    pytest.param({"missing": ["link", "due"]}, {"missing": ["link", "due"]}, id="missing"),
])
def test_ledger_detail_keeps_ids_and_numbers_only(detail, kept) -> None:
    assert storable_detail(detail) == kept


# --------------------------------------------------------------------------- import / webhook


def rec(url: str, minute: int, **kw) -> ActivityRecord:
    return ActivityRecord("uzdevumi", url, dt.datetime(2026, 11, 30, 10, minute, tzinfo=RIGA),
                          "result", **kw)


def test_import_ledger(store: StateStore) -> None:
    assert isinstance(store, ImportLedger)
    u1, u2 = "https://www.uzdevumi.lv/p/a", "https://www.uzdevumi.lv/p/b"
    assert not store.file_seen("uzdevumi", "abc")
    store.record_file("uzdevumi", "abc", "export.csv",
                      [rec(u1, 5, email="j@x.lv"), rec(u2, 1, student_id="s2"), rec(u1, 2)])
    assert store.file_seen("uzdevumi", "abc")
    assert not store.file_seen("soma", "abc")
    store.record_file("uzdevumi", "abc", "export-again.csv", [rec(u1, 9)])  # seen: ignored
    got = store.imported_records("uzdevumi", [u1])
    assert [(r.at.minute, r.email) for r in got] == [(2, ""), (5, "j@x.lv")]
    assert store.imported_records("uzdevumi", [u2])[0].student_id == "s2"
    assert store.imported_records("soma", [u1, u2]) == []


def test_import_of_a_file_is_all_or_nothing(store: StateStore) -> None:
    naive = ActivityRecord("soma", "https://app.soma.lv/x", dt.datetime(2026, 11, 30, 10),
                           "result")
    with pytest.raises(ValueError):
        store.record_file("soma", "f1", "bad.csv", [rec("https://app.soma.lv/x", 1), naive])
    assert not store.file_seen("soma", "f1")
    assert store.imported_records("soma", ["https://app.soma.lv/x"]) == []


def test_webhook_ledger_rejects_replays(store: StateStore) -> None:
    assert isinstance(store, WebhookLedger)
    at = dt.datetime(2026, 11, 30, 9, 2, tzinfo=RIGA)
    assert store.add_event("zoom", "e2", "812", "participant_left", at + dt.timedelta(minutes=5),
                           {"event": "left"})
    assert store.add_event("zoom", "e1", "812", "participant_joined", at, {"event": "joined"})
    assert not store.add_event("zoom", "e1", "812", "participant_joined", at, {"event": "x"})
    assert store.add_event("zoom", "e3", "999", "chat", at, {"event": "chat"})
    assert store.events("zoom", "812") == [{"event": "joined"}, {"event": "left"}]
    assert store.events("teams", "812") == []


# --------------------------------------------------------------------------- notices, audit


def test_local_notices_by_overlap(store: StateStore) -> None:
    n1 = Notice("n1", "s1", NoticeKind.ILLNESS, dt.date(2026, 11, 30), dt.date(2026, 12, 2),
                dt.datetime(2026, 11, 30, 7, 40, tzinfo=RIGA))
    n2 = Notice("n2", "s2", NoticeKind.TECH_PROBLEM, dt.date(2026, 11, 25),
                dt.date(2026, 11, 25), dt.datetime(2026, 11, 25, 9, tzinfo=RIGA),
                Agreement.EXTENDED_DEADLINE, dt.datetime(2026, 11, 27, 17, tzinfo=RIGA))
    assert store.add_notice(n1) and store.add_notice(n2)
    assert not store.add_notice(n1)
    assert store.notices(dt.date(2026, 12, 1), dt.date(2026, 12, 1)) == [n1]
    assert store.notices(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == [n2, n1]


def test_audit_holds_ids_only(store: StateStore) -> None:
    store.audit("r1", "mark_written", lesson="L1", student="s1")
    store.audit("r1", "mark_written", lesson="L1", student="s3@eklase")  # ids are opaque
    with pytest.raises(ValueError, match="personal"):
        store.audit("r1", "mail_sent", to="ilze@school.lv")
    with pytest.raises(ValueError, match="personal"):
        store.audit("r1", "x", teacher_email="t1")
    with pytest.raises(TypeError):
        store.audit("r1", "x", names=["Jānis"])
    rows = store.audit_rows()
    assert [(r["run_id"], r["action"], r["ids"], r["at"]) for r in rows] == [
        ("r1", "mark_written", {"lesson": "L1", "student": "s1"}, NOW),
        ("r1", "mark_written", {"lesson": "L1", "student": "s3@eklase"}, NOW)]
    assert store.audit_rows("other") == []


def test_digest_bookkeeping(store: StateStore) -> None:
    assert not store.digest_sent("class_teacher", "2026-W48")
    store.mark_digest_sent("class_teacher", "2026-W48", "r1")
    store.mark_digest_sent("class_teacher", "2026-W48", "r1")
    assert store.digest_sent("class_teacher", "2026-W48")
    assert not store.digest_sent("oversight", "2026-W48")


def test_status_overview(store: StateStore) -> None:
    store.enqueue_marks([mark()], "r1")
    store.ledger_claim([(alert(), "t@school.lv")], "r1")
    status = store.status()
    assert status["schema_version"] == len(MIGRATIONS)
    assert status["outbox"]["pending"] == 1
    assert status["alerts"] == {"pending": 1, "sent": 0}
    assert status["lock"] is None
    assert [r["run_id"] for r in status["last_runs"]] == ["r1"]


# --------------------------------------------------------------------------- purge


def test_purge_drops_old_rows_and_keeps_what_is_open(store: StateStore) -> None:
    old, new = "r1", "r2"  # r1 at NOW, r2 forty days later
    later = NOW + dt.timedelta(days=40)
    store.finish_run(old, NOW, {})
    store.start_run(new, later, [])
    for run, lesson, when in ((old, "L1", NOW), (new, "L2", later)):
        store.save_lesson_result(lesson, run, True,
                                 [Verdict(lesson, "s1", Outcome.PRESENT, ("30",), "ok")], when)
        store.enqueue_marks([mark(lesson=lesson), mark(lesson=lesson, student="s2")], run)
        store.set_mark_status(f"{lesson}:s1", "written", run)
        store.record_skip(Skip(lesson, "s3", "manual_mark"), run)
        store.audit(run, "x", lesson=lesson)
        store.add_event("zoom", f"ev-{lesson}", lesson, "joined", when, {})
        store.record_file("uzdevumi", f"sha-{lesson}", "f.csv",
                          [ActivityRecord("uzdevumi", f"u-{lesson}", when, "result")])
        sent, pending = alert(lesson=lesson), alert(AlertKind.TOPIC_MISSING, lesson=lesson)
        items = store.ledger_claim([(sent, "t@s.lv"), (pending, "t@s.lv")], run)
        store.ledger_mark_sent([items[0].key], run, "<m>")
        store.mark_digest_sent("class_teacher", run, run)
        store.add_notice(Notice(f"n-{lesson}", "s1", NoticeKind.ILLNESS, when.date(),
                                when.date(), when))
    counts = store.purge(NOW + dt.timedelta(days=10))
    assert counts == {"verdicts": 1, "lessons": 1, "webhook_events": 1, "imported_records": 1,
                      "alert_ledger": 1, "audit": 1, "skips": 1, "outbox": 1, "digests": 1,
                      "runs": 1, "notices": 1, "worklist": 0, "lesson_facts": 0,
                      "quota_tallies": 0}
    assert not store.lesson_final("L1") and store.lesson_final("L2")
    assert sorted(r.key for r in store.pending_marks()) == ["L1:s2", "L2:s2"]  # pending stays
    assert {p.alert.lesson_id for p in store.ledger_pending()} == {"L1", "L2"}
    assert store.file_seen("uzdevumi", "sha-L1")  # hashes stay: never re-imported
    assert store.events("zoom", "L1") == [] and store.events("zoom", "L2") == [{}]
    assert [r["run_id"] for r in store.last_runs(5)] == [new]
    assert store.purge(NOW + dt.timedelta(days=10)) == dict.fromkeys(counts, 0)


def test_facts_tallies_and_worklist_round_trip(tmp_path):
    """Schema v3: lesson facts keep a known UZDOTS state; tallies replace; worklist pending→sent."""
    import connectors.eklase.worklist as wl
    from sync_jobs.state import LessonFact, QuotaTally

    when = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    with StateStore.open(tmp_path / "s.sqlite") as store:
        store.start_run("r1", when, [])
        fact = LessonFact("L1", when.date(), 2, when, when + dt.timedelta(minutes=45), "g1",
                          "m1", "t1", "remote_sync", uzdots="late", topic="entered")
        store.save_lesson_facts([fact], "r1")
        store.save_lesson_facts([dataclasses.replace(fact, uzdots="", topic="")], "r1")
        assert store.lesson_facts(when.date(), when.date()) == [fact]
        store.save_quota_tallies(dt.date(2026, 9, 1), [QuotaTally("g1", "m1", 3, 10)], "r1")
        store.save_quota_tallies(dt.date(2026, 9, 1), [QuotaTally("g1", "m1", 4, 10)], "r1")
        assert store.quota_tallies(dt.date(2026, 9, 1)) == [QuotaTally("g1", "m1", 4, 10)]
        entry = wl.WorklistEntry("L1:s1", "t1", "L1", "s1", "n", False, ("30",), "x",
                                 when.date(), 2, when, when + dt.timedelta(minutes=45), "g1",
                                 "m1", comment="c")
        assert store.worklist_claim([entry, entry], "r1") == 1
        store.worklist_failed(["L1:s1"])
        assert store.worklist_pending() == [dataclasses.replace(entry, attempts=1)]
        assert store.worklist_mark_sent(["L1:s1"], "r1", "<m@x>") == 1
        assert store.worklist_pending() == [] and store.worklist_message_ids() == {
            "L1:s1": "<m@x>"}
        assert store.worklist_claim([entry], "r2") == 0  # mailed once, never again
