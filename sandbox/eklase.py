"""A stand-in of the e-klase journal gateway: SOAP 1.1 over loopback, contract v1.1.

Written from the contract in ``sandbox/eklase_contract/`` (the sandbox's own copy of
``journal.wsdl``/``journal.xsd``) with the standard library and lxml, independently of the
client. It

* serves the WSDL at ``GET /journal?wsdl`` (its address rewritten to this server) and the
  schema at ``GET /journal?xsd=journal.xsd``;
* checks the WS-Security UsernameToken of every request (PasswordText or PasswordDigest): a
  Nonce is accepted once within the freshness window (nonce memory), ``wsu:Created`` must be
  UTC in ``Z`` form and within :data:`CLOCK_SKEW` of this server's clock, and a
  ``wsu:Timestamp``, when sent, must not have expired. It answers
  ``wsse:FailedAuthentication`` (``wsse:MessageExpired`` for a stale token,
  ``wsse:InvalidSecurity`` for a malformed header) otherwise;
* validates every request payload against the XSD and answers a ``soap:Client`` Fault with code
  ``INVALID_REQUEST`` when it does not validate;
* serves ``world.scenario`` as it is at ``world.now``: UZDOTS entries, topics and marks appear
  only once they exist, notices once received (their ``id``, else ``N1``, ``N2``... by
  position) and with ``withdrawnAt`` once withdrawn; lessons from their ``added_at`` on, with
  every change made by then (time, lessonType, ``cancelled``, ``modifiedAt``), UZDOTS entries
  with every edit made by then (``modifiedAt``), marks after the persons' edits made by then
  (listed as ``markEdit``); a student is listed under the home group with ``otherGroupId``;
* stores marks written through SetAttendanceMark (author = the authenticated account) and logs
  every schema-valid, authenticated SetAttendanceMark call in :attr:`writes`.

GetLessons windows longer than 31 days are refused (``WINDOW_TOO_LONG``), as the contract
allows a gateway to do.

Test hooks (plain attributes, cleared by :meth:`EklaseSandbox.reset`): ``locked_lessons``
(SetAttendanceMark answers ``refused``/``journal_locked`` for them), ``racing_marks``
((lesson, student) pairs where a person's mark is saved between the client's read-back and
its write: SetAttendanceMark refuses ``manual_mark``, GetLessons does not show it yet),
``lesson_labels`` (a
lessonType label per lesson id, e.g. one the client does not know), ``naive_times`` (lesson
ids served with times that lack their UTC offset: a contract violation on purpose),
``forced_faults`` (operation -> fault codes answered to its next calls, after
authentication) and ``unqualified_fault_detail`` (fault detail children without a
namespace, as some toolkits write them). The ``soap`` fault kind of
:class:`sandbox.faults.FaultPlan` answers the transient ``UNAVAILABLE`` after the request
authenticated, so a retried request must carry a fresh nonce.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import threading
from importlib import resources
from typing import Any

from lxml import etree

from sandbox.httpserver import LoopbackServer, Request, Response
from sandbox.scenario import (
    LessonRow,
    MarkAt,
    in_group,
    lesson_at,
    marks_at,
    person_edits_at,
    uzdots_at,
)
from sandbox.world import RIGA, World

NS = "urn:kartiba:eklase:journal:v1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = ("http://docs.oasis-open.org/wss/2004/01/"
                   "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")

SERVICE_PATH = "/journal"
GATEWAY_VERSION = "sandbox-1.1"
CONTRACT_VERSION = "1.1"
MAX_WINDOW_DAYS = 31
#: How far a token's wsu:Created may be from this server's clock, either way; nonces are
#: remembered for twice that long, so a replay inside the window is always caught.
CLOCK_SKEW = dt.timedelta(minutes=5)
TOKEN_MAX_AGE = CLOCK_SKEW
LESSON_TYPES = {
    "in_person": "Klātienē",
    "remote_sync": "Attālināti tiešsaistē",
    "remote_async": "Attālināti patstāvīgi",
}
XML_TYPE = "text/xml; charset=utf-8"
TRANSIENT_FAULT = "The journal database is temporarily unavailable; try again later"
#: Attendance codes (as opposed to grades): their marks always say whether excused.
ATTENDANCE_CODES = frozenset({"n"})
#: retryAfter of the UNAVAILABLE faults this sandbox answers, seconds.
RETRY_AFTER_S = 1
#: faultcode and faultstring of the codes ``forced_faults`` may name.
FORCED = {
    "UNAVAILABLE": ("soap:Server", TRANSIENT_FAULT),
    "RATE_LIMITED": ("soap:Server", "Too many requests; try again later"),
    "INTERNAL": ("soap:Server", "The gateway failed to carry out the request"),
}



def _parser() -> etree.XMLParser:
    """A parser without entities or network access; one per call (requests run in threads)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           remove_blank_text=True)


