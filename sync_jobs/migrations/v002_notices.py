"""Schema v2: absence notices received outside e-klase (``kartiba notice add/import``).

Only what the rules read (points 20, 28, 41, 42): ids, kind, dates, when it was received and
the agreement; no free text.
"""

SQL = """
CREATE TABLE notices (
    id           TEXT PRIMARY KEY,
    student_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('illness', 'other', 'tech_problem')),
    date_from    TEXT NOT NULL,
    date_to      TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    agreement    TEXT CHECK (agreement IN ('catch_up', 'extended_deadline')),
    new_due      TEXT,
    CHECK (date_from <= date_to)
);
CREATE INDEX notices_dates ON notices (date_to, date_from);
"""
