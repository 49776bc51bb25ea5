"""Lesson results: whether a lesson is final, and its latest verdicts (ids and codes only)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from mappings.model import Verdict
from sync_jobs.state._db import Database, from_ts, ts


class LessonResults(Database):
    """The ``lessons`` and ``verdicts`` tables."""

    def lesson_final(self, lesson_id: str) -> bool:
        """Whether a lesson's result is final (the jobs stop looking at it)."""
        rows = self._rows("SELECT final FROM lessons WHERE lesson_id = ?", (lesson_id,))
        return bool(rows and rows[0]["final"])

    def lesson_open(self, lesson_id: str) -> bool:
        """Whether a lesson was judged (or tried) before and is not final yet."""
        rows = self._rows("SELECT final FROM lessons WHERE lesson_id = ?", (lesson_id,))
        return bool(rows) and not rows[0]["final"]

    def save_lesson_result(self, lesson_id: str, run_id: str, final: bool,
                           verdicts: Sequence[Verdict], evaluated_at: dt.datetime) -> None:
        """Replace a lesson's verdicts with the latest evaluation; a final lesson stays final.

        Only ids, outcome, points and the reason code are kept.
        """
        with self._tx() as c:
            c.execute(
                "INSERT INTO lessons (lesson_id, final, run_id, evaluated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (lesson_id) DO UPDATE SET final = max(final, excluded.final), "
                "run_id = excluded.run_id, evaluated_at = excluded.evaluated_at",
                (lesson_id, int(final), run_id, ts(evaluated_at)))
            c.execute("DELETE FROM verdicts WHERE lesson_id = ?", (lesson_id,))
            c.executemany(
                "INSERT INTO verdicts (lesson_id, student_id, outcome, points, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                [(lesson_id, v.student_id, str(v.outcome), json.dumps(list(v.points)), v.reason)
                 for v in verdicts])

    def verdicts(self, lesson_id: str) -> list[dict]:
        """The stored verdicts of a lesson, by student id."""
        rows = self._rows(
            "SELECT v.*, l.run_id, l.evaluated_at, l.final FROM verdicts v "
            "JOIN lessons l USING (lesson_id) WHERE lesson_id = ? ORDER BY student_id",
            (lesson_id,))
        return [{"lesson_id": r["lesson_id"], "student_id": r["student_id"],
                 "outcome": r["outcome"], "points": tuple(json.loads(r["points"])),
                 "reason": r["reason"], "run_id": r["run_id"],
                 "evaluated_at": from_ts(r["evaluated_at"]), "final": bool(r["final"])}
                for r in rows]

    def final_lesson_count(self) -> int:
        """How many lessons are final (for the operator's overview)."""
        return int(self._rows("SELECT count(*) FROM lessons WHERE final = 1")[0][0])
