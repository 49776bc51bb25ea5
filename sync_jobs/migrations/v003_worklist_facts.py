"""Schema v3: the worklist ledger, lesson facts and quota tallies (ids, times, numbers only).

* ``worklist``: each mark proposed to a teacher by e-mail (worklist mode), claimed pending
  and marked sent once the SMTP server accepted the teacher's message; a mail that failed is
  sent again at the next run with the same Message-ID.
* ``lesson_facts``: the timetable facts of each lesson a run read (date, number, times, group,
  subject, teacher ids, mode) and the UZDOTS/topic state the rules found: what
  ``kartiba report`` reads instead of asking the journal.
* ``quota_tallies``: remote / planned hours per group × subject and school year as the quota
  job counted them (point 7), so the report and the digest show the numbers of the alerts.
"""

SQL = """
CREATE TABLE worklist (
    key            TEXT PRIMARY KEY,
    teacher_id     TEXT NOT NULL,
    lesson_id      TEXT NOT NULL,
    student_id     TEXT NOT NULL,
    code           TEXT NOT NULL,
    excused        INTEGER NOT NULL CHECK (excused IN (0, 1)),
    points         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    comment        TEXT NOT NULL DEFAULT '',
    lesson_date    TEXT NOT NULL,
    lesson_number  INTEGER NOT NULL,
    lesson_start   TEXT NOT NULL,
    lesson_end     TEXT NOT NULL,
    group_id       TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    claimed_run    TEXT NOT NULL,
    claimed_at     TEXT,
    sent_run       TEXT,
    sent_at        TEXT,
    message_id     TEXT
);
CREATE INDEX worklist_status ON worklist (status, teacher_id);

CREATE TABLE lesson_facts (
    lesson_id   TEXT PRIMARY KEY,
    date        TEXT NOT NULL,
    number      INTEGER NOT NULL,
    start       TEXT NOT NULL,
    end         TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    teacher_id  TEXT NOT NULL,
    mode        TEXT NOT NULL,
    uzdots      TEXT NOT NULL DEFAULT '',
    topic       TEXT NOT NULL DEFAULT '',
    seen_run    TEXT NOT NULL,
    seen_at     TEXT
);
CREATE INDEX lesson_facts_date ON lesson_facts (date, group_id, subject_id);

CREATE TABLE quota_tallies (
    year_start     TEXT NOT NULL,
    group_id       TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    remote_hours   INTEGER NOT NULL,
    planned_hours  INTEGER NOT NULL,
    counted_run    TEXT NOT NULL,
    counted_at     TEXT,
    PRIMARY KEY (year_start, group_id, subject_id)
);
"""
