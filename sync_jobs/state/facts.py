"""State-store tables of schema v3: the worklist ledger, lesson facts and quota tallies.

Mixed into :class:`sync_jobs.state.StateStore` (a :class:`~sync_jobs.state._db.Database`
mixin: ``_tx``, ``_rows`` and ``_run_time`` come from there). Everything kept here is ids,
times, codes and numbers: names are read from the journal when a message or report is rendered.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Sequence

from connectors.eklase.worklist import WorklistEntry
from sync_jobs.state._db import Database


@dataclasses.dataclass(frozen=True, slots=True)
class LessonFact:
    """What a report needs of one timetable lesson (ids and times only).

    ``uzdots``: "" (not checked yet), "on_time", "late", "missing" or "incomplete";
    ``topic``: "" (not due yet), "entered" or "missing".
    """

    lesson_id: str
    date: dt.date
    number: int
    start: dt.datetime
    end: dt.datetime
    group_id: str
    subject_id: str
    teacher_id: str
    mode: str
    uzdots: str = ""
    topic: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaTally:
    """Remote and planned hours of one group × subject in one school year (point 7)."""

    group_id: str
    subject_id: str
    remote_hours: int
    planned_hours: int

    @property
    def share(self) -> float:
        """Remote hours / planned hours (0 when nothing is planned)."""
        return self.remote_hours / self.planned_hours if self.planned_hours else 0.0


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


class FactsMixin(Database):
    """Worklist ledger, lesson facts and quota tallies of the state store."""

    # -- worklist ledger (connectors.eklase.worklist.WorklistLedger)

    def worklist_claim(self, entries: Sequence[WorklistEntry], run_id: str) -> int:
        """Enter proposed marks as pending worklist items; an existing key stays as it is.

        Returns:
            How many entries were new.
        """
        added = 0
        with self._tx() as c:
            when = self._run_time(c, run_id)
            for e in entries:
                cur = c.execute(
                    "INSERT OR IGNORE INTO worklist (key, teacher_id, lesson_id, student_id, "
                    "code, excused, points, reason, comment, lesson_date, lesson_number, "
                    "lesson_start, lesson_end, group_id, subject_id, claimed_run, claimed_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (e.key, e.teacher_id, e.lesson_id, e.student_id, e.code, int(e.excused),
                     json.dumps(list(e.points)), e.reason, e.comment, e.date.isoformat(),
                     e.number,
                     _utc(e.start), _utc(e.end), e.group_id, e.subject_id, run_id, when))
                added += cur.rowcount
        return added

    def worklist_pending(self) -> list[WorklistEntry]:
        """Proposed marks not mailed yet (this run's and earlier runs'), oldest first."""
        rows = self._rows("SELECT * FROM worklist WHERE status = 'pending' "
                          "ORDER BY claimed_at, rowid")
        return [WorklistEntry(
            key=r["key"], teacher_id=r["teacher_id"], lesson_id=r["lesson_id"],
            student_id=r["student_id"], code=r["code"], excused=bool(r["excused"]),
            points=tuple(json.loads(r["points"])), reason=r["reason"], comment=r["comment"],
            date=dt.date.fromisoformat(r["lesson_date"]), number=r["lesson_number"],
            start=dt.datetime.fromisoformat(r["lesson_start"]),
            end=dt.datetime.fromisoformat(r["lesson_end"]), group_id=r["group_id"],
            subject_id=r["subject_id"], attempts=r["attempts"]) for r in rows]

    def worklist_mark_sent(self, keys: Iterable[str], run_id: str, message_id: str,
                           at: dt.datetime | None = None) -> int:
        """Mark worklist items mailed (right after the SMTP server accepted the message)."""
        changed = 0
        with self._tx() as c:
            when = _utc(at) if at is not None else self._run_time(c, run_id)
            for key in keys:
                changed += c.execute(
                    "UPDATE worklist SET status = 'sent', sent_run = ?, sent_at = ?, "
                    "message_id = ? WHERE key = ? AND status = 'pending'",
                    (run_id, when, message_id, key)).rowcount
        return changed

    def worklist_failed(self, keys: Iterable[str]) -> None:
        """Count one failed mailing of these items (they stay pending for the next run)."""
        with self._tx() as c:
            c.executemany("UPDATE worklist SET attempts = attempts + 1 WHERE key = ?",
                          [(k,) for k in keys])

    def worklist_message_ids(self) -> dict[str, str]:
        """Message-ID of every mailed worklist item, by key."""
        return {r["key"]: r["message_id"] for r in self._rows(
            "SELECT key, message_id FROM worklist WHERE status = 'sent'")}

    # -- lesson facts

    def save_lesson_facts(self, facts: Iterable[LessonFact], run_id: str) -> None:
        """Insert or refresh lesson facts; a known UZDOTS/topic state is kept when the new
        one is "" (not checked in this run)."""
        with self._tx() as c:
            when = self._run_time(c, run_id)
            c.executemany(
                "INSERT INTO lesson_facts (lesson_id, date, number, start, end, group_id, "
                "subject_id, teacher_id, mode, uzdots, topic, seen_run, seen_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (lesson_id) DO UPDATE SET "
                "date = excluded.date, number = excluded.number, start = excluded.start, "
                "end = excluded.end, group_id = excluded.group_id, "
                "subject_id = excluded.subject_id, teacher_id = excluded.teacher_id, "
                "mode = excluded.mode, "
                "uzdots = CASE excluded.uzdots WHEN '' THEN uzdots ELSE excluded.uzdots END, "
                "topic = CASE excluded.topic WHEN '' THEN topic ELSE excluded.topic END, "
                "seen_run = excluded.seen_run, seen_at = excluded.seen_at",
                [(f.lesson_id, f.date.isoformat(), f.number, _utc(f.start), _utc(f.end),
                  f.group_id, f.subject_id, f.teacher_id, f.mode, f.uzdots, f.topic, run_id,
                  when) for f in facts])

    def lesson_facts(self, date_from: dt.date, date_to: dt.date) -> list[LessonFact]:
        """Lesson facts dated in [date_from, date_to], by date and number."""
        rows = self._rows("SELECT * FROM lesson_facts WHERE date BETWEEN ? AND ? "
                          "ORDER BY date, number, lesson_id",
                          (date_from.isoformat(), date_to.isoformat()))
        return [LessonFact(
            lesson_id=r["lesson_id"], date=dt.date.fromisoformat(r["date"]), number=r["number"],
            start=dt.datetime.fromisoformat(r["start"]), end=dt.datetime.fromisoformat(r["end"]),
            group_id=r["group_id"], subject_id=r["subject_id"], teacher_id=r["teacher_id"],
            mode=r["mode"], uzdots=r["uzdots"], topic=r["topic"]) for r in rows]

    # -- quota tallies

    def save_quota_tallies(self, year_start: dt.date, tallies: Iterable[QuotaTally],
                           run_id: str) -> None:
        """Replace a school year's tallies with the quota job's latest count."""
        with self._tx() as c:
            when = self._run_time(c, run_id)
            c.execute("DELETE FROM quota_tallies WHERE year_start = ?", (year_start.isoformat(),))
            c.executemany(
                "INSERT INTO quota_tallies (year_start, group_id, subject_id, remote_hours, "
                "planned_hours, counted_run, counted_at) VALUES (?,?,?,?,?,?,?)",
                [(year_start.isoformat(), t.group_id, t.subject_id, t.remote_hours,
                  t.planned_hours, run_id, when) for t in tallies])

    def quota_tallies(self, year_start: dt.date) -> list[QuotaTally]:
        """The stored tallies of a school year, by group and subject."""
        rows = self._rows("SELECT * FROM quota_tallies WHERE year_start = ? "
                          "ORDER BY group_id, subject_id", (year_start.isoformat(),))
        return [QuotaTally(r["group_id"], r["subject_id"], r["remote_hours"],
                           r["planned_hours"]) for r in rows]

    # -- report reads (verdicts and marks of a date range)

    def verdicts_between(self, date_from: dt.date, date_to: dt.date) -> list[dict]:
        """Stored verdicts of the lessons dated in the range (joined with lesson facts)."""
        rows = self._rows(
            "SELECT v.lesson_id, v.student_id, v.outcome, v.reason, l.final "
            "FROM verdicts v JOIN lessons l USING (lesson_id) "
            "JOIN lesson_facts f USING (lesson_id) WHERE f.date BETWEEN ? AND ? "
            "ORDER BY f.date, f.number, v.lesson_id, v.student_id",
            (date_from.isoformat(), date_to.isoformat()))
        return [dict(r) for r in rows]

    def marks_between(self, date_from: dt.date, date_to: dt.date) -> list[dict]:
        """Outbox marks of the lessons dated in the range (any status but failed for good)."""
        rows = self._rows(
            "SELECT o.lesson_id, o.student_id, o.code, o.excused, o.status, o.reason, o.points "
            "FROM outbox o JOIN lesson_facts f USING (lesson_id) WHERE f.date BETWEEN ? AND ? "
            "ORDER BY f.date, f.number, o.lesson_id, o.student_id",
            (date_from.isoformat(), date_to.isoformat()))
        return [{**dict(r), "excused": bool(r["excused"]),
                 "points": tuple(json.loads(r["points"]))} for r in rows]
