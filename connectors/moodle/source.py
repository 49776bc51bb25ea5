"""skolo.lv (Moodle) as an :class:`~connectors.base.ActivitySource`.

What counts as engagement (kārtības 31. p.): a *submitted* assignment attempt (drafts, "new"
and "reopened" never count) — ANY attempt, not only the latest — a *finished* quiz attempt,
or — for any other module with completion tracking — a completed activity. Records carry the
Moodle user's e-mail and full name; the jobs match them to students.

How a real Moodle 4.5 answers (``shared/real-moodle.md``) and what this source does about it:

* ``mod_assign_get_submissions`` lists each user's LATEST attempt only. Where that attempt has
  ``attemptnumber`` > 0 and is not a submission in time (reopened, new, draft, or submitted
  after the due), the earlier attempts are read with ``mod_assign_get_submission_status``
  (one call per such student — only those);
* an assignment without a submit button (``submissiondrafts`` 0) is submitted at its first
  save: ``timecreated`` is the time, ``timemodified`` moves with every later edit;
* a team submission is a row with ``userid`` 0 and a ``groupid``: it counts for every member
  of that Moodle group (``groups`` of ``core_enrol_get_enrolled_users``); the members' own rows
  (``draft``, or the team's status for the member who submitted it; recorded) are not read;
* a student Moodle does not show (unenrolled after submitting, hidden by a missing right) is
  not in :attr:`ActivityEvidence.visible`, so the rules give them no mark;
* a missing right is incomplete evidence, never "no activity": answer ``warnings`` give the
  gap ``warnings``, a refused call or missing e-mails the gap ``no_access``, each with a
  ``gap_detail`` naming the function, the code and the right; an unknown course module
  (``invalidrecordunknown``) gives ``invalid_link`` for that link only. One bad link never
  stops the others.

Calls per run, by design (one source object = one run; everything below is cached on it):

* locating the linked activities: with ``settings.course_ids``, one
  ``mod_assign_get_assignments`` for those courses (and one ``mod_quiz_get_quizzes_by_courses``
  when quizzes are linked); a link into another course costs one
  ``core_course_get_course_module``, which says all a quiz or another module needs; for an
  assignment found so, ``mod_assign_get_assignments`` is asked only when a submission's
  ``timecreated`` and ``timemodified`` differ (whether it has a submit button decides which
  time counts);
* one ``mod_assign_get_submissions`` for all linked assignments;
* one ``core_enrol_get_enrolled_users`` per course involved (user id -> e-mail, name, role,
  groups);
* one ``mod_assign_get_submission_status`` per student whose latest attempt is a later one
  that was not submitted in time (see above);
* quizzes only: one ``mod_quiz_get_user_attempts`` per (linked quiz, student of the linking
  lessons' groups) — the API answers per user by design;
* other modules only: one ``core_completion_get_activities_completion_status`` per
  (course, student of the linking lessons' groups).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from connectors.errors import ConfigError, NotFoundError, ProtocolError, RecordError
from connectors.moodle.client import MoodleClient, WsDeniedError, WsFailedError, WsNotFoundError
from connectors.moodle.gaps import (
    GROUPS_RIGHT,
    USER_EMAIL_RIGHT,
    Incomplete,
    denied_detail,
    raise_for_warnings,
    warning_detail,
)
from connectors.moodle.models import (
    Assignment,
    CompletionStatus,
    CourseModule,
    EnrolledUser,
    PreviousAttempt,
    Quiz,
    QuizAttempt,
    SiteInfo,
    Submission,
    from_unix,
    parse_items,
    warnings_of,
)
from connectors.moodle.rights import RightsCheck
from connectors.moodle.settings import MoodleSettings
from mappings.model import (
    ActivityEvidence,
    ActivityRecord,
    ActivityRef,
    ActivityUser,
    EvidenceGap,
)

log = logging.getLogger("kartiba.moodle")

SYSTEM = "moodle"
REQUIRED_FUNCTIONS = (
    "core_webservice_get_site_info",
    "core_course_get_course_module",
    "core_enrol_get_enrolled_users",
    "mod_assign_get_assignments",
    "mod_assign_get_submissions",
    "mod_assign_get_submission_status",
    "mod_quiz_get_quizzes_by_courses",
    "mod_quiz_get_user_attempts",
    "core_completion_get_activities_completion_status",
)
_NO_SUBMISSIONS = "3"  # warningcode of "No submissions found": nothing is missing
_COMPLETED = {1, 2, 3}  # complete, complete-pass, complete-fail: the student engaged

Evidence = dict[ActivityRef, ActivityEvidence]


@dataclass
class _Located:
    """Where the activities of one run were found (cmid -> instance)."""

    assignments: dict[int, Assignment] = field(default_factory=dict)
    quizzes: dict[int, Quiz] = field(default_factory=dict)
    modules: dict[int, CourseModule | None] = field(default_factory=dict)
    failed: dict[int, Incomplete] = field(default_factory=dict)  # cmid -> why not located
    assign_courses: set[int] = field(default_factory=set)
    quiz_courses: set[int] = field(default_factory=set)
    course_warnings: dict[int, str] = field(default_factory=dict)  # course -> warning detail


@dataclass(frozen=True)
class _Ask:
    """What the jobs tell about one link: who should have engaged, and by when."""

    students: tuple[ActivityUser, ...] | None = None  # None: every enrolled student
    due: dt.datetime | None = None  # the earliest due of the linking lessons


class MoodleActivitySource(RightsCheck):
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
        self._users: dict[int, dict[int, EnrolledUser] | Incomplete] = {}
        self._submissions: dict[int, list[Submission] | Incomplete] = {}
        self._history: dict[tuple[int, int], list[Submission]] = {}
        self._attempts: dict[tuple[int, int], list[QuizAttempt]] = {}
        self._completion: dict[tuple[int, int], list[CompletionStatus]] = {}
        self._lock = threading.Lock()  # jobs may fetch from several threads: one at a time

    # ------------------------------------------------------------------ protocol

    def fetch(self, refs: Sequence[ActivityRef], until: dt.datetime, *,
              students: Mapping[ActivityRef, Sequence[ActivityUser]] | None = None,
              due: Mapping[ActivityRef, dt.datetime] | None = None) -> Evidence:
        """Evidence for every ref.

        Args:
            refs: the activity links.
            until: records later than this are left out.
            students: per link, the students of the linking lessons' groups: per-student
                calls (quiz attempts, completion) are made for those only. Missing: every
                enrolled student.
            due: per link, the earliest due time of the linking lessons (earlier attempts
                are read only for students whose latest attempt is not in time).

        Returns:
            Evidence per ref: ``found=False`` for links this Moodle has no activity for,
            ``gap`` set where the evidence is incomplete, ``visible`` = the students Moodle
            showed for that activity.
        """
        asks = {ref: _Ask(None if students is None or ref not in students
                          else tuple(students[ref]), (due or {}).get(ref)) for ref in refs}
        with self._lock:
            return self._fetch(refs, until, asks)

    def _fetch(self, refs: Sequence[ActivityRef], until: dt.datetime,
               asks: Mapping[ActivityRef, _Ask]) -> Evidence:
        out: Evidence = {}
        usable = []
        for ref in dict.fromkeys(refs):
            if self._is_ours(ref):
                usable.append(ref)
            else:
                out[ref] = ActivityEvidence(ref=ref, found=False)
        self._locate(usable)
        assignments = [a for ref in usable if (a := self._loc.assignments.get(ref.cmid or 0))]
        self._load_submissions({a.id for a in assignments})
        self._load_assign_courses({a.course for a in assignments if self._needs_flags(a)})
        for ref in usable:
            out[ref] = self._guarded(ref, until, asks.get(ref, _Ask()))
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
        courses; a course module not found there is looked up with
        ``core_course_get_course_module``, which says enough for quizzes and other modules.
        """
        refs = [r for r in refs if r.cmid is not None and not self._known(r.cmid)]
        if not refs:
            return
        configured = set(self.settings.course_ids)
        self._load_assign_courses(configured if any(r.kind == "assign" for r in refs) else set())
        self._load_quiz_courses(configured if any(r.kind == "quiz" for r in refs) else set())
        unknown = [r.cmid for r in refs if r.cmid is not None and not self._known(r.cmid)]
        for cmid in dict.fromkeys(unknown):
            module = self._course_module(cmid)
            if module is None:
                continue
            if module.modname == "assign":
                self._loc.assignments[cmid] = Assignment(id=module.instance, cmid=cmid,
                                                         course=module.course)
            elif module.modname == "quiz":
                self._loc.quizzes[cmid] = Quiz(id=module.instance, coursemodule=cmid,
                                               course=module.course)

    def _known(self, cmid: int) -> bool:
        return (cmid in self._loc.assignments or cmid in self._loc.quizzes
                or cmid in self._loc.modules)

    def _load_assign_courses(self, courses: Iterable[int]) -> None:
        """One ``mod_assign_get_assignments`` for the courses not asked about yet."""
        new = sorted(set(courses) - self._loc.assign_courses)
        if not new:
            return
        self._loc.assign_courses.update(new)
        payload = self.client.assignments(new)
        self._note_course_warnings("mod_assign_get_assignments", payload)
        for course in _list(payload, "courses"):
            cid = course.get("id") if isinstance(course, dict) else None
            good, bad = parse_items(Assignment, (course or {}).get("assignments", []))
            self._report_bad(bad, f"course {cid} assignment")
            self._loc.assignments.update({a.cmid: a for a in good})

    def _load_quiz_courses(self, courses: Iterable[int]) -> None:
        """One ``mod_quiz_get_quizzes_by_courses`` for the courses not asked about yet."""
        new = sorted(set(courses) - self._loc.quiz_courses)
        if not new:
            return
        self._loc.quiz_courses.update(new)
        payload = self.client.quizzes(new)
        self._note_course_warnings("mod_quiz_get_quizzes_by_courses", payload)
        good, bad = parse_items(Quiz, _list(payload, "quizzes"))
        self._report_bad(bad, "quiz")
        self._loc.quizzes.update({q.coursemodule: q for q in good})

    def _note_course_warnings(self, function: str, payload: Any) -> None:
        for warning in warnings_of(payload):
            log.warning("moodle: %s warning %s for %s %s", function, warning.warningcode,
                        warning.item, warning.itemid)
            if warning.item == "course" and warning.itemid is not None:
                self._loc.course_warnings[warning.itemid] = warning_detail(function, warning)

    def _course_module(self, cmid: int) -> CourseModule | None:
        """``core_course_get_course_module``; None (and why, in ``failed``) when unusable."""
        if cmid in self._loc.modules:
            return self._loc.modules[cmid]
        self._loc.modules[cmid] = None
        try:
            payload = self.client.course_module(cmid)
        except WsNotFoundError as exc:
            log.warning("moodle: no course module %s (%s): that link only is unusable",
                        cmid, exc.errorcode)
            self._loc.failed[cmid] = Incomplete(EvidenceGap.INVALID_LINK,
                                                f"cmid {cmid}: {exc.errorcode}")
            return None
        except WsDeniedError as exc:
            self._loc.failed[cmid] = Incomplete(EvidenceGap.NO_ACCESS,
                                                denied_detail(exc.function, exc.errorcode))
            return None
        except WsFailedError as exc:  # e.g. a persistent database error: this link only
            self._loc.failed[cmid] = Incomplete(EvidenceGap.FETCH_FAILED,
                                                f"{exc.function}: {exc.errorcode}")
            return None
        good, bad = parse_items(CourseModule, [payload.get("cm") if isinstance(payload, dict)
                                               else None])
        self._report_bad(bad, f"course module {cmid}")
        self._loc.modules[cmid] = good[0] if good else None
        return self._loc.modules[cmid]

    # ------------------------------------------------------------------ evidence

    def _guarded(self, ref: ActivityRef, until: dt.datetime, ask: _Ask) -> ActivityEvidence:
        """One link's evidence; a refused or failed call makes a gap for this link only."""
        try:
            return self._evidence(ref, until, ask)
        except Incomplete as gap:
            return _gap(ref, gap.gap, gap.detail)
        except WsDeniedError as exc:
            return _gap(ref, EvidenceGap.NO_ACCESS, denied_detail(exc.function, exc.errorcode))
        except (WsNotFoundError, WsFailedError) as exc:
            log.warning("moodle: %s for link cmid=%s: %s", exc.function, ref.cmid, exc.errorcode)
            return _gap(ref, EvidenceGap.FETCH_FAILED, f"{exc.function}: {exc.errorcode}")

    def _evidence(self, ref: ActivityRef, until: dt.datetime, ask: _Ask) -> ActivityEvidence:
        cmid = ref.cmid or 0
        if cmid in self._loc.failed:
            failure = self._loc.failed[cmid]
            return _gap(ref, failure.gap, failure.detail,
                        found=failure.gap is not EvidenceGap.INVALID_LINK)
        if (assignment := self._loc.assignments.get(cmid)) is not None:
            return self._assignment_evidence(ref, assignment, until, ask)
        if (quiz := self._loc.quizzes.get(cmid)) is not None:
            users = self._asked(self._course_students(quiz.course), ask)
            records = self._attempt_records(ref, quiz, users, until)
            return ActivityEvidence(ref=ref, records=tuple(records),
                                    due=from_unix(quiz.timeclose), visible=_visible(users))
        module = self._loc.modules.get(cmid)
        if module is not None and module.modname not in {"assign", "quiz"}:
            users = self._asked(self._course_students(module.course), ask)
            records = self._completion_records(ref, module, users, until)
            if records is not None:
                return ActivityEvidence(ref=ref, records=tuple(records), visible=_visible(users))
        return ActivityEvidence(ref=ref, found=False)

    # -- assignments

    def _assignment_evidence(self, ref: ActivityRef, assignment: Assignment,
                             until: dt.datetime, ask: _Ask) -> ActivityEvidence:
        students = self._course_students(assignment.course)
        rows = self._submissions.get(assignment.id, [])
        if isinstance(rows, Incomplete):
            raise rows
        assignment = self._with_flags(assignment)
        teams = _team_members(students)
        if any(r.userid == 0 and r.groupid for r in rows) and not teams:
            raise Incomplete(EvidenceGap.NO_ACCESS, "core_enrol_get_enrolled_users: no groups "
                             f"for team submissions (needs {GROUPS_RIGHT})")
        team_mode = bool(assignment.teamsubmission) or any(r.userid == 0 and r.groupid
                                                            for r in rows)
        out = []
        for row in rows:
            owners = ([students[row.userid]] if row.userid in students
                      else teams.get(row.groupid, []) if row.userid == 0 else [])
            if not owners or (team_mode and row.userid != 0):
                continue  # not shown to us / a member's own row of a team assignment
            for at in self._submitted_times(assignment, row, owners[0].id, ask.due):
                if at <= until:
                    out += [_record(ref, at, "submission", user) for user in owners]
        return ActivityEvidence(ref=ref, records=tuple(out), due=from_unix(assignment.duedate),
                                visible=_visible(students.values()))

    def _needs_flags(self, assignment: Assignment) -> bool:
        """Whether the submit-button flag matters and is not known: a submission whose first
        save and last change differ, of an assignment located by its course module."""
        rows = self._submissions.get(assignment.id, [])
        return (assignment.submissiondrafts is None and not isinstance(rows, Incomplete)
                and any(r.status == "submitted" and r.timecreated
                        and r.timecreated != r.timemodified for r in rows))

    def _with_flags(self, assignment: Assignment, *, needed: bool = False) -> Assignment:
        """The assignment with its submit-button and team flags where they matter (loaded
        in one batch by :meth:`_fetch`); incomplete when Moodle would not list it."""
        if assignment.submissiondrafts is not None or not (
                needed or self._needs_flags(assignment)):
            return assignment
        self._load_assign_courses({assignment.course})  # earlier attempts: seldom
        known = self._loc.assignments.get(assignment.cmid)
        if known is None or known.submissiondrafts is None:
            detail = self._loc.course_warnings.get(assignment.course)
            raise Incomplete(EvidenceGap.WARNINGS if detail else EvidenceGap.NO_ACCESS,
                             detail or f"mod_assign_get_assignments: assignment {assignment.id}"
                             " not listed (needs moodle/course:view)")
        return known

    def _submitted_times(self, assignment: Assignment, row: Submission, user_id: int,
                         due: dt.datetime | None) -> list[dt.datetime]:
        """When this owner submitted: the latest attempt, and earlier attempts where the
        latest one is a later attempt not submitted in time."""
        latest = _submitted_at(assignment, row)
        times = [] if latest is None else [latest]
        in_time = latest is not None and due is not None and latest <= due
        if row.attemptnumber > 0 and not in_time:
            earlier_attempts = self._previous_attempts(assignment.id, user_id)
            if any(e.timecreated != e.timemodified for e in earlier_attempts):
                assignment = self._with_flags(assignment, needed=True)
            for earlier in earlier_attempts:
                at = _submitted_at(assignment, earlier)
                if at is not None:
                    times.append(at)
        return times

    def _previous_attempts(self, assignment_id: int, user_id: int) -> list[Submission]:
        key = (assignment_id, user_id)
        if key not in self._history:
            payload = self.client.submission_status(assignment_id, user_id)
            raise_for_warnings("mod_assign_get_submission_status", payload)
            good, bad = parse_items(PreviousAttempt, _list(payload, "previousattempts"))
            self._report_bad(bad, f"assignment {assignment_id} previous attempt")
            self._history[key] = [p.submission for p in good if p.submission is not None]
        return self._history[key]

    # -- quizzes and other modules

    def _attempt_records(self, ref: ActivityRef, quiz: Quiz, users: Sequence[EnrolledUser],
                         until: dt.datetime) -> list[ActivityRecord]:
        out = []
        for user in users:
            for attempt in self._user_attempts(quiz.id, user.id):
                at = from_unix(attempt.timefinish)
                if attempt.state == "finished" and at is not None and at <= until:
                    out.append(_record(ref, at, "attempt", user))
        return out

    def _completion_records(self, ref: ActivityRef, module: CourseModule,
                            users: Sequence[EnrolledUser],
                            until: dt.datetime) -> list[ActivityRecord] | None:
        """Completions of a module; None when the module has no completion tracking at all."""
        out = []
        tracked = not users  # nobody asked: nothing says the module is untracked
        for user in users:
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

    # ------------------------------------------------------------------ who is asked about

    def _asked(self, students: Mapping[int, EnrolledUser], ask: _Ask) -> list[EnrolledUser]:
        """The enrolled students to make per-student calls for: those of the linking lessons'
        groups when the jobs named them, else all."""
        if ask.students is None:
            return list(students.values())
        emails = {u.email.casefold() for u in ask.students if u.email}
        names = {_name_key(u.name) for u in ask.students if u.name}
        return [u for u in students.values()
                if (u.email or "").casefold() in emails or _name_key(u.fullname) in names]

    # ------------------------------------------------------------------ cached calls

    def _load_submissions(self, assignment_ids: set[int]) -> None:
        """One ``mod_assign_get_submissions`` (every status: a reopened latest attempt must be
        seen) for the assignments not read yet; a refusal or warning marks each of them."""
        new = sorted(a for a in assignment_ids if a not in self._submissions)
        if not new:
            return
        function = "mod_assign_get_submissions"
        try:
            payload = self.client.submissions(new)
        except WsDeniedError as exc:
            denied = Incomplete(EvidenceGap.NO_ACCESS, denied_detail(function, exc.errorcode))
            self._submissions.update({aid: denied for aid in new})
            return
        except (WsNotFoundError, WsFailedError) as exc:
            failed = Incomplete(EvidenceGap.FETCH_FAILED, f"{function}: {exc.errorcode}")
            self._submissions.update({aid: failed for aid in new})
            return
        for aid in new:  # Moodle answers every readable assignment, with a warning if empty
            self._submissions[aid] = Incomplete(
                EvidenceGap.FETCH_FAILED, f"{function}: no answer for assignment {aid}")
        for entry in _list(payload, "assignments"):
            aid = entry.get("assignmentid") if isinstance(entry, dict) else None
            if aid not in self._submissions:
                continue
            good, bad = parse_items(Submission, entry.get("submissions", []))
            self._report_bad(bad, f"assignment {aid} submission")
            for row in good:
                if row.status == "submitted" and not row.timemodified:
                    self._report(f"assignment {aid} submission {row.id}", "no timemodified")
            self._submissions[aid] = [r for r in good if r.timemodified]
        for warning in warnings_of(payload):
            if warning.warningcode == _NO_SUBMISSIONS:
                continue
            log.warning("moodle: %s", warning_detail(function, warning))
            hit = [warning.itemid] if warning.itemid in new else new  # unclear: all of them
            for aid in hit:
                self._submissions[aid] = Incomplete(EvidenceGap.WARNINGS,
                                                    warning_detail(function, warning))

    def _course_students(self, course_id: int) -> dict[int, EnrolledUser]:
        """The students Moodle shows in a course (raises :class:`Incomplete` when their
        e-mails are withheld or the list is refused)."""
        if course_id not in self._users:
            self._users[course_id] = self._read_students(course_id)
        users = self._users[course_id]
        if isinstance(users, Incomplete):
            raise users
        return users

    def _read_students(self, course_id: int) -> dict[int, EnrolledUser] | Incomplete:
        function = "core_enrol_get_enrolled_users"
        try:
            payload = self.client.enrolled_users(course_id)
        except WsDeniedError as exc:
            return Incomplete(EvidenceGap.NO_ACCESS, denied_detail(function, exc.errorcode))
        except (WsNotFoundError, WsFailedError) as exc:  # this course's links only
            return Incomplete(EvidenceGap.FETCH_FAILED, f"{function}: {exc.errorcode}")
        good, bad = parse_items(EnrolledUser, payload if isinstance(payload, list) else [])
        self._report_bad(bad, f"course {course_id} user")
        roles = set(self.settings.student_roles)
        students = {u.id: u for u in good
                    if u.roles is None or any(r.shortname in roles for r in u.roles)}
        # any listed user: without moodle/user:viewdetails a real 4.5 lists only the course's
        # teachers (without e-mails) and no student at all (recorded-4.5-cases.json)
        if any(not u.email for u in good):
            log.warning("moodle: course %s lists students without e-mail (the account lacks "
                        "%s?)", course_id, USER_EMAIL_RIGHT)
            return Incomplete(EvidenceGap.NO_ACCESS,
                              f"{function}: no e-mails in course {course_id} "
                              f"(needs {USER_EMAIL_RIGHT})")
        return students

    def _user_attempts(self, quiz_id: int, user_id: int) -> list[QuizAttempt]:
        key = (quiz_id, user_id)
        if key not in self._attempts:
            try:
                payload = self.client.user_attempts(quiz_id, user_id, status="finished")
            except NotFoundError:
                self._report(f"quiz {quiz_id} user {user_id}", "user or quiz not found")
                payload = {}
            raise_for_warnings("mod_quiz_get_user_attempts", payload)
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
            raise_for_warnings("core_completion_get_activities_completion_status", payload)
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