def _contract(name: str) -> bytes:
    return resources.files("sandbox.eklase_contract").joinpath(name).read_bytes()


def _iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds")


def _school_year(day: dt.date) -> str:
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}/{first + 1}"


class SoapFault(Exception):
    """An error answered as a SOAP 1.1 Fault (HTTP 500)."""

    def __init__(self, code: str, text: str, object_id: str | None = None,
                 faultcode: str = "soap:Client", retry_after: int | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.object_id = object_id
        self.faultcode = faultcode
        self.retry_after = retry_after


def _el(parent: etree._Element, name: str, text: Any = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NS}}}{name}")
    if text is not None:
        child.text = ("true" if text else "false") if isinstance(text, bool) else str(text)
    return child


class EklaseSandbox(LoopbackServer):
    """The journal gateway over loopback, serving a :class:`World`.

    Args:
        world: the scenario and the clock.
        username: the gateway account; the author of marks written through it.
        password: its password.
    """

    def __init__(self, world: World, username: str = "kartiba",
                 password: str = "sandbox-password", host: str = "127.0.0.1",
                 port: int = 0) -> None:
        super().__init__(host, port)
        self.world = world
        self.username = username
        self.password = password
        self.writes: list[dict] = []
        self.calls: dict[str, int] = {}
        self._written: dict[tuple[str, str], dict] = {}  # (lesson, student) -> our mark
        self._keys: dict[str, tuple[str, str]] = {}  # idempotency key -> (lesson, student)
        self._nonces: dict[str, dt.datetime] = {}  # nonce -> when it may be forgotten
        self.locked_lessons: set[str] = set()
        self.racing_marks: set[tuple[str, str]] = set()
        self.lesson_labels: dict[str, str] = {}
        self.naive_times: set[str] = set()
        self.forced_faults: dict[str, list[str]] = {}
        self.unqualified_fault_detail = False
        self._state = threading.Lock()
        self._schema_lock = threading.Lock()
        self._schema = etree.XMLSchema(etree.fromstring(_contract("journal.xsd"), _parser()))
        self._operations = {
            "GetServiceInfo": self._service_info,
            "GetTeachers": self._teachers,
            "GetRoster": self._roster,
            "GetSubjects": self._subjects,
            "GetLessons": self._lessons,
            "GetNotices": self._notices,
            "SetAttendanceMark": self._set_attendance_mark,
        }

    def reset(self) -> None:
        """Forget every write, nonce and counter: a fresh journal for the same world."""
        with self._state:
            self.writes.clear()
            self.calls.clear()
            self._written.clear()
            self._keys.clear()
            self._nonces.clear()
            self.locked_lessons.clear()
            self.racing_marks.clear()
            self.lesson_labels.clear()
            self.naive_times.clear()
            self.forced_faults.clear()
            self.unqualified_fault_detail = False

    @property
    def endpoint(self) -> str:
        """The address clients post to."""
        return self.base_url + SERVICE_PATH

    # -------------------------------------------------------------------- fault hooks
    # Server-specific kinds of ``sandbox.faults.FaultPlan``: None = not applicable here.

    def fault_soap(self, request: Request) -> Response | None:
        """A passing gateway failure: the transient fault UNAVAILABLE (``soap:Server``, with
        ``retryAfter``), the request not carried out.

        It is answered only after the request authenticated (its nonce is then used up), so
        a client that sends the same envelope again is refused as a replay. A request that
        does not authenticate gets no injected fault (the normal answer says why).
        """
        if request.method != "POST" or request.raw_path != SERVICE_PATH:
            return None
        try:
            self._admit(request)
        except SoapFault:
            return None
        return self._fault(self._transient("UNAVAILABLE"))

    # -------------------------------------------------------------------- HTTP

    def handle(self, request: Request) -> Response:
        if request.raw_path != SERVICE_PATH:
            return Response(404, "not found")
        if request.method == "GET":
            if "wsdl" in request.query:
                return Response(200, self._wsdl(), content_type=XML_TYPE)
            if request.arg("xsd") == "journal.xsd":
                return Response(200, _contract("journal.xsd"), content_type=XML_TYPE)
            return Response(404, "not found")
        if request.method != "POST":
            return Response(405, "method not allowed", headers={"Allow": "GET, POST"})
        try:
            name, payload = self._admit(request)
            self._forced_fault(name)
            self._validate(payload)
            with self._state:
                self.calls[name] = self.calls.get(name, 0) + 1
            result = self._operations[name](payload)
        except SoapFault as fault:
            return self._fault(fault)
        return Response(200, self._envelope(result), content_type=XML_TYPE)

    def _admit(self, request: Request) -> tuple[str, etree._Element]:
        """Parse, check SOAPAction and authenticate: the operation's name and payload."""
        root = self._parse(request.body)
        name, payload = self._payload(root)
        self._check_action(request, name)
        self._authenticate(root)
        return name, payload

    def _forced_fault(self, name: str) -> None:
        """Answer the next fault code queued for this operation (test hook), if any."""
        with self._state:
            queue = self.forced_faults.get(name)
            code = queue.pop(0) if queue else None
        if code is not None:
            raise self._transient(code)

    @staticmethod
    def _transient(code: str) -> SoapFault:
        faultcode, text = FORCED[code]
        retry = RETRY_AFTER_S if code != "INTERNAL" else None
        return SoapFault(code, text, faultcode=faultcode, retry_after=retry)

    def _wsdl(self) -> bytes:
        doc = etree.fromstring(_contract("journal.wsdl"), _parser())
        for address in doc.iter(f"{{{WSDL_SOAP}}}address"):
            address.set("location", self.endpoint)
        for include in doc.iter(f"{{{XSD_NS}}}include"):
            include.set("schemaLocation", f"{self.endpoint}?xsd=journal.xsd")
        return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")

    # -------------------------------------------------------------------- SOAP

    @staticmethod
    def _parse(body: bytes) -> etree._Element:
        try:
            return etree.fromstring(body, _parser())
        except etree.XMLSyntaxError as exc:
            raise SoapFault("INVALID_REQUEST", f"not well-formed XML: {exc}") from None

    def _payload(self, root: etree._Element) -> tuple[str, etree._Element]:
        if root.tag != f"{{{SOAP_ENV}}}Envelope":
            raise SoapFault("INVALID_REQUEST", "not a SOAP 1.1 envelope")
        soap_body = root.find(f"{{{SOAP_ENV}}}Body")
        children = [] if soap_body is None else [c for c in soap_body
                                                  if isinstance(c.tag, str)]
        if len(children) != 1:
            raise SoapFault("INVALID_REQUEST", "the SOAP Body must hold exactly one element")
        payload = children[0]
        qname = etree.QName(payload)
        if qname.namespace != NS or qname.localname not in self._operations:
            raise SoapFault("INVALID_REQUEST", f"unknown operation {qname.localname}")
        return qname.localname, payload

    @staticmethod
    def _check_action(request: Request, name: str) -> None:
        """SOAP 1.1 over HTTP: the SOAPAction header must name the operation in the body."""
        action = (request.headers.get("SOAPAction") or "").strip().strip('"')
        if action != f"{NS}#{name}":
            raise SoapFault("INVALID_REQUEST", f"SOAPAction does not match the body ({name})")

    def _authenticate(self, root: etree._Element) -> None:
        security = root.find(f"{{{SOAP_ENV}}}Header/{{{WSSE}}}Security")
        token = security.find(f"{{{WSSE}}}UsernameToken") if security is not None else None
        if token is None:
            raise self._auth_fault("no WS-Security UsernameToken")
        username = token.findtext(f"{{{WSSE}}}Username") or ""
        password = token.find(f"{{{WSSE}}}Password")
        if password is None or not hmac.compare_digest(username, self.username):
            raise self._auth_fault("unknown user or no password")
        self._check_timestamp(security)
        nonce, created = self._fresh(token)
        if password.get("Type") == PASSWORD_DIGEST:
            self._check_digest(nonce, created, password.text or "")
        elif not hmac.compare_digest((password.text or "").encode(), self.password.encode()):
            raise self._auth_fault("wrong password")
        if nonce:
            self._remember_nonce(nonce)

    def _fresh(self, token: etree._Element) -> tuple[str, str]:
        """Nonce and Created of a token; Created must be UTC ("Z") and within the skew."""
        nonce = (token.findtext(f"{{{WSSE}}}Nonce") or "").strip()
        created = (token.findtext(f"{{{WSU}}}Created") or "").strip()
        if created:
            self._check_instant(created, "Created")
        return nonce, created

    def _check_instant(self, text: str, what: str) -> dt.datetime:
        if not text.endswith("Z"):
            raise self._security_fault(f"{what} must be UTC in Z form")
        try:
            when = dt.datetime.fromisoformat(text[:-1] + "+00:00")
        except ValueError:
            raise self._security_fault(f"{what} is not a date-time") from None
        if abs(dt.datetime.now(dt.UTC) - when) > CLOCK_SKEW:
            raise self._expired(f"{what} is outside the clock skew window")
        return when

    def _check_timestamp(self, security: etree._Element) -> None:
        stamp = security.find(f"{{{WSU}}}Timestamp")
        if stamp is None:
            return
        self._check_instant((stamp.findtext(f"{{{WSU}}}Created") or "").strip(), "Created")
        expires = (stamp.findtext(f"{{{WSU}}}Expires") or "").strip()
        if expires:
            try:
                until = dt.datetime.fromisoformat(expires.replace("Z", "+00:00"))
            except ValueError:
                raise self._security_fault("Expires is not a date-time") from None
            if until.tzinfo is None or until < dt.datetime.now(dt.UTC) - CLOCK_SKEW:
                raise self._expired("the Timestamp has expired")

    def _check_digest(self, nonce: str, created: str, digest: str) -> None:
        if not nonce or not created:
            raise self._auth_fault("PasswordDigest needs a Nonce and Created")
        try:
            raw_nonce = base64.b64decode(nonce, validate=True)
        except ValueError:
            raise self._auth_fault("bad nonce") from None
        expected = base64.b64encode(hashlib.sha1(  # noqa: S324 - WS-Security digest is SHA-1
            raw_nonce + created.encode() + self.password.encode()).digest()).decode()
        if not hmac.compare_digest(expected, digest.strip()):
            raise self._auth_fault("wrong password")

    def _remember_nonce(self, nonce: str) -> None:
        """Nonce memory: a nonce is accepted once while a token carrying it could be fresh."""
        now = dt.datetime.now(dt.UTC)
        with self._state:
            for old in [n for n, until in self._nonces.items() if until < now]:
                del self._nonces[old]
            if nonce in self._nonces:
                raise self._auth_fault("nonce used before")
            self._nonces[nonce] = now + 2 * CLOCK_SKEW

    @staticmethod
    def _auth_fault(why: str) -> SoapFault:
        return SoapFault("AUTH_FAILED", f"The security token could not be authenticated "
                         f"({why})", faultcode="wsse:FailedAuthentication")

    @staticmethod
    def _expired(why: str) -> SoapFault:
        return SoapFault("AUTH_FAILED", f"The message has expired ({why})",
                         faultcode="wsse:MessageExpired")

    @staticmethod
    def _security_fault(why: str) -> SoapFault:
        return SoapFault("AUTH_FAILED", f"An error was discovered processing the "
                         f"<wsse:Security> header ({why})", faultcode="wsse:InvalidSecurity")

    def _validate(self, payload: etree._Element) -> None:
        document = etree.ElementTree(etree.fromstring(etree.tostring(payload), _parser()))
        with self._schema_lock:  # the validator and its error log are shared
            valid = self._schema.validate(document)
            error = None if valid else self._schema.error_log.last_error
        if error is not None:
            raise SoapFault("INVALID_REQUEST", f"request does not validate: {error.message}")

    @staticmethod
    def _envelope(result: etree._Element) -> bytes:
        env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "j": NS})
        etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(result)
        return etree.tostring(env, xml_declaration=True, encoding="UTF-8")

    def _fault(self, fault: SoapFault) -> Response:
        env = etree.Element(f"{{{SOAP_ENV}}}Envelope",
                            nsmap={"soap": SOAP_ENV, "j": NS, "wsse": WSSE})
        node = etree.SubElement(etree.SubElement(env, f"{{{SOAP_ENV}}}Body"),
                                f"{{{SOAP_ENV}}}Fault")
        etree.SubElement(node, "faultcode").text = fault.faultcode
        etree.SubElement(node, "faultstring").text = fault.text
        ns = "" if self.unqualified_fault_detail else f"{{{NS}}}"
        detail = etree.SubElement(etree.SubElement(node, "detail"), f"{ns}JournalFault")
        fields = (("code", fault.code), ("objectId", fault.object_id),
                  ("retryAfter", fault.retry_after))
        for name, value in fields:
            if value is not None and value != "":
                etree.SubElement(detail, f"{ns}{name}").text = str(value)
        return Response(500, etree.tostring(env, xml_declaration=True, encoding="UTF-8"),
                        content_type=XML_TYPE)

    # -------------------------------------------------------------------- request values

    @staticmethod
    def _value(payload: etree._Element, name: str) -> str:
        return (payload.findtext(f"{{{NS}}}{name}") or "").strip()

    @staticmethod
    def _values(payload: etree._Element, name: str) -> list[str]:
        return [(e.text or "").strip() for e in payload.findall(f"{{{NS}}}{name}")]

    def _date(self, payload: etree._Element, name: str) -> dt.date:
        return dt.date.fromisoformat(self._value(payload, name)[:10])

    def _group_filter(self, payload: etree._Element) -> set[str] | None:
        wanted = set(self._values(payload, "groupId"))
        known = {g.id for g in self.world.scenario.groups}
        unknown = sorted(wanted - known)
        if unknown:
            raise SoapFault("UNKNOWN_GROUP", "no such group", unknown[0])
        return wanted or None

    # -------------------------------------------------------------------- operations

    def _service_info(self, payload: etree._Element) -> etree._Element:
        out = etree.Element(f"{{{NS}}}GetServiceInfoResponse")
        _el(out, "schoolName", self.world.scenario.school.name)
        _el(out, "gatewayVersion", GATEWAY_VERSION)
        _el(out, "serverTime", _iso(self.world.now))
        _el(out, "contractVersion", CONTRACT_VERSION)
        _el(out, "accountId", self.username)
        for label in LESSON_TYPES.values():
            _el(out, "lessonTypeLabel", label)
        _el(out, "maxWindowDays", MAX_WINDOW_DAYS)
        return out

    def _teachers(self, payload: etree._Element) -> etree._Element:
        out = etree.Element(f"{{{NS}}}GetTeachersResponse")
        for row in self.world.scenario.teachers:
            teacher = _el(out, "teacher")
            _el(teacher, "id", row.id)
            _el(teacher, "name", row.name)
            _el(teacher, "email", row.email)
        return out

    def _roster(self, payload: etree._Element) -> etree._Element:
        wanted = self._group_filter(payload)
        scenario = self.world.scenario
        out = etree.Element(f"{{{NS}}}GetRosterResponse")
        for row in scenario.groups:
            if wanted is not None and row.id not in wanted:
                continue
            group = _el(out, "group")
            _el(group, "id", row.id)
            _el(group, "name", row.name)
            if row.class_teacher:
                _el(group, "classTeacherId", row.class_teacher)
            for st in (s for s in scenario.students if s.group == row.id):
                student = _el(group, "student")
                _el(student, "id", st.id)
                _el(student, "firstName", st.first_name)
                _el(student, "lastName", st.last_name)
                if st.email:
                    _el(student, "email", st.email)
                _el(student, "offlineMode", st.offline_mode)
                for other in st.other_groups:
                    _el(student, "otherGroupId", other)
        return out

    def _subjects(self, payload: etree._Element) -> etree._Element:
        current = self._value(payload, "schoolYear") == _school_year(
            self.world.now.astimezone(RIGA).date())
        out = etree.Element(f"{{{NS}}}GetSubjectsResponse")
        for row in self.world.scenario.subjects:
            subject = _el(out, "subject")
            _el(subject, "id", row.id)
            _el(subject, "name", row.name)
            _el(subject, "kind", row.kind)
            for group_id, hours in sorted(row.planned_hours.items()) if current else ():
                planned = _el(subject, "plannedHours")
                _el(planned, "groupId", group_id)
                _el(planned, "hours", hours)
        return out

    def _lessons(self, payload: etree._Element) -> etree._Element:
        date_from, date_to = self._date(payload, "dateFrom"), self._date(payload, "dateTo")
        if date_to < date_from:
            raise SoapFault("INVALID_REQUEST", "dateTo is before dateFrom")
        if (date_to - date_from).days + 1 > MAX_WINDOW_DAYS:
            raise SoapFault("WINDOW_TOO_LONG", f"at most {MAX_WINDOW_DAYS} days per request")
        wanted = self._group_filter(payload)
        rows = sorted((r for r in self.world.scenario.lessons
                       if date_from <= r.date <= date_to
                       and (wanted is None or r.group in wanted)),
                      key=lambda r: (r.date, r.number, r.id))
        out = etree.Element(f"{{{NS}}}GetLessonsResponse")
        now = self.world.now
        with self._state:
            written = dict(self._written)
        for row in rows:
            self._lesson(out, row, now, written)
        return out

    def _lesson(self, out: etree._Element, row: LessonRow, now: dt.datetime,
                written: dict[tuple[str, str], dict]) -> None:
        """One lesson as the journal shows it at ``now`` (nothing before its ``added_at``)."""
        state = lesson_at(row, now)
        if state is None:
            return
        lesson = _el(out, "lesson")
        _el(lesson, "id", row.id)
        _el(lesson, "date", row.date.isoformat())
        _el(lesson, "number", row.number)
        _el(lesson, "start", self._time(row.id, World.local(row.date, state.start)))
        _el(lesson, "end", self._time(row.id, World.local(row.date, state.end)))
        _el(lesson, "groupId", row.group)
        _el(lesson, "subjectId", row.subject)
        _el(lesson, "teacherId", row.teacher)
        _el(lesson, "lessonType", self.lesson_labels.get(row.id, LESSON_TYPES[state.mode]))
        if row.topic is not None and row.topic.entered_at <= now:
            topic = _el(lesson, "topic")
            _el(topic, "text", row.topic.text)
            _el(topic, "enteredAt", _iso(row.topic.entered_at))
        entry = uzdots_at(row.uzdots, now)
        if entry is not None:
            uzdots = _el(lesson, "uzdots")
            _el(uzdots, "text", entry.text)
            for name in entry.attachments:
                _el(_el(uzdots, "attachment"), "name", name)
            _el(uzdots, "createdAt", _iso(entry.created_at))
            if entry.modified_at is not None:
                _el(uzdots, "modifiedAt", _iso(entry.modified_at))
            _el(uzdots, "authorId", row.teacher)
        ours = [MarkAt(student, w["code"], self.username, w["at"], w["excused"])
                for (lesson_id, student), w in sorted(written.items()) if lesson_id == row.id]
        for standing in marks_at(row, now, ours):
            mark = _el(lesson, "mark")
            _el(mark, "studentId", standing.student)
            _el(mark, "code", standing.code)
            excused = standing.excused
            if excused is None and standing.code in ATTENDANCE_CODES:
                excused = False  # the contract gives excused for every attendance code
            if excused is not None:
                _el(mark, "excused", excused)
            _el(mark, "authorId", standing.by)
            _el(mark, "enteredAt", _iso(standing.at))
        if state.cancelled:
            _el(lesson, "cancelled", True)
        if state.modified_at is not None:
            _el(lesson, "modifiedAt", _iso(state.modified_at))
        for edit in person_edits_at(row, now):
            node = _el(lesson, "markEdit")
            _el(node, "studentId", edit.student)
            if edit.code is not None:
                _el(node, "code", edit.code)
            _el(node, "authorId", edit.by)
            _el(node, "at", _iso(edit.at))

    def _time(self, lesson_id: str, value: dt.datetime) -> str:
        """A lesson time with its offset (without it for ``naive_times``: a test hook)."""
        text = _iso(value)
        return text[:19] if lesson_id in self.naive_times else text

    def _notices(self, payload: etree._Element) -> etree._Element:
        date_from, date_to = self._date(payload, "dateFrom"), self._date(payload, "dateTo")
        if date_to < date_from:
            raise SoapFault("INVALID_REQUEST", "dateTo is before dateFrom")
        now = self.world.now
        out = etree.Element(f"{{{NS}}}GetNoticesResponse")
        for i, row in enumerate(self.world.scenario.notices, start=1):
            if row.received_at > now or row.to < date_from or row.from_ > date_to:
                continue
            notice = _el(out, "notice")
            _el(notice, "id", row.id or f"N{i}")
            _el(notice, "studentId", row.student)
            _el(notice, "kind", row.kind)
            _el(notice, "dateFrom", row.from_.isoformat())
            _el(notice, "dateTo", row.to.isoformat())
            _el(notice, "receivedAt", _iso(row.received_at))
            if row.agreement:
                _el(notice, "agreement", row.agreement)
            if row.new_due is not None:
                due = row.new_due if row.new_due.tzinfo else row.new_due.replace(tzinfo=RIGA)
                _el(notice, "newDue", _iso(due))
            if row.withdrawn_at is not None and row.withdrawn_at <= now:
                _el(notice, "withdrawnAt", _iso(row.withdrawn_at))
        return out

    def _set_attendance_mark(self, payload: etree._Element) -> etree._Element:
        lesson_id = self._value(payload, "lessonId")
        student_id = self._value(payload, "studentId")
        call = {
            "at": self.world.now,
            "lesson": lesson_id,
            "student": student_id,
            "code": self._value(payload, "code"),
            "excused": self._value(payload, "excused") in {"true", "1"},
            "points": self._values(payload.find(f"{{{NS}}}reasonPoints"), "point"),
            "key": self._value(payload, "idempotencyKey"),
        }
        with self._state:
            try:
                status, reason = self._decide(call)
            except SoapFault:
                self.writes.append({**call, "status": "fault"})
                raise
            self.writes.append({**call, "status": status})
        out = etree.Element(f"{{{NS}}}SetAttendanceMarkResponse")
        _el(out, "status", status)
        if reason:
            _el(out, "reason", reason)
        return out

    def _decide(self, call: dict) -> tuple[str, str | None]:
        """The gateway's write rule; the caller holds the state lock."""
        lesson = next((r for r in self.world.scenario.lessons if r.id == call["lesson"]), None)
        if lesson is None:
            raise SoapFault("UNKNOWN_LESSON", "no such lesson", call["lesson"])
        student = next((s for s in self.world.scenario.students if s.id == call["student"]),
                       None)
        if student is None or not in_group(student, lesson.group):
            raise SoapFault("UNKNOWN_STUDENT", "no such student in the lesson's group",
                            call["student"])
        pair = (call["lesson"], call["student"])
        if call["key"] in self._keys:
            if self._keys[call["key"]] != pair:
                raise SoapFault("INVALID_REQUEST", "idempotencyKey used for another mark")
            return "already-present", None
        if (self._person_decided(lesson, call["student"], call["at"])
                or pair in self.racing_marks):
            return "refused", "manual_mark"
        if pair in self._written:
            return "already-present", None
        if lesson.id in self.locked_lessons:
            return "refused", "journal_locked"
        self._written[pair] = {"code": call["code"], "excused": call["excused"],
                               "at": call["at"], "key": call["key"]}
        self._keys[call["key"]] = pair
        return "created", None

    def _person_decided(self, lesson: LessonRow, student_id: str, now: dt.datetime) -> bool:
        """A person's mark stands, or a person set, changed or deleted one, by ``now``."""
        if any(e.student == student_id for e in person_edits_at(lesson, now)):
            return True
        return any(m.student == student_id and m.at <= now and m.by != self.username
                   for m in lesson.marks)
