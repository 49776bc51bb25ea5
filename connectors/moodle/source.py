"""skolo.lv (Moodle) as an :class:`~connectors.base.ActivitySource`.

What counts as engagement (kārtības 31. p.): a *submitted* assignment submission (drafts and
"new" never count), a *finished* quiz attempt, or — for any other module with completion
tracking — a completed activity. Records carry the Moodle user's e-mail and full name; the
jobs match them to students.

Calls per run, by design (one source object = one run; everything below is cached on it):

* locating the linked activities: one ``mod_assign_get_assignments`` for all courses involved
  (and one ``mod_quiz_get_quizzes_by_courses`` when quizzes are linked). Courses come from
  ``settings.course_ids``; a link into a course not listed costs one
  ``core_course_get_course_module`` (then one more batch call for the new courses);
* one ``mod_assign_get_submissions`` for all linked assignments;
* one ``core_enrol_get_enrolled_users`` per course involved (user id -> e-mail, name, role);
* quizzes only: one ``mod_quiz_get_user_attempts`` per (linked quiz, enrolled student) — the
  API answers per user by design;
* other modules only: one ``core_completion_get_activities_completion_status`` per
  (course, enrolled student).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from connectors.errors import ConfigError, NotFoundError, ProtocolError, RecordError
from connectors.moodle.client import MoodleClient
from connectors.moodle.models import (
    Assignment,
    CompletionStatus,
    CourseModule,
    EnrolledUser,
    Quiz,
    QuizAttempt,
    SiteInfo,
    Submission,
    from_unix,
    parse_items,
    warnings_of,
)
from connectors.moodle.settings import MoodleSettings
from mappings.model import ActivityEvidence, ActivityRecord, ActivityRef

log = logging.getLogger("kartiba.moodle")

SYSTEM = "moodle"
REQUIRED_FUNCTIONS = (
    "core_webservice_get_site_info",
    "core_course_get_course_module",
    "core_enrol_get_enrolled_users",
    "mod_assign_get_assignments",
    "mod_assign_get_submissions",
    "mod_quiz_get_quizzes_by_courses",
    "mod_quiz_get_user_attempts",
    "core_completion_get_activities_completion_status",
)
_COMPLETED = {1, 2, 3}  # complete, complete-pass, complete-fail: the student engaged

Evidence = dict[ActivityRef, ActivityEvidence]


@dataclass
class _Located:
    """Where the activities of one run were found (cmid -> instance)."""

    assignments: dict[int, Assignment] = field(default_factory=dict)
    quizzes: dict[int, Quiz] = field(default_factory=dict)
    modules: dict[int, CourseModule | None] = field(default_factory=dict)
    assign_courses: set[int] = field(default_factory=set)
    quiz_courses: set[int] = field(default_factory=set)


class MoodleActivitySource:
    """Evidence of asynchronous work on skolo.lv for UZDOTS activity links.

    Args:
        client: the Moodle web-service client.
        settings: the ``[moodle]`` settings (course ids, link hosts, student roles).
    """

    platform = SYSTEM

    def __init__(self, client: MoodleClient, settings: MoodleSettings) -> None:
        self.client = client
        self.settings = settings
        self.errors: list[RecordError] = []  # malformed records met during this run
        self._hosts = set(settings.hosts) | {urlsplit(settings.base_url).hostname or ""}
        self._loc = _Located()
        self._students: dict[int, dict[int, EnrolledUser]] = {}
        self._submissions: dict[int, list[Submission]] = {}
        self._attempts: dict[tuple[int, int], list[QuizAttempt]] = {}
        self._completion: dict[tuple[int, int], list[CompletionStatus]] = {}
        self._lock = threading.Lock()  # jobs may fetch from several threads: one at a time

    # ------------------------------------------------------------------ protocol

    def fetch(self, refs: Sequence[ActivityRef], until: dt.datetime) -> Evidence:
        """Evidence for every ref; ``found=False`` for links this Moodle has no activity for."""
        with self._lock:
            return self._fetch(refs, until)

    def _fetch(self, refs: Sequence[ActivityRef], until: dt.datetime) -> Evidence:
        out: Evidence = {}
        usable = []
        for ref in dict.fromkeys(refs):
            if self._is_ours(ref):
                usable.append(ref)
            else:
                out[ref] = ActivityEvidence(ref=ref, found=False)
        self._locate(usable)
        self._load_submissions({a.id for ref in usable
                                if (a := self._loc.assignments.get(ref.cmid or 0))})
        for ref in usable:
            out[ref] = self._evidence(ref, until)
        return out

    def health(self) -> str:
        """Check the token and that the service offers every function kartiba calls.

        Raises:
            ConfigError: the service lacks functions; errors of the call itself.
        """
        try:
            info = SiteInfo.model_validate(self.client.site_info())
        except ValidationError:
            raise ProtocolError("moodle: core_webservice_get_site_info answered an unknown "
                                "shape", upstream=SYSTEM) from None
        names = info.function_names
        missing = [f for f in REQUIRED_FUNCTIONS if names and f not in names]
        if missing:
            raise ConfigError("moodle: the web service lacks functions: " + ", ".join(missing),
                              setting="moodle.service")
        return (f"moodle: {info.sitename or '?'} (Moodle {info.release or '?'}), "
                f"web-service user id {info.userid}")

    # ------------------------------------------------------------------ locating

    def _is_ours(self, ref: ActivityRef) -> bool:
        host = (urlsplit(ref.url).hostname or "").lower()
        return ref.platform == SYSTEM and ref.cmid is not None and host in self._hosts

    def _locate(self, refs: Sequence[ActivityRef]) -> None:
        """Find each linked course module, loading as few courses as can be.

        The link's kind ("assign", "quiz") says which batch to try first in the configured
        courses; a course module not found there is looked up, and its course loaded.
        """
        refs = [r for r in refs if r.cmid is not None and not self._known(r.cmid)]
        if not refs:
            return
        configured = set(self.settings.course_ids)
        self._load_courses(
            assign=configured if any(r.kind == "assign" for r in refs) else set(),
            quiz=configured if any(r.kind == "quiz" for r in refs) else set())
        unknown = [r.cmid for r in refs if r.cmid is not None and not self._known(r.cmid)]
        modules = [m for cmid in dict.fromkeys(unknown)
                   if (m := self._course_module(cmid)) is not None]
        self._load_courses(assign={m.course for m in modules if m.modname == "assign"},
                           quiz={m.course for m in modules if m.modname == "quiz"})

    def _known(self, cmid: int) -> bool:
        return (cmid in self._loc.assignments or cmid in self._loc.quizzes
                or cmid in self._loc.modules)

    def _load_courses(self, assign: set[int], quiz: set[int]) -> None:
        new_assign = sorted(assign - self._loc.assign_courses)
        if new_assign:
            self._loc.assign_courses.update(new_assign)
            payload = self.client.assignments(new_assign)
            self._log_warnings("mod_assign_get_assignments", payload)
            for course in payload.get("courses", []) if isinstance(payload, dict) else []:
                cid = course.get("id") if isinstance(course, dict) else None
                good, bad = parse_items(Assignment, (course or {}).get("assignments", []))
                self._report_bad(bad, f"course {cid} assignment")
                self._loc.assignments.update({a.cmid: a for a in good})
        new_quiz = sorted(quiz - self._loc.quiz_courses)
        if new_quiz:
            self._loc.quiz_courses.update(new_quiz)
            payload = self.client.quizzes(new_quiz)
            self._log_warnings("mod_quiz_get_quizzes_by_courses", payload)
            good, bad = parse_items(Quiz, _list(payload, "quizzes"))
            self._report_bad(bad, "quiz")
            self._loc.quizzes.update({q.coursemodule: q for q in good})

    def _course_module(self, cmid: int) -> CourseModule | None:
        if cmid not in self._loc.modules:
            try:
                payload = self.client.course_module(cmid)
            except NotFoundError:
                log.info("moodle: no course module %s", cmid)
                self._loc.modules[cmid] = None
                return None
            good, bad = parse_items(CourseModule, [payload.get("cm") if isinstance(payload, dict)
                                                   else None])
            self._report_bad(bad, f"course module {cmid}")
            self._loc.modules[cmid] = good[0] if good else None
        return self._loc.modules[cmid]

    # ------------------------------------------------------------------ evidence

    def _evidence(self, ref: ActivityRef, until: dt.datetime) -> ActivityEvidence:
        cmid = ref.cmid or 0
        if (assignment := self._loc.assignments.get(cmid)) is not None:
            return ActivityEvidence(ref=ref, records=tuple(self._submission_records(
                ref, assignment, until)), due=from_unix(assignment.duedate))
        if (quiz := self._loc.quizzes.get(cmid)) is not None:
            return ActivityEvidence(ref=ref, records=tuple(self._attempt_records(
                ref, quiz, until)), due=from_unix(quiz.timeclose))
        module = self._loc.modules.get(cmid)
        if module is not None and module.modname not in {"assign", "quiz"}:
            records = self._completion_records(ref, module, until)
            if records is not None:
                return ActivityEvidence(ref=ref, records=tuple(records))
        return ActivityEvidence(ref=ref, found=False)

    def _submission_records(self, ref: ActivityRef, assignment: Assignment,
                            until: dt.datetime) -> list[ActivityRecord]:
        students = self._course_students(assignment.course)
        out = []
        for sub in self._submissions.get(assignment.id, []):
            user = students.get(sub.userid)
            at = from_unix(sub.timemodified)
            if sub.status != "submitted" or user is None:
                continue
            if at is None:
                self._report(f"assignment {assignment.id} submission {sub.id}", "no timemodified")
                continue
            if at <= until:
                out.append(_record(ref, at, "submission", user))
        return out

    def _attempt_records(self, ref: ActivityRef, quiz: Quiz,
                         until: dt.datetime) -> list[ActivityRecord]:
        out = []
        for user in self._course_students(quiz.course).values():
            for attempt in self._user_attempts(quiz.id, user.id):
                at = from_unix(attempt.timefinish)
                if attempt.state == "finished" and at is not None and at <= until:
                    out.append(_record(ref, at, "attempt", user))
        return out

    def _completion_records(self, ref: ActivityRef, module: CourseModule,
                            until: dt.datetime) -> list[ActivityRecord] | None:
        """Completions of a module; None when the module has no completion tracking at all."""
        out = []
        tracked = False
        for user in self._course_students(module.course).values():
            for status in self._statuses(module.course, user.id):
                if status.cmid != module.id or not status.tracking:
                    continue
                tracked = True
                at = from_unix(status.timecompleted)
                if status.state in _COMPLETED and at is not None and at <= until:
                    out.append(_record(ref, at, "completion", user))
        if not tracked:
            log.info("moodle: course module %s has no completion tracking", module.id)
            return None
        return out

    # ------------------------------------------------------------------ cached calls

    def _load_submissions(self, assignment_ids: set[int]) -> None:
        new = sorted(a for a in assignment_ids if a not in self._submissions)
        if not new:
            return
        payload = self.client.submissions(new, status="submitted")
        for aid in new:
            self._submissions[aid] = []
        for entry in _list(payload, "assignments"):
            aid = entry.get("assignmentid") if isinstance(entry, dict) else None
            if aid not in self._submissions:
                continue
            good, bad = parse_items(Submission, entry.get("submissions", []))
            self._report_bad(bad, f"assignment {aid} submission")
            self._submissions[aid] = good

    def _course_students(self, course_id: int) -> dict[int, EnrolledUser]:
        if course_id not in self._students:
            payload = self.client.enrolled_users(course_id)
            good, bad = parse_items(EnrolledUser, payload if isinstance(payload, list) else [])
            self._report_bad(bad, f"course {course_id} user")
            roles = set(self.settings.student_roles)
            self._students[course_id] = {
                u.id: u for u in good
                if u.roles is None or any(r.shortname in roles for r in u.roles)}
        return self._students[course_id]

    def _user_attempts(self, quiz_id: int, user_id: int) -> list[QuizAttempt]:
        key = (quiz_id, user_id)
        if key not in self._attempts:
            try:
                payload = self.client.user_attempts(quiz_id, user_id, status="finished")
            except NotFoundError:
                self._report(f"quiz {quiz_id} user {user_id}", "user or quiz not found")
                payload = {}
            good, bad = parse_items(QuizAttempt, _list(payload, "attempts"))
            self._report_bad(bad, f"quiz {quiz_id} attempt")
            self._attempts[key] = good
        return self._attempts[key]

    def _statuses(self, course_id: int, user_id: int) -> list[CompletionStatus]:
        key = (course_id, user_id)
        if key not in self._completion:
            try:
                payload = self.client.completion_status(course_id, user_id)
            except NotFoundError:
                self._report(f"course {course_id} user {user_id}", "completion not found")
                payload = {}
            good, bad = parse_items(CompletionStatus, _list(payload, "statuses"))
            self._report_bad(bad, f"course {course_id} completion")
            self._completion[key] = good
        return self._completion[key]

    # ------------------------------------------------------------------ reporting

    def _report_bad(self, bad: list[tuple[int, Any, str]], what: str) -> None:
        for index, raw, reason in bad:
            ident = raw.get("id") if isinstance(raw, dict) and "id" in raw else f"#{index}"
            self._report(f"{what} {ident}", reason)

    def _report(self, record: str, reason: str) -> None:
        error = RecordError(f"moodle: skipped malformed {record}: {reason}",
                            system=SYSTEM, record=record)
        log.warning(error.message)
        self.errors.append(error)

    @staticmethod
    def _log_warnings(function: str, payload: Any) -> None:
        for warning in warnings_of(payload):
            log.warning("moodle: %s warning %s for %s %s", function, warning.warningcode,
                        warning.item, warning.itemid)


def _list(payload: Any, key: str) -> list[Any]:
    value = payload.get(key) if isinstance(payload, dict) else None
    return value if isinstance(value, list) else []


def _record(ref: ActivityRef, at: dt.datetime, kind: str, user: EnrolledUser) -> ActivityRecord:
    return ActivityRecord(platform=SYSTEM, activity_url=ref.url, at=at, kind=kind,
                          email=user.email, name=user.fullname)
