"""Schema v1: run lock, runs, lesson results, mark outbox, alert ledger, import and webhook
ledgers, audit log, digest bookkeeping.

Times are ISO 8601 strings in UTC with microseconds (``2026-11-30T16:00:00.000000+00:00``), so
they compare correctly as text. Rows keep ids, codes, numbers and kārtība points only; names
of people are never stored (the import and webhook ledgers keep the identifiers the upstream
gave, because the rules match people on them).
"""

SQL = """
CREATE TABLE run_lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    run_id      TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    started_at  TEXT NOT NULL
);

CREATE TABLE runs (
    run_id       TEXT PRIMARY KEY,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    jobs         TEXT NOT NULL DEFAULT '[]',
    counts       TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE lessons (
    lesson_id     TEXT PRIMARY KEY,
    final         INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1)),
    run_id        TEXT NOT NULL,
    evaluated_at  TEXT NOT NULL
);

CREATE TABLE verdicts (
    lesson_id   TEXT NOT NULL REFERENCES lessons (lesson_id) ON DELETE CASCADE,
    student_id  TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    points      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    PRIMARY KEY (lesson_id, student_id)
);

CREATE TABLE outbox (
    key          TEXT PRIMARY KEY,
    lesson_id    TEXT NOT NULL,
    student_id   TEXT NOT NULL,
    code         TEXT NOT NULL,
    excused      INTEGER NOT NULL CHECK (excused IN (0, 1)),
    points       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                 ('pending', 'written', 'already_present', 'refused', 'proposed', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_run  TEXT NOT NULL,
    created_at   TEXT,
    done_run     TEXT,
    done_at      TEXT
);
CREATE INDEX outbox_status ON outbox (status);

CREATE TABLE skips (
    lesson_id   TEXT NOT NULL,
    student_id  TEXT NOT NULL,
    why         TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    at          TEXT,
    PRIMARY KEY (lesson_id, student_id)
);

CREATE TABLE alert_ledger (
    key          TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    lesson_id    TEXT,
    student_id   TEXT,
    recipient    TEXT NOT NULL,
    role         TEXT NOT NULL DEFAULT '',
    audience     TEXT NOT NULL,
    points       TEXT NOT NULL,
    excused      INTEGER CHECK (excused IN (0, 1)),
    detail       TEXT NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    claimed_run  TEXT NOT NULL,
    claimed_at   TEXT,
    sent_run     TEXT,
    sent_at      TEXT,
    message_id   TEXT
);
CREATE INDEX alert_ledger_status ON alert_ledger (status);
CREATE INDEX alert_ledger_sent_at ON alert_ledger (sent_at);

CREATE TABLE imported_files (
    system  TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    name    TEXT NOT NULL,
    PRIMARY KEY (system, sha256)
);

CREATE TABLE imported_records (
    id            INTEGER PRIMARY KEY,
    system        TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    activity_url  TEXT NOT NULL,
    at            TEXT NOT NULL,
    kind          TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL DEFAULT '',
    student_id    TEXT,
    FOREIGN KEY (system, sha256) REFERENCES imported_files (system, sha256) ON DELETE CASCADE
);
CREATE INDEX imported_records_url ON imported_records (system, activity_url);

CREATE TABLE webhook_events (
    system       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    meeting_key  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    at           TEXT NOT NULL,
    payload      TEXT NOT NULL,
    PRIMARY KEY (system, event_id)
);
CREATE INDEX webhook_events_meeting ON webhook_events (system, meeting_key, at);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  TEXT NOT NULL,
    at      TEXT,
    action  TEXT NOT NULL,
    ids     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_run ON audit (run_id);

CREATE TABLE digests (
    kind     TEXT NOT NULL,
    period   TEXT NOT NULL,
    run_id   TEXT NOT NULL,
    sent_at  TEXT,
    PRIMARY KEY (kind, period)
);
"""
