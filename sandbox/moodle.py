"""A loopback stand-in for skolo.lv: Moodle 4.5 web services (REST) and ``/login/token.php``.

Written from Moodle's web-service documentation and the responses recorded from a real
Moodle 4.5 (``tests/fixtures/moodle/``), independently of the connector. It serves the
scenario's ``moodle`` section as a Moodle would at ``world.now``:

* users are created from the scenario: the web-service account (id 2), teachers (ids 100,
  101... in scenario order, role ``editingteacher``), students (ids 1000, 1001... in scenario
  order, role ``student``; e-mail and names from the scenario);
* enrolment (``enrol="all"``, a simplification): every teacher and student of the scenario
  is in every course; ``enrol="linked"`` (the demo and benchmark stack, closer to a real
  site): every teacher, the students of each group whose lesson links one of the course's
  activities in its UZDOTS text, and every student with a submission or attempt there;
  the web-service account is enrolled nowhere (it has a manager role, as on the
  recorded site), so ``mod_assign_get_assignments`` needs ``includenotenrolledcourses=1``;
* a submission or quiz attempt exists only once its time is ≤ ``world.now``; a student's
  latest visible submission row is their current submission (a draft later submitted is one
  submission that changed status);
* the scenario names quizzes only through attempts: each distinct attempt ``cmid`` is a quiz
  (instance ids 1, 2... in cmid order) in the scenario's first course, with no close date and
  no completion tracking; assignments track completion on submission (``completionsubmit``).

What a real Moodle 4.5 answers (``shared/real-moodle.md`` and the cases recorded in
``tests/fixtures/moodle/recorded-4.5-cases.json``, which
``tests/sandbox/test_moodle_matches_recording.py`` replays here), and so this stand-in too:

* ``mod_assign_get_submissions`` shows each user's LATEST attempt only; earlier attempts of a
  reopened submission are in ``mod_assign_get_submission_status`` -> ``previousattempts``.
  Submission rows of one attempt are its history: ``timecreated`` is the first row's time,
  ``timemodified`` the latest (an assignment without a submit button keeps ``timecreated`` at
  the first save while edits move ``timemodified``);
* a team submission is a row with ``userid`` 0 and the team's ``groupid``; the members' own
  rows say ``draft``, except the row of the member who saved it (the row's ``by``): it has the
  team's status;
* a student unenrolled from the course (``moodle.enrolments``) is missing from every answer; a
  suspended one shows (submission rows, enrolled users) only with
  ``moodle/course:viewsuspendedusers``;
* ``core_enrol_get_enrolled_users`` lists students only with ``moodle/user:viewdetails``
  (without it only the teachers, the course contacts), nobody in a separate-groups course
  without ``moodle/site:accessallgroups``, ``idnumber`` only with
  ``moodle/user:viewalldetails``; ``core_completion_get_activities_completion_status`` of a
  student of such a course is ``accessdenied``;
* rights: the service account holds ``moodle.capabilities`` of the scenario (or the
  ``capabilities`` argument; default :data:`MANAGER_CAPABILITIES`). A missing right shows as
  Moodle shows it: a ``warnings`` item (``warningcode`` "1", "No access rights in module
  context") inside a normal answer, users or e-mails or ``groups`` left out of
  ``core_enrol_get_enrolled_users``, or an exception (``nopermissions``...) where Moodle throws;
* an unknown course-module id is ``invalidrecordunknown`` (HTTP 200).

Every error is HTTP 200 with Moodle's JSON error shape; unexpected or malformed parameters
are ``invalidparameter``, as Moodle's parameter validation makes them. ``stats()`` counts
requests per function.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from sandbox.httpserver import LoopbackServer, Request, Response
from sandbox.scenario import MoodleAssignmentRow, StudentRow, TeacherRow
from sandbox.world import World

SERVICE_USER_ID = 2
TEACHER_BASE_ID = 100
STUDENT_BASE_ID = 1000
REST_PATH = "/webservice/rest/server.php"
RELEASE = "4.5 (Build: 20241007)"
VERSION = "2024100700"
MODULE_TYPE_IDS = {"assign": 1, "quiz": 17}
_ROLES = {"editingteacher": 3, "student": 5}
_REQUIRED = object()

#: Every right the service account may need; a manager role holds them all.
MANAGER_CAPABILITIES: frozenset[str] = frozenset({
    "webservice/rest:use", "moodle/course:view", "moodle/course:viewparticipants",
    "moodle/user:viewdetails", "moodle/course:useremail", "moodle/site:accessallgroups",
    "moodle/course:viewsuspendedusers", "mod/assign:view", "mod/assign:grade", "mod/quiz:view",
    "mod/quiz:viewreports", "report/progress:view",
    "moodle/user:viewalldetails",  # a manager's; shows users' idnumber (not needed)
})


_Attempts = dict[int, list[tuple[int, Any]]]  # attempt number -> (row index, row), oldest first
_LINKED_CMID = re.compile(r"/mod/\w+/view\.php\?id=(\d+)")


class WsFault(Exception):
    """A Moodle exception, answered as ``{"exception", "errorcode", "message"}``."""

    def __init__(self, exception: str, errorcode: str, message: str) -> None:
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message


def invalid_parameter(debug: str = "") -> WsFault:
    """Moodle's parameter error; ``debug`` is what Moodle puts in ``debuginfo``, which it sends
    only in developer debug mode (off on a production site, as on the recorded one)."""
    return WsFault("core\\exception\\invalid_parameter_exception", "invalidparameter",
                   "Invalid parameter value detected")


def read_error() -> WsFault:
    """Moodle's answer when its database fails a read (a transient server problem)."""
    return WsFault("dml_read_exception", "dmlreadexception", "Error reading from database")


