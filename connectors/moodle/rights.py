"""``kartiba check`` on Moodle: prove the account's rights on what the lessons link.

A mixin of :class:`~connectors.moodle.source.MoodleActivitySource`: it makes the calls a run
makes, through the same cached paths, so a refusal or a warning is found exactly as a run
would meet it — and named (function, code, right) before any lesson is judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.moodle.client import WsDeniedError, WsFailedError, WsNotFoundError
from connectors.moodle.gaps import GROUPS_RIGHT, Incomplete, denied_detail
from connectors.moodle.models import Assignment, CourseModule, Quiz
from mappings.model import ActivityRef, EvidenceGap


class RightsCheck:
    """``rights()`` for the Moodle source (uses its locating and cached calls)."""

    _lock: Any
    _loc: Any
    settings: Any

    def rights(self, refs: Sequence[ActivityRef]) -> list[tuple[str, str]]:
        """Prove the account's rights on what the lessons link (for ``kartiba check``).

        For the courses of ``refs`` and of ``settings.course_ids``, calls what a run calls —
        the enrolled users (e-mails, groups), the submissions of the linked assignments (their
        warnings), one student's earlier attempts, quiz attempts and completion — and names
        the missing right of each refusal or warning. Read-only, a handful of calls.

        Returns:
            ``(level, message)`` pairs, level ``OK``, ``WARN`` or ``FAIL``.
        """
        with self._lock:
            usable = [ref for ref in dict.fromkeys(refs) if self._is_ours(ref)]
            self._locate(usable)
            findings = [("WARN", f"a lesson links cmid {cmid}, which this Moodle cannot use: "
                         f"{failure.detail}")
                        for cmid, failure in self._loc.failed.items()
                        if failure.gap is EvidenceGap.INVALID_LINK]
            findings += [("FAIL", failure.detail) for failure in self._loc.failed.values()
                         if failure.gap is not EvidenceGap.INVALID_LINK]
            targets = self._targets(usable)
            courses = sorted(set(self.settings.course_ids) | {c for c, _ in targets})
            for course in courses:
                findings += self._course_rights(course, [t for c, t in targets if c == course])
            return findings or [("WARN", "no course to check: set moodle.course_ids or link "
                                         "an activity in a recent UZDOTS entry")]

    def _targets(self, refs: Sequence[ActivityRef]) -> list[tuple[int, Any]]:
        """(course, located activity) of each usable link."""
        out: list[tuple[int, Any]] = []
        for ref in refs:
            cmid = ref.cmid or 0
            found = (self._loc.assignments.get(cmid) or self._loc.quizzes.get(cmid)
                     or self._loc.modules.get(cmid))
            if found is not None:
                out.append((found.course, found))
        return out

    def _course_rights(self, course: int, targets: Sequence[Any]) -> list[tuple[str, str]]:
        """The findings for one course: its users, then each kind of linked activity."""
        try:
            students = self._course_students(course)
        except Incomplete as gap:
            return [("FAIL", f"course {course}: {gap.detail}")]
        if not students:
            return [("WARN", f"course {course} lists no students: the account lacks "
                             f"{GROUPS_RIGHT} (separate groups), moodle/user:viewdetails or "
                             "moodle/course:viewsuspendedusers, or nobody is enrolled")]
        first = next(iter(students.values()))
        found = [("OK", f"course {course}: {len(students)} students with e-mails")]
        probes = [self._probe_assign(t, first.id) for t in targets if isinstance(t, Assignment)]
        probes += [self._probe(f"quiz {t.id}", lambda t=t: self._user_attempts(t.id, first.id))
                   for t in targets if isinstance(t, Quiz)]
        if any(isinstance(t, CourseModule) for t in targets):
            probes.append(self._probe(f"course {course} completion",
                                      lambda: self._statuses(course, first.id)))
        return found + [p for p in probes if p is not None]

    def _probe_assign(self, assignment: Assignment, user_id: int) -> tuple[str, str] | None:
        self._load_submissions({assignment.id})
        rows = self._submissions.get(assignment.id)
        if isinstance(rows, Incomplete):
            return "FAIL", f"assignment {assignment.id}: {rows.detail}"
        return self._probe(f"assignment {assignment.id}",
                           lambda: self._previous_attempts(assignment.id, user_id))

    @staticmethod
    def _probe(what: str, call: Any) -> tuple[str, str] | None:
        """Run one per-student call; a refusal or warning is a finding naming the right."""
        try:
            call()
        except Incomplete as gap:
            return "FAIL", f"{what}: {gap.detail}"
        except WsDeniedError as exc:
            return "FAIL", f"{what}: {denied_detail(exc.function, exc.errorcode)}"
        except (WsNotFoundError, WsFailedError) as exc:
            return "WARN", f"{what}: {exc.function}: {exc.errorcode}"
        return None