def _submitted_at(assignment: Assignment, row: Submission) -> dt.datetime | None:
    """When an attempt was submitted: its first save without a submit button, else its
    last change; None when it is not a submission (draft, new, reopened)."""
    if row.status != "submitted":
        return None
    if assignment.submissiondrafts == 0 and row.timecreated:
        return from_unix(row.timecreated)
    return from_unix(row.timemodified)


def _team_members(students: Mapping[int, EnrolledUser]) -> dict[int, list[EnrolledUser]]:
    """Moodle group id -> the students in it (from the ``groups`` of enrolled users)."""
    out: dict[int, list[EnrolledUser]] = {}
    for user in students.values():
        for group in user.groups or ():
            out.setdefault(group.id, []).append(user)
    return out


def _name_key(name: str) -> tuple[str, ...]:
    """A full name compared without case, diacritics and word order."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return tuple(sorted(plain.split()))


def _visible(users: Iterable[EnrolledUser]) -> tuple[ActivityUser, ...]:
    return tuple(ActivityUser(email=u.email or "", name=u.fullname) for u in users)


def _gap(ref: ActivityRef, gap: EvidenceGap, detail: str, *,
         found: bool = True) -> ActivityEvidence:
    return ActivityEvidence(ref=ref, found=found, gap=gap.value, gap_detail=detail)


def _list(payload: Any, key: str) -> list[Any]:
    value = payload.get(key) if isinstance(payload, dict) else None
    return value if isinstance(value, list) else []


def _record(ref: ActivityRef, at: dt.datetime, kind: str, user: EnrolledUser) -> ActivityRecord:
    return ActivityRecord(platform=SYSTEM, activity_url=ref.url, at=at, kind=kind,
                          email=user.email or "", name=user.fullname)