def missing_record(table: str) -> WsFault:
    return WsFault("dml_missing_record_exception", "invalidrecord",
                   f"Can't find data record in database table {table}.")


def unknown_record() -> WsFault:
    """What Moodle 4.5 answers for an unknown course-module id (measured)."""
    return WsFault("dml_missing_record_exception", "invalidrecordunknown",
                   "Can't find data record in database.")


def no_permission(what: str) -> WsFault:
    """A ``required_capability_exception``: the account lacks a capability Moodle requires."""
    return WsFault("required_capability_exception", "nopermissions",
                   f"Sorry, but you do not currently have permissions to do that ({what}).")


def no_module_access(item: str, itemid: int) -> dict[str, Any]:
    """The warning Moodle puts in a normal answer for a module the account may not read."""
    return {"item": item, "itemid": itemid, "warningcode": "1",
            "message": "No access rights in module context"}


def _error_payload(fault: WsFault) -> dict[str, str]:
    return {"exception": fault.exception, "errorcode": fault.errorcode, "message": fault.message}


def _unix(value: dt.datetime | None) -> int:
    return int(value.timestamp()) if value is not None else 0


# --------------------------------------------------------------------------- parameters


_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_php_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Decode ``a[0][name]=x`` style form parameters into nested lists and dicts, as PHP does."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            root[key] = value
            continue
        parts = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _listify(v) for k, v in node.items()}
    if node and all(re.fullmatch(r"\d+", k) for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


class Params:
    """Moodle-style validation of one function's parameters."""

    def __init__(self, raw: dict[str, Any], allowed: set[str]) -> None:
        unexpected = sorted(set(raw) - allowed)
        if unexpected:
            raise invalid_parameter("Unexpected keys (" + ", ".join(unexpected) + ") detected")
        self.raw = raw

    def integer(self, name: str, default: Any = _REQUIRED) -> int:
        value = self.raw.get(name, default)
        if value is _REQUIRED:
            raise invalid_parameter(f"Missing required key in single structure: {name}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise invalid_parameter(f"{name} => Invalid parameter value detected")

    def integers(self, name: str, required: bool = False) -> list[int]:
        value = self.raw.get(name, _REQUIRED)
        if value is _REQUIRED:
            if required:
                raise invalid_parameter(f"Missing required key in single structure: {name}")
            return []
        if not isinstance(value, list):
            raise invalid_parameter(f"Only arrays accepted. The bad value is: '{value}'")
        return [Params({"v": v}, {"v"}).integer("v") for v in value]

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if str(value).strip().lower() in {"1", "true"}:
            return True
        if str(value).strip().lower() in {"0", "false", ""}:
            return False
        raise invalid_parameter(f"{name} => Invalid parameter value detected")

    def text(self, name: str, default: str = "") -> str:
        value = self.raw.get(name, default)
        if not isinstance(value, str):
            raise invalid_parameter(f"{name} => Invalid parameter value detected")
        return value

    def options(self, name: str = "options") -> dict[str, str]:
        value = self.raw.get(name, [])
        if not isinstance(value, list) or not all(
                isinstance(o, dict) and set(o) == {"name", "value"} for o in value):
            raise invalid_parameter(f"{name} => Invalid parameter value detected")
        return {o["name"]: o["value"] for o in value}


# --------------------------------------------------------------------------- XML format


def _xml_value(value: Any) -> str:
    if isinstance(value, dict):
        keys = "".join(f"<KEY name={quoteattr(str(k))}>{_xml_value(v)}</KEY>\n"
                       for k, v in value.items())
        return f"<SINGLE>\n{keys}</SINGLE>\n"
    if isinstance(value, list):
        return "<MULTIPLE>\n" + "".join(_xml_value(v) for v in value) + "</MULTIPLE>\n"
    if value is None:
        return '<VALUE null="null"/>\n'
    if isinstance(value, bool):
        value = int(value)
    return f"<VALUE>{escape(str(value))}</VALUE>\n"


def to_xml(payload: Any) -> str:
    """Moodle's default (XML) REST format, for a client that forgot ``moodlewsrestformat``."""
    head = '<?xml version="1.0" encoding="UTF-8" ?>\n'
    if isinstance(payload, dict) and set(payload) == {"exception", "errorcode", "message"}:
        return (f"{head}<EXCEPTION class={quoteattr(payload['exception'])}>\n"
                f"<ERRORCODE>{escape(payload['errorcode'])}</ERRORCODE>\n"
                f"<MESSAGE>{escape(payload['message'])}</MESSAGE>\n</EXCEPTION>\n")
    return f"{head}<RESPONSE>\n{_xml_value(payload)}</RESPONSE>\n"


# --------------------------------------------------------------------------- the server


class MoodleSandbox(LoopbackServer):
    """Moodle web services over loopback, serving ``world.scenario.moodle`` at ``world.now``.

    Args:
        world: the shared scenario and clock.
        token: the web-service token that is accepted.
        username, password: the account ``/login/token.php`` accepts; it answers ``token``.
        service: the enabled external service's short name.
    """

    def __init__(self, world: World, token: str = "sandbox-moodle-token",
                 username: str = "kartiba", password: str = "sandbox-moodle-password",
                 service: str = "moodle_mobile_app", host: str = "127.0.0.1",
                 port: int = 0, *, enrol: str = "all",
                 capabilities: Iterable[str] | None = None) -> None:
        super().__init__(host, port)
        self.world = world
        self._capabilities = None if capabilities is None else frozenset(capabilities)
        if enrol not in ("all", "linked"):
            raise ValueError("enrol must be 'all' or 'linked'")
        self.enrol = enrol
        self._members_cache: dict[int, set[str]] = {}
        self._members_lock = threading.Lock()
        self.token = token
        self.username = username
        self.password = password
        self.service = service
        self._counts: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        self._functions: dict[str, tuple[set[str], Callable[[Params], Any]]] = {
            "core_webservice_get_site_info": ({"serviceshortnames"}, self._site_info),
            "core_course_get_course_module": ({"cmid"}, self._course_module),
            "core_enrol_get_enrolled_users": ({"courseid", "options"}, self._enrolled_users),
            "mod_assign_get_assignments": (
                {"courseids", "capabilities", "includenotenrolledcourses"}, self._assignments),
            "mod_assign_get_submissions": (
                {"assignmentids", "status", "since", "before"}, self._submissions),
            "mod_assign_get_submission_status": (
                {"assignid", "userid", "groupid"}, self._submission_status),
            "mod_quiz_get_quizzes_by_courses": ({"courseids"}, self._quizzes),
            "mod_quiz_get_user_attempts": (
                {"quizid", "userid", "status", "includepreviews"}, self._user_attempts),
            "core_completion_get_activities_completion_status": (
                {"courseid", "userid"}, self._completion),
        }

    # ------------------------------------------------------------------ ids

    def student_user_id(self, student_id: str) -> int:
        """The Moodle user id of a scenario student."""
        ids = [s.id for s in self.world.scenario.students]
        return STUDENT_BASE_ID + ids.index(student_id)

    def quiz_ids(self) -> dict[int, int]:
        """Quiz instance id by course-module id (quizzes exist only through their attempts)."""
        cmids = sorted({a.cmid for a in self.world.scenario.moodle.quiz_attempts}
                       - {a.cmid for a in self.world.scenario.moodle.assignments})
        return {cmid: index + 1 for index, cmid in enumerate(cmids)}

    @property
    def capabilities(self) -> frozenset[str]:
        """The service account's rights: the constructor's, else the scenario's, else all."""
        if self._capabilities is not None:
            return self._capabilities
        listed = self.world.scenario.moodle.capabilities
        return MANAGER_CAPABILITIES if listed is None else frozenset(listed)

    def set_capabilities(self, capabilities: Iterable[str] | None) -> None:
        """Change the service account's rights (None: back to the scenario's)."""
        self._capabilities = None if capabilities is None else frozenset(capabilities)

    def can(self, capability: str) -> bool:
        """Whether the service account holds a capability."""
        return capability in self.capabilities

    def stats(self) -> dict[str, int]:
        """Requests per web-service function (``login`` for ``/login/token.php``)."""
        with self._count_lock:
            return dict(self._counts)

    def _count(self, name: str) -> None:
        with self._count_lock:
            self._counts[name] += 1

    # ------------------------------------------------------------------ fault hooks
    # Server-specific kinds of ``sandbox.faults.FaultPlan``: None = not applicable here.

    def fault_ws_error(self, request: Request) -> Response | None:
        """A web-service call whose database read fails: HTTP 200 with Moodle's error shape
        (``dml_read_exception``), the function not run. ``/login/token.php`` is not hit."""
        if request.raw_path != REST_PATH:
            return None
        params = decode_php_params(self._pairs(request))
        self._count(params.get("wsfunction") if isinstance(params.get("wsfunction"), str)
                    else "?")
        return self._answer(params.get("moodlewsrestformat", "xml"), _error_payload(read_error()))

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        pairs = self._pairs(request)
        if request.raw_path == REST_PATH:
            return self._rest(pairs)
        if request.raw_path == "/login/token.php":
            return self._login(dict(pairs))
        return Response(404, "<html><body>Not found</body></html>",
                        content_type="text/html; charset=utf-8")

    @staticmethod
    def _pairs(request: Request) -> list[tuple[str, str]]:
        pairs = [(k, v) for k, vs in request.query.items() for v in vs]
        if request.method == "POST":
            pairs += [(k, v) for k, vs in request.form().items() for v in vs]
        return pairs

    @staticmethod
    def _answer(fmt: Any, payload: Any) -> Response:
        if fmt == "json":
            return Response(200, payload, content_type="application/json")
        return Response(200, to_xml(payload), content_type="application/xml; charset=utf-8")

    def _login(self, form: dict[str, str]) -> Response:
        self._count("login")
        for name in ("username", "password"):
            if name not in form:
                return self._login_error("missingparam",
                                         f"A required parameter ({name}) was missing")
        if form.get("service", "") != self.service:
            return self._login_error("servicenotavailable", "Web service is not available "
                                     "(it doesn't exist or might be disabled)")
        if form["username"] != self.username or form["password"] != self.password:
            return self._login_error("invalidlogin", "Invalid login, please try again")
        return Response(200, {"token": self.token, "privatetoken": None},
                        content_type="application/json; charset=utf-8")

    @staticmethod
    def _login_error(code: str, message: str) -> Response:
        return Response(200, {"error": message, "errorcode": code, "stacktrace": None,
                              "debuginfo": None, "reproductionlink": None},
                        content_type="application/json; charset=utf-8")

    def _rest(self, pairs: list[tuple[str, str]]) -> Response:
        params = decode_php_params(pairs)
        fmt = params.pop("moodlewsrestformat", "xml")
        function = params.pop("wsfunction", "")
        token = params.pop("wstoken", "")
        self._count(function if isinstance(function, str) else "?")
        try:
            if token != self.token:
                raise WsFault("core\\exception\\moodle_exception", "invalidtoken",
                              "Invalid token - token not found")
            if not self.can("webservice/rest:use"):
                raise WsFault("webservice_access_exception", "accessexception",
                              "Access control exception")
            entry = self._functions.get(function) if isinstance(function, str) else None
            if entry is None:
                raise missing_record("external_functions")
            allowed, handler = entry
            with self.world.lock:
                payload = handler(Params(params, allowed))
        except WsFault as fault:
            payload = _error_payload(fault)
        return self._answer(fmt, payload)

    # ------------------------------------------------------------------ world look-ups

    @property
    def _now(self) -> dt.datetime:
        return self.world.now

    def _courses(self) -> dict[int, str]:
        moodle = self.world.scenario.moodle
        courses = {c.id: c.name for c in moodle.courses}
        for a in moodle.assignments:
            courses.setdefault(a.course, f"Course {a.course}")
        if not courses and moodle.quiz_attempts:
            courses[1] = "Course 1"
        return courses

    def _quiz_course(self) -> int:
        """The course the quizzes are in: the scenario's first course."""
        courses = self.world.scenario.moodle.courses
        return courses[0].id if courses else min(self._courses(), default=1)

    def _course(self, course_id: int) -> str:
        name = self._courses().get(course_id)
        if name is None:
            raise missing_record("course")
        return name

    def _assignment_rows(self) -> dict[int, MoodleAssignmentRow]:
        return {a.id: a for a in self.world.scenario.moodle.assignments}

    def _people(self) -> list[tuple[int, str, TeacherRow | StudentRow]]:
        sc = self.world.scenario
        teachers = [(TEACHER_BASE_ID + i, "editingteacher", t) for i, t in enumerate(sc.teachers)]
        students = [(STUDENT_BASE_ID + i, "student", s) for i, s in enumerate(sc.students)]
        return teachers + students

    def _user_exists(self, user_id: int) -> bool:
        return user_id == SERVICE_USER_ID or any(uid == user_id for uid, _, _ in self._people())

    def _student_of(self, user_id: int) -> str | None:
        for uid, role, person in self._people():
            if uid == user_id and role == "student":
                return person.id
        return None

    # ------------------------------------------------------------------ functions

    def _site_info(self, params: Params) -> Any:
        return {
            "sitename": "Sandbox skolo", "username": self.username, "firstname": "Kartiba",
            "lastname": "Service", "fullname": "Kartiba Service", "lang": "en",
            "userid": SERVICE_USER_ID, "siteurl": self.base_url,
            "userpictureurl": f"{self.base_url}/theme/image.php/boost/core/1/u/f1",
            "functions": [{"name": name, "version": VERSION} for name in sorted(self._functions)],
            "downloadfiles": 1, "uploadfiles": 1, "release": RELEASE, "version": VERSION,
            "mobilecssurl": "",
            "advancedfeatures": [{"name": "enablecompletion", "value": 1},
                                 {"name": "messaging", "value": 1}],
            "usercanmanageownfiles": True, "userquota": 104857600,
            "usermaxuploadfilesize": 2097152, "userhomepage": 1,
            "userprivateaccesskey": "sandbox", "siteid": 1, "sitecalendartype": "gregorian",
            "usercalendartype": "gregorian", "userissiteadmin": False, "theme": "boost",
            "limitconcurrentlogins": 0, "policyagreed": 0,
        }

    def _course_module(self, params: Params) -> Any:
        cmid = params.integer("cmid")
        row = next((a for a in self.world.scenario.moodle.assignments if a.cmid == cmid), None)
        quizzes = self.quiz_ids()
        if row is not None:
            cm = self._cm(cmid, row.course, "assign", row.id, row.name, completion=2)
        elif cmid in quizzes:
            cm = self._cm(cmid, self._quiz_course(), "quiz", quizzes[cmid],
                          f"Quiz {quizzes[cmid]}", completion=0)
        else:
            raise unknown_record()
        self._require_course_access()
        groupmode = 1 if self._separate(cm["course"]) else 0
        return {"cm": {**cm, "groupmode": groupmode}, "warnings": []}

    @staticmethod
    def _cm(cmid: int, course: int, modname: str, instance: int, name: str,
            completion: int) -> dict[str, Any]:
        # the keys a real 4.5 sends to an account without moodle/course:manageactivities
        # (recorded-4.5-cases.json, course_module_known)
        return {"id": cmid, "course": course, "module": MODULE_TYPE_IDS[modname], "name": name,
                "modname": modname, "instance": instance, "section": 1, "sectionnum": 0,
                "groupmode": 0, "groupingid": 0, "completion": completion, "downloadcontent": 1}

    def _require_course_access(self) -> None:
        """The account is enrolled nowhere: reading a course needs ``moodle/course:view``."""
        if not self.can("moodle/course:view"):
            raise WsFault("require_login_exception", "requireloginerror",
                          "Course or activity not accessible. (Not enrolled)")

    def _enrolled_users(self, params: Params) -> Any:
        course_id = params.integer("courseid")
        options = params.options()
        course_name = self._course(course_id)
        self._require_course_access()
        if not self.can("moodle/course:viewparticipants"):
            raise no_permission("View participants")
        fields = None
        if "userfields" in options:
            fields = {f.strip() for f in options["userfields"].split(",") if f.strip()}
            fields |= {"id", "fullname"}
        if self._separate(course_id) and not self.can("moodle/site:accessallgroups"):
            return []  # separate groups: only the account's groups (it is in none; recorded)
        members = self._members(course_id)
        return [self._user_record(uid, role, person, course_id, course_name, fields)
                for uid, role, person in self._people()
                if self._enrolment(person.id, course_id) != "unenrolled"
                and (role != "student" or self._listed(person.id, course_id, members))]

    def _listed(self, student: str, course_id: int, members: set[str] | None) -> bool:
        """Whether ``core_enrol_get_enrolled_users`` shows a student to the account."""
        if members is not None and student not in members:
            return False
        if not self.can("moodle/user:viewdetails"):
            return False  # only course contacts' (teachers') profiles are visible (recorded)
        return self._shown(student, course_id)

    def _shown(self, student: str, course_id: int) -> bool:
        """Enrolled, and active unless the account may see suspended users."""
        state = self._enrolment(student, course_id)
        if state == "unenrolled":
            return False
        return state != "suspended" or self.can("moodle/course:viewsuspendedusers")

    def _enrolment(self, student: str, course_id: int) -> str:
        """``active``, ``suspended`` or ``unenrolled`` at ``world.now`` (the last change wins)."""
        state = "active"
        for row in self.world.scenario.moodle.enrolments:
            if row.student == student and row.course == course_id and self.world.visible(row.at):
                state = row.status
        return state

    def _separate(self, course_id: int) -> bool:
        return any(c.id == course_id and c.separate_groups
                   for c in self.world.scenario.moodle.courses)

    def _moodle_groups(self, student: str, course_id: int) -> list[int]:
        return [g.id for g in self.world.scenario.moodle.groups
                if g.course == course_id and student in g.members]

    def _members(self, course_id: int) -> set[str] | None:
        """Student ids enrolled in a course (None = all; module docstring); computed once."""
        if self.enrol == "all":
            return None
        with self._members_lock:
            if course_id not in self._members_cache:
                self._members_cache[course_id] = self._course_students(course_id)
            return self._members_cache[course_id]

    def _course_students(self, course_id: int) -> set[str]:
        sc = self.world.scenario
        first_course = sc.moodle.courses[0].id if sc.moodle.courses else None
        assignments = [a for a in sc.moodle.assignments if a.course == course_id]
        cmids = {a.cmid for a in assignments}
        if course_id == first_course:
            cmids |= {q.cmid for q in sc.moodle.quiz_attempts}
        groups = {lesson.group for lesson in sc.lessons if lesson.uzdots is not None
                  and cmids & {int(m) for m in _LINKED_CMID.findall(lesson.uzdots.text)}}
        ids = {st.id for st in sc.students if st.group in groups or groups & set(st.other_groups)}
        ids |= {sub.student for sub in sc.moodle.submissions
                if sub.assignment in {a.id for a in assignments}}
        ids |= {q.student for q in sc.moodle.quiz_attempts if q.cmid in cmids}
        return ids

    def _user_record(self, uid: int, role: str, person: TeacherRow | StudentRow,
                     course_id: int, course_name: str, fields: set[str] | None) -> dict[str, Any]:
        if isinstance(person, StudentRow):
            first, last, email = person.first_name, person.last_name, person.email
        else:
            first, _, last = person.name.partition(" ")
            email = person.email
        record: dict[str, Any] = {
            "id": uid, "username": (email.split("@")[0] or f"user{uid}").lower(),
            "firstname": first, "lastname": last, "fullname": f"{first} {last}".strip(),
            "email": email, "department": "",
        }
        if not self.can("moodle/course:useremail"):
            del record["email"]  # Moodle leaves the field out (the users hide their e-mail)
        if isinstance(person, StudentRow) and self.can("moodle/user:viewalldetails"):
            record["idnumber"] = f"S-{person.id}"  # else left out (recorded)
        record.update({
            "firstaccess": 0, "lastaccess": 0, "lastcourseaccess": 0,
            "profileimageurlsmall": f"{self.base_url}/theme/image.php/boost/core/1/u/f2",
            "profileimageurl": f"{self.base_url}/theme/image.php/boost/core/1/u/f1",
        })
        groups = self._moodle_groups(person.id, course_id) if isinstance(
            person, StudentRow) else []
        if groups and self.can("moodle/site:accessallgroups"):  # no groups: no key (recorded)
            names = {g.id: g.name for g in self.world.scenario.moodle.groups}
            record["groups"] = [{"id": gid, "name": names[gid] or f"Group {gid}",
                                 "description": "", "descriptionformat": 1} for gid in groups]
        record.update({
            "roles": [{"roleid": _ROLES[role], "name": "", "shortname": role, "sortorder": 0}],
            "enrolledcourses": [{"id": course_id, "fullname": course_name,
                                 "shortname": course_name[:20]}],
        })
        if fields is not None:
            record = {k: v for k, v in record.items() if k in fields}
        return record

    def _assignments(self, params: Params) -> Any:
        course_ids = params.integers("courseids")
        include = params.flag("includenotenrolledcourses")
        warnings: list[dict[str, Any]] = []
        courses = []
        if not course_ids or not include or not self.can("moodle/course:view"):
            # the account is enrolled in no course (and may not view courses it is not in)
            warnings = [{"item": "course", "itemid": cid, "warningcode": "2",
                         "message": "User is not enrolled or does not have requested capability"}
                        for cid in course_ids]
            return {"courses": [], "warnings": warnings}
        known = self._courses()
        for cid in course_ids:
            if cid not in known:
                warnings.append({"item": "course", "itemid": cid, "warningcode": "1",
                                 "message": "No access rights in course context "
                                            "Course or activity not accessible."})
                continue
            rows = [a for a in self.world.scenario.moodle.assignments
                    if a.course == cid and self.can("mod/assign:view")]
            courses.append({"id": cid, "fullname": known[cid], "shortname": known[cid][:20],
                            "timemodified": 0,
                            "assignments": [self._assignment(a) for a in rows]})
        return {"courses": courses, "warnings": warnings}

    @staticmethod
    def _assignment(a: MoodleAssignmentRow) -> dict[str, Any]:
        return {
            "id": a.id, "cmid": a.cmid, "course": a.course, "name": a.name,
            "nosubmissions": 0, "submissiondrafts": int(a.submit_button),
            "sendnotifications": 0,
            "sendlatenotifications": 0, "sendstudentnotifications": 1,
            "duedate": _unix(a.duedate), "allowsubmissionsfromdate": 0, "grade": 100,
            "timemodified": 0, "completionsubmit": 1, "cutoffdate": 0, "gradingduedate": 0,
            "teamsubmission": int(a.team), "requireallteammemberssubmit": 0,
            "teamsubmissiongroupingid": 0, "blindmarking": 0, "hidegrader": 0,
            "revealidentities": 0, "attemptreopenmethod": "untilpass", "maxattempts": -1,
            "markingworkflow": 0, "markingallocation": 0, "markinganonymous": 0,
            "requiresubmissionstatement": 0, "preventsubmissionnotingroup": 0,
            "configs": [{"plugin": "onlinetext", "subtype": "assignsubmission",
                         "name": "enabled", "value": "1"}],
            "intro": "", "introformat": 1, "introfiles": [], "introattachments": [],
            "timelimit": 0, "submissionattachments": 0,
        }

    # -- submissions: rows of one attempt are its history; owner = ("user", id) | ("group", id)

    def _history(self, assignment_id: int) -> dict[tuple[str, Any], _Attempts]:
        """Visible submission rows of an assignment by owner and attempt, oldest first."""
        out: dict[tuple[str, Any], _Attempts] = {}
        for index, row in enumerate(self.world.scenario.moodle.submissions):
            if row.assignment != assignment_id or not self.world.visible(row.timemodified):
                continue
            owner = ("group", row.group) if row.group is not None else ("user", row.student)
            out.setdefault(owner, {}).setdefault(row.attempt, []).append((index, row))
        for attempts in out.values():
            for rows in attempts.values():
                rows.sort(key=lambda item: item[1].timemodified)
        return out

    def _latest_rows(self, a: MoodleAssignmentRow) -> list[dict[str, Any]]:
        """What ``mod_assign_get_submissions`` lists: each owner's latest attempt only."""
        out = []
        history = self._history(a.id)
        own = {who for kind, who in history if kind == "user"}
        for (kind, who), attempts in sorted(history.items(), key=lambda item: str(item[0])):
            if kind == "user" and not self._shown(who, a.course):
                continue  # enrolment is required; suspended only with viewsuspendedusers
            number = max(attempts)
            out.append(self._submission(kind, who, number, attempts[number]))
            if kind == "group":
                out += self._member_drafts(a, who, number, attempts[number], own)
        return out

    def _member_drafts(self, a: MoodleAssignmentRow, group_id: int, number: int,
                       rows: list[tuple[int, Any]], own: set[str]) -> list[dict[str, Any]]:
        """Team members' own rows say ``draft`` even when the team submitted, except the row of
        the member who saved the team's submission (``by``): it has the team's status and
        times (recorded)."""
        group = next(g for g in self.world.scenario.moodle.groups if g.id == group_id)
        created = _unix(rows[0][1].timemodified)
        savers = {row.by for _, row in rows if row.by}
        out = []
        for position, member in enumerate(group.members):
            if member in own or self._enrolment(member, a.course) == "unenrolled":
                continue
            status, modified = "draft", created
            if member in savers:
                status, modified = rows[-1][1].status, _unix(rows[-1][1].timemodified)
            record = self._submission_shape(
                1_000_000 + group_id * 1000 + position, self.student_user_id(member), 0,
                number, status, created, modified)
            out.append(record)
        return out

    def _submission(self, kind: str, who: Any, number: int,
                    rows: list[tuple[int, Any]]) -> dict[str, Any]:
        index, first = rows[0]
        last = rows[-1][1]
        userid = self.student_user_id(who) if kind == "user" else 0
        groupid = who if kind == "group" else 0
        return self._submission_shape(index + 1, userid, groupid, number, last.status,
                                      _unix(first.timemodified), _unix(last.timemodified))

    @staticmethod
    def _submission_shape(sid: int, userid: int, groupid: int, number: int, status: str,
                          created: int, modified: int) -> dict[str, Any]:
        return {
            "id": sid, "userid": userid, "attemptnumber": number,
            "timecreated": created, "timemodified": modified, "timestarted": None,
            "status": status, "groupid": groupid,
            "plugins": [
                {"type": "onlinetext", "name": "Online text",
                 "fileareas": [{"area": "submissions_onlinetext", "files": []}],
                 "editorfields": [{"name": "onlinetext",
                                   "description": "Online text submissions",
                                   "text": "", "format": 0}]},
                {"type": "comments", "name": "Submission comments"},
            ],
            "gradingstatus": "notgraded",
        }

    def _submissions(self, params: Params) -> Any:
        ids = params.integers("assignmentids", required=True)
        status = params.text("status")
        since = params.integer("since", 0)
        before = params.integer("before", 0)
        rows = self._assignment_rows()
        assignments, warnings = [], []
        for aid in dict.fromkeys(ids):
            if aid not in rows:
                continue  # Moodle silently leaves out ids that are not assignments
            if not (self.can("moodle/course:view") and self.can("mod/assign:grade")):
                warnings.append(no_module_access("assignment", aid))
                continue
            subs = [s for s in self._latest_rows(rows[aid])
                    if (not status or s["status"] == status) and s["timemodified"] >= since
                    and (not before or s["timemodified"] <= before)]
            if not subs:
                warnings.append({"item": "module", "itemid": aid, "warningcode": "3",
                                 "message": "No submissions found"})
            assignments.append({"assignmentid": aid, "submissions": subs})
        return {"assignments": assignments, "warnings": warnings}

    def _submission_status(self, params: Params) -> Any:
        aid = params.integer("assignid")
        user_id = params.integer("userid", 0) or SERVICE_USER_ID
        params.integer("groupid", 0)
        a = self._assignment_rows().get(aid)
        if a is None:
            raise missing_record("assign")
        self._require_course_access()
        student = self._student_of(user_id)
        if user_id != SERVICE_USER_ID and (
                not self.can("mod/assign:grade") or student is None
                or self._enrolment(student, a.course) == "unenrolled"):
            raise no_permission("View all grades")
        groups = self._moodle_groups(student or "", a.course)
        owner: tuple[str, Any] = ("group", groups[0]) if a.team and groups else ("user", student)
        attempts = self._history(aid).get(owner, {})
        last = max(attempts, default=None)
        shaped = None if last is None else self._status_submission(
            aid, owner, last, attempts[last], latest=True)
        lastattempt: dict[str, Any] = {
            "submissiongroupmemberswhoneedtosubmit": [], "submissionsenabled": True,
            "locked": False, "graded": False, "canedit": False, "caneditowner": False,
            "cansubmit": False, "extensionduedate": None, "timelimit": 0,
            "blindmarking": False, "gradingstatus": "notgraded", "usergroups": groups}
        if a.team:
            lastattempt["teamsubmission"] = shaped
            lastattempt["submissiongroup"] = owner[1] if owner[0] == "group" else 0
        elif shaped is not None:
            lastattempt["submission"] = shaped
        # ungraded attempts carry no "grade"/"feedbackplugins" keys (recorded)
        previous = [{"attemptnumber": n, "submission": self._status_submission(
                        aid, owner, n, attempts[n], latest=False)}
                    for n in sorted(attempts) if last is not None and n < last]
        return {"gradingsummary": self._grading_summary(a), "lastattempt": lastattempt,
                "previousattempts": previous, "assignmentdata": {"attachments": {"intro": []}},
                "warnings": []}

    def _status_submission(self, aid: int, owner: tuple[str, Any], number: int,
                           rows: list[tuple[int, Any]], latest: bool) -> dict[str, Any]:
        """A submission as ``mod_assign_get_submission_status`` shapes it: with
        ``assignment`` and ``latest``, without ``gradingstatus`` (recorded)."""
        shaped = self._submission(*owner, number, rows)
        del shaped["gradingstatus"]
        plugins = shaped.pop("plugins")
        return {**shaped, "assignment": aid, "latest": int(latest), "plugins": plugins}

    def _grading_summary(self, a: MoodleAssignmentRow) -> dict[str, Any]:
        """What a grader sees: active enrolled students and their latest attempts."""
        active = [st.id for st in self.world.scenario.students
                  if self._enrolment(st.id, a.course) == "active"]
        latest = [rows[max(rows)][-1][1].status
                  for (kind, who), rows in self._history(a.id).items()
                  if kind == "group" or who in active]
        submitted = latest.count("submitted")
        return {"participantcount": len(active), "submissiondraftscount": latest.count("draft"),
                "submissionsenabled": True, "submissionssubmittedcount": submitted,
                "submissionsneedgradingcount": submitted, "warnofungroupedusers": ""}

    def _quizzes(self, params: Params) -> Any:
        course_ids = params.integers("courseids")
        known = self._courses()
        quiz_course = self._quiz_course()
        quizzes, warnings = [], []
        for cid in course_ids:
            if cid not in known:
                warnings.append({"item": "course", "itemid": cid, "warningcode": "1",
                                 "message": "No access rights in course context"})
                continue
            if cid != quiz_course:
                continue
            for cmid, qid in self.quiz_ids().items():
                quizzes.append(self._quiz(qid, cmid, cid))
        return {"quizzes": quizzes, "warnings": warnings}

    @staticmethod
    def _quiz(qid: int, cmid: int, course: int) -> dict[str, Any]:
        return {
            "id": qid, "coursemodule": cmid, "course": course, "name": f"Quiz {qid}",
            "intro": "", "introformat": 1, "introfiles": [], "section": 0, "visible": True,
            "groupmode": 0, "groupingid": 0, "lang": "", "timeopen": 0, "timeclose": 0,
            "timelimit": 0, "overduehandling": "autosubmit", "graceperiod": 86400,
            "preferredbehaviour": "deferredfeedback", "canredoquestions": 0, "attempts": 0,
            "attemptonlast": 0, "grademethod": 1, "decimalpoints": 2,
            "questiondecimalpoints": -1, "reviewattempt": 69904, "reviewcorrectness": 69904,
            "reviewmaxmarks": 69904, "reviewmarks": 69904, "reviewspecificfeedback": 69904,
            "reviewgeneralfeedback": 69904, "reviewrightanswer": 69904,
            "reviewoverallfeedback": 4368, "questionsperpage": 1, "navmethod": "free",
            "shuffleanswers": 1, "sumgrades": 10, "grade": 100, "timecreated": 0,
            "timemodified": 0, "password": "", "subnet": "", "browsersecurity": "",
            "delay1": 0, "delay2": 0, "showuserpicture": 0, "showblocks": 0,
            "completionattemptsexhausted": 0, "completionpass": 0, "allowofflineattempts": 0,
            "autosaveperiod": 60, "hasfeedback": 0, "hasquestions": 1,
        }

    def _user_attempts(self, params: Params) -> Any:
        quiz_id = params.integer("quizid")
        user_id = params.integer("userid", 0) or SERVICE_USER_ID
        status = params.text("status", "finished")
        params.flag("includepreviews")
        by_quiz = {qid: cmid for cmid, qid in self.quiz_ids().items()}
        if quiz_id not in by_quiz:
            raise missing_record("quiz")
        if status not in {"all", "finished", "unfinished"}:
            raise invalid_parameter("Invalid status value")
        if not self._user_exists(user_id):
            raise missing_record("user")
        if user_id != SERVICE_USER_ID and not self.can("mod/quiz:viewreports"):
            raise no_permission("View quiz reports")
        student = self._student_of(user_id)
        states = {"all": {"inprogress", "overdue", "finished", "abandoned"},
                  "finished": {"finished", "abandoned"},
                  "unfinished": {"inprogress", "overdue"}}[status]
        attempts = []
        rows = [(i, r) for i, r in enumerate(self.world.scenario.moodle.quiz_attempts)
                if r.cmid == by_quiz[quiz_id] and r.student == student
                and self.world.visible(r.timefinish)]
        for number, (index, row) in enumerate(rows, start=1):
            if row.state in states:
                attempts.append(self._attempt(index, quiz_id, user_id, number, row.state,
                                              _unix(row.timefinish)))
        return {"attempts": attempts, "warnings": []}

    @staticmethod
    def _attempt(index: int, quiz_id: int, user_id: int, number: int, state: str,
                 finish: int) -> dict[str, Any]:
        return {"id": index + 1, "quiz": quiz_id, "userid": user_id, "attempt": number,
                "uniqueid": index + 1, "layout": "1,0", "currentpage": 0, "preview": 0,
                "state": state, "timestart": max(0, finish - 600) if finish else 0,
                "timefinish": finish, "timemodified": finish, "timemodifiedoffline": 0,
                "timecheckstate": None, "sumgrades": 8.0 if state == "finished" else None,
                "gradeitemmarks": [],
                "gradednotificationsenttime": finish if state == "finished" else None}

    def _completion(self, params: Params) -> Any:
        course_id = params.integer("courseid")
        user_id = params.integer("userid")
        self._course(course_id)
        self._require_course_access()
        if not self._user_exists(user_id):
            raise missing_record("user")
        if user_id != SERVICE_USER_ID and not self.can("report/progress:view"):
            raise WsFault("moodle_exception", "cannotviewreport", "You cannot view this report")
        if (user_id != SERVICE_USER_ID and self._separate(course_id)
                and not self.can("moodle/site:accessallgroups")):
            # groups_user_groups_visible(): the account shares no group with the user (recorded)
            raise WsFault("core\\exception\\moodle_exception", "accessdenied", "Access denied")
        student = self._student_of(user_id)
        statuses = []
        for a in self.world.scenario.moodle.assignments:
            if a.course != course_id:
                continue
            done_at = self._first_submitted(a, student or "")
            done = done_at is not None
            now_met = self._latest_submitted(a, student or "")
            statuses.append({
                "cmid": a.cmid, "modname": "assign", "instance": a.id,
                "state": 1 if done else 0,
                "timecompleted": _unix(done_at),
                "tracking": 2, "overrideby": None, "valueused": False, "hascompletion": True,
                "isautomatic": True, "istrackeduser": student is not None, "uservisible": True,
                "details": [{"rulename": "completionsubmit",
                             "rulevalue": {"status": 1 if now_met else 0,
                                           "description": "Make a submission"}}],
                "isoverallcomplete": done,
            })
        return {"statuses": statuses, "warnings": []}

    def _latest_submitted(self, a: MoodleAssignmentRow, student: str) -> bool:
        """Whether the latest attempt is submitted: the rule's own status (a reopened attempt
        leaves the activity complete but the rule unmet; recorded)."""
        owners = [("user", student)] + [("group", g) for g in self._moodle_groups(student,
                                                                                   a.course)]
        history = self._history(a.id)
        return any(attempts[max(attempts)][-1][1].status == "submitted"
                   for owner in owners if (attempts := history.get(owner)))

    def _first_submitted(self, a: MoodleAssignmentRow, student: str) -> dt.datetime | None:
        """When the student (or their team) first submitted: completion on submission."""
        owners = [("user", student)] + [("group", g) for g in self._moodle_groups(student,
                                                                                   a.course)]
        history = self._history(a.id)
        times = [row.timemodified for owner in owners
                 for rows in history.get(owner, {}).values()
                 for _, row in rows if row.status == "submitted"]
        return min(times, default=None)
