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

Every error is HTTP 200 with Moodle's JSON error shape; unexpected or malformed parameters
are ``invalidparameter``, as Moodle's parameter validation makes them. ``stats()`` counts
requests per function.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from collections.abc import Callable
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
                 port: int = 0, *, enrol: str = "all") -> None:
        super().__init__(host, port)
        self.world = world
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
            raise missing_record("course_modules")
        return {"cm": cm, "warnings": []}

    @staticmethod
    def _cm(cmid: int, course: int, modname: str, instance: int, name: str,
            completion: int) -> dict[str, Any]:
        return {"id": cmid, "course": course, "module": MODULE_TYPE_IDS[modname], "name": name,
                "modname": modname, "instance": instance, "section": 1, "sectionnum": 0,
                "groupmode": 0, "groupingid": 0, "completion": completion, "idnumber": "",
                "added": 0, "score": 0, "indent": 0, "visible": 1, "visibleoncoursepage": 1,
                "visibleold": 1, "completiongradeitemnumber": None, "completionview": 0,
                "completionexpected": 0, "showdescription": 0, "downloadcontent": 1,
                "availability": None, "grade": 100, "gradepass": "0.00", "gradecat": 1,
                "advancedgrading": [], "outcomes": []}

    def _enrolled_users(self, params: Params) -> Any:
        course_id = params.integer("courseid")
        options = params.options()
        course_name = self._course(course_id)
        fields = None
        if "userfields" in options:
            fields = {f.strip() for f in options["userfields"].split(",") if f.strip()}
            fields |= {"id", "fullname"}
        members = self._members(course_id)
        return [self._user_record(uid, role, person, course_id, course_name, fields)
                for uid, role, person in self._people()
                if role != "student" or members is None or person.id in members]

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
        ids = {st.id for st in sc.students if st.group in groups}
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
        if isinstance(person, StudentRow):
            record["idnumber"] = f"S-{person.id}"
        record.update({
            "firstaccess": 0, "lastaccess": 0, "lastcourseaccess": 0,
            "profileimageurlsmall": f"{self.base_url}/theme/image.php/boost/core/1/u/f2",
            "profileimageurl": f"{self.base_url}/theme/image.php/boost/core/1/u/f1",
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
        if not course_ids or not include:  # the account is enrolled in no course
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
            rows = [a for a in self.world.scenario.moodle.assignments if a.course == cid]
            courses.append({"id": cid, "fullname": known[cid], "shortname": known[cid][:20],
                            "timemodified": 0,
                            "assignments": [self._assignment(a) for a in rows]})
        return {"courses": courses, "warnings": warnings}

    @staticmethod
    def _assignment(a: MoodleAssignmentRow) -> dict[str, Any]:
        return {
            "id": a.id, "cmid": a.cmid, "course": a.course, "name": a.name,
            "nosubmissions": 0, "submissiondrafts": 1, "sendnotifications": 0,
            "sendlatenotifications": 0, "sendstudentnotifications": 1,
            "duedate": _unix(a.duedate), "allowsubmissionsfromdate": 0, "grade": 100,
            "timemodified": 0, "completionsubmit": 1, "cutoffdate": 0, "gradingduedate": 0,
            "teamsubmission": 0, "requireallteammemberssubmit": 0,
            "teamsubmissiongroupingid": 0, "blindmarking": 0, "hidegrader": 0,
            "revealidentities": 0, "attemptreopenmethod": "untilpass", "maxattempts": 1,
            "markingworkflow": 0, "markingallocation": 0, "markinganonymous": 0,
            "requiresubmissionstatement": 0, "preventsubmissionnotingroup": 0,
            "configs": [{"plugin": "onlinetext", "subtype": "assignsubmission",
                         "name": "enabled", "value": "1"}],
            "intro": "", "introformat": 1, "introfiles": [], "introattachments": [],
            "timelimit": 0, "submissionattachments": 0,
        }

    def _current_submissions(self, assignment_id: int) -> dict[str, tuple[int, Any]]:
        """Each student's latest visible submission row for one assignment (with row index)."""
        latest: dict[str, tuple[int, Any]] = {}
        for index, row in enumerate(self.world.scenario.moodle.submissions):
            if row.assignment != assignment_id or not self.world.visible(row.timemodified):
                continue
            if row.student not in latest or latest[row.student][1].timemodified <= \
                    row.timemodified:
                latest[row.student] = (index, row)
        return latest

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
            subs = []
            for student, (index, row) in sorted(self._current_submissions(aid).items()):
                modified = _unix(row.timemodified)
                if status and row.status != status:
                    continue
                if modified < since or (before and modified > before):
                    continue
                subs.append(self._submission(index, aid, student, row.status, modified))
            if not subs:
                warnings.append({"item": "module", "itemid": aid, "warningcode": "3",
                                 "message": "No submissions found"})
            assignments.append({"assignmentid": aid, "submissions": subs})
        return {"assignments": assignments, "warnings": warnings}

    def _submission(self, index: int, aid: int, student: str, status: str,
                    modified: int) -> dict[str, Any]:
        return {
            "id": index + 1, "userid": self.student_user_id(student), "attemptnumber": 0,
            "timecreated": modified, "timemodified": modified, "timestarted": None,
            "status": status, "groupid": 0,
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
                "gradednotificationsenttime": None}

    def _completion(self, params: Params) -> Any:
        course_id = params.integer("courseid")
        user_id = params.integer("userid")
        self._course(course_id)
        if not self._user_exists(user_id):
            raise missing_record("user")
        student = self._student_of(user_id)
        statuses = []
        for a in self.world.scenario.moodle.assignments:
            if a.course != course_id:
                continue
            current = self._current_submissions(a.id).get(student or "")
            done = current is not None and current[1].status == "submitted"
            statuses.append({
                "cmid": a.cmid, "modname": "assign", "instance": a.id,
                "state": 1 if done else 0,
                "timecompleted": _unix(current[1].timemodified) if done and current else 0,
                "tracking": 2, "overrideby": None, "valueused": False, "hascompletion": True,
                "isautomatic": True, "istrackeduser": student is not None, "uservisible": True,
                "details": [{"rulename": "completionsubmit",
                             "rulevalue": {"status": 1 if done else 0,
                                           "description": "Make a submission"}}],
                "isoverallcomplete": done,
            })
        return {"statuses": statuses, "warnings": []}
