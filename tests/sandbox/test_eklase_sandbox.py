"""EklaseSandbox over loopback with hand-written SOAP (no zeep, no connector code)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import threading
from pathlib import Path

import pytest
import requests
from lxml import etree

from sandbox.eklase import EklaseSandbox
from sandbox.faults import FaultPlan
from sandbox.scenario import load_scenario
from sandbox.world import World

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "eklase" / "scenario.json"
CONTRACT = Path(__file__).resolve().parents[2] / "sandbox" / "eklase_contract"
NS = "urn:kartiba:eklase:journal:v1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD = "sandbox-password"
RUN_1 = dt.datetime.fromisoformat("2026-11-27T17:05:00+02:00")
RUN_2 = dt.datetime.fromisoformat("2026-11-30T18:00:00+02:00")
J = {"j": NS}


def text_token(user: str = "kartiba", password: str = PASSWORD) -> str:
    return (f'<wsse:UsernameToken><wsse:Username>{user}</wsse:Username>'
            f'<wsse:Password Type="{TOKEN_PROFILE}#PasswordText">{password}</wsse:Password>'
            "</wsse:UsernameToken>")


def digest_token(password: str = PASSWORD, nonce: bytes | None = None,
                 created: dt.datetime | None = None) -> str:
    nonce = nonce or os.urandom(16)
    stamp = (created or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + stamp.encode() + password.encode())
                              .digest()).decode()
    return (f'<wsse:UsernameToken><wsse:Username>kartiba</wsse:Username>'
            f'<wsse:Password Type="{TOKEN_PROFILE}#PasswordDigest">{digest}</wsse:Password>'
            f'<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>'
            f"<wsu:Created>{stamp}</wsu:Created></wsse:UsernameToken>")


def request_xml(inner: str, token: str | None = None) -> bytes:
    header = "" if token == "" else (
        f"<soap:Header><wsse:Security>{token or text_token()}</wsse:Security></soap:Header>")
    return (f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:j="{NS}" xmlns:wsse="{WSSE}" '
            f'xmlns:wsu="{WSU}">{header}<soap:Body>{inner}</soap:Body></soap:Envelope>').encode()


class Gateway:
    """Posts SOAP requests to the sandbox and parses the answers."""

    def __init__(self, sandbox: EklaseSandbox) -> None:
        self.sandbox = sandbox

    def post(self, operation: str, inner: str, token: str | None = None,
             action: str | None = None) -> requests.Response:
        return requests.post(
            self.sandbox.endpoint, data=request_xml(inner, token), timeout=5,
            headers={"Content-Type": "text/xml; charset=utf-8",
                     "SOAPAction": f'"{NS}#{action or operation}"'})

    def call(self, operation: str, inner: str | None = None, **kw) -> etree._Element:
        response = self.post(operation, inner or f"<j:{operation}/>", **kw)
        assert response.status_code == 200, response.text
        body = etree.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body")[0]
        assert body.tag == f"{{{NS}}}{operation}Response"
        return body

    def fault(self, operation: str, inner: str | None = None, **kw) -> tuple[str, str, str]:
        return self.fault_of(self.post(operation, inner or f"<j:{operation}/>", **kw))

    @staticmethod
    def fault_of(response: requests.Response) -> tuple[str, str, str]:
        assert response.status_code == 500
        assert response.headers["Content-Type"].startswith("text/xml")
        fault = etree.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
        return (fault.findtext("faultcode"), fault.findtext("detail/j:JournalFault/j:code", namespaces=J),
                fault.findtext("detail/j:JournalFault/j:objectId", namespaces=J) or "")

    def lessons(self, date_from: str, date_to: str, *groups: str) -> dict[str, etree._Element]:
        group_xml = "".join(f"<j:groupId>{g}</j:groupId>" for g in groups)
        body = self.call("GetLessons", f"<j:GetLessons><j:dateFrom>{date_from}</j:dateFrom>"
                         f"<j:dateTo>{date_to}</j:dateTo>{group_xml}</j:GetLessons>")
        return {e.findtext("j:id", namespaces=J): e for e in body.findall("j:lesson", J)}

    def set_mark(self, lesson: str, student: str, key: str, code: str = "n",
                 excused: str = "false") -> etree._Element | tuple[str, str, str]:
        inner = (f"<j:SetAttendanceMark><j:lessonId>{lesson}</j:lessonId><j:studentId>{student}"
                 f"</j:studentId><j:code>{code}</j:code><j:excused>{excused}</j:excused>"
                 f"<j:idempotencyKey>{key}</j:idempotencyKey><j:reasonPoints><j:point>30"
                 "</j:point><j:point>43</j:point></j:reasonPoints><j:comment>kārtības 30. p."
                 "</j:comment></j:SetAttendanceMark>")
        response = self.post("SetAttendanceMark", inner)
        if response.status_code == 500:
            return self.fault_of(response)
        return etree.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body")[0]


@pytest.fixture(scope="module")
def server():
    with EklaseSandbox(World(load_scenario(FIXTURE), RUN_2)) as running:
        yield running


@pytest.fixture
def sandbox(server):
    """The module's server with a fresh journal and clock for each test."""
    server.reset()
    server.world.set_now(RUN_2)
    return server


@pytest.fixture
def world(sandbox) -> World:
    return sandbox.world


@pytest.fixture
def gw(sandbox) -> Gateway:
    return Gateway(sandbox)


def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(CONTRACT / "journal.xsd")))


# --------------------------------------------------------------------------- documents


def test_wsdl_is_served_with_this_servers_addresses(sandbox):
    response = requests.get(sandbox.endpoint + "?wsdl", timeout=5)
    assert response.status_code == 200
    doc = etree.fromstring(response.content)
    address = doc.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == sandbox.endpoint
    include = doc.find(".//{http://www.w3.org/2001/XMLSchema}include")
    schema = requests.get(include.get("schemaLocation"), timeout=5)
    assert schema.content == (CONTRACT / "journal.xsd").read_bytes()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/journal?xsd=other.xsd", 404, id="unknown-xsd"),
        pytest.param("GET", "/elsewhere?wsdl", 404, id="unknown-path"),
        pytest.param("PUT", "/journal", 405, id="method"),
    ],
)
def test_other_requests(sandbox, method, path, status):
    assert requests.request(method, sandbox.base_url + path, timeout=5).status_code == status


# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("operation", "inner"),
    [
        pytest.param("GetServiceInfo", None, id="service-info"),
        pytest.param("GetTeachers", None, id="teachers"),
        pytest.param("GetRoster", None, id="roster"),
        pytest.param("GetSubjects", "<j:GetSubjects><j:schoolYear>2026/2027</j:schoolYear>"
                     "</j:GetSubjects>", id="subjects"),
        pytest.param("GetLessons", "<j:GetLessons><j:dateFrom>2026-10-01</j:dateFrom>"
                     "<j:dateTo>2026-10-31</j:dateTo></j:GetLessons>", id="lessons-october"),
        pytest.param("GetLessons", "<j:GetLessons><j:dateFrom>2026-11-30</j:dateFrom>"
                     "<j:dateTo>2026-12-30</j:dateTo></j:GetLessons>", id="lessons-december"),
        pytest.param("GetNotices", "<j:GetNotices><j:dateFrom>2026-11-01</j:dateFrom>"
                     "<j:dateTo>2026-12-31</j:dateTo></j:GetNotices>", id="notices"),
    ],
)
def test_every_answer_follows_the_contract(gw, world, operation, inner):
    world.set_now(dt.datetime.fromisoformat("2026-12-31T12:00:00+02:00"))
    body = gw.call(operation, inner)
    assert len(body) > 0
    schema = _schema()
    assert schema.validate(etree.ElementTree(body)), schema.error_log.last_error


def test_service_info(gw):
    body = gw.call("GetServiceInfo")
    assert body.findtext("j:schoolName", namespaces=J).startswith("Daugavpils")
    assert body.findtext("j:serverTime", namespaces=J) == "2026-11-30T18:00:00+02:00"


def test_roster(gw):
    body = gw.call("GetRoster", "<j:GetRoster><j:groupId>g1</j:groupId></j:GetRoster>")
    (group,) = body.findall("j:group", J)
    assert group.findtext("j:classTeacherId", namespaces=J) == "t2"
    students = {s.findtext("j:id", namespaces=J): s for s in group.findall("j:student", J)}
    assert sorted(students) == ["s1", "s2", "s3", "s4"]
    assert students["s2"].findtext("j:offlineMode", namespaces=J) == "true"
    assert students["s2"].find("j:email", J) is None
    assert students["s1"].findtext("j:email", namespaces=J) == "janis.berzins@audzekni.school.lv"


@pytest.mark.parametrize(
    ("year", "planned"),
    [
        pytest.param("2026/2027", {"m1": {"g1": "120", "g2": "80"}, "p1": {"g1": "320"}, "c1": {}},
                     id="current-year"),
        pytest.param("2025/2026", {"m1": {}, "p1": {}, "c1": {}}, id="other-year"),
    ],
)
def test_subjects_planned_hours_by_school_year(gw, year, planned):
    body = gw.call("GetSubjects", f"<j:GetSubjects><j:schoolYear>{year}</j:schoolYear>"
                   "</j:GetSubjects>")
    got = {s.findtext("j:id", namespaces=J): {
        p.findtext("j:groupId", namespaces=J): p.findtext("j:hours", namespaces=J)
        for p in s.findall("j:plannedHours", J)} for s in body.findall("j:subject", J)}
    assert got == planned
    kinds = [s.findtext("j:kind", namespaces=J) for s in body.findall("j:subject", J)]
    assert kinds == ["subject", "qualification_practice", "class_hour"]


@pytest.mark.parametrize(
    ("lesson", "start", "end", "label"),
    [
        pytest.param("L0", "2026-10-23T08:10:00+03:00", "2026-10-23T08:55:00+03:00", "Klātienē",
                     id="summer-time"),
        pytest.param("L00", "2026-10-26T08:10:00+02:00", "2026-10-26T08:55:00+02:00",
                     "Attālināti patstāvīgi", id="winter-time"),
        pytest.param("L1", "2026-11-30T09:00:00+02:00", "2026-11-30T09:45:00+02:00",
                     "Attālināti tiešsaistē", id="sync"),
    ],
)
def test_lesson_times_are_riga_with_dst_and_labels_from_mode(gw, lesson, start, end, label):
    lessons = gw.lessons("2026-10-01", "2026-10-31") | gw.lessons("2026-11-30", "2026-11-30")
    got = lessons[lesson]
    assert got.findtext("j:start", namespaces=J) == start
    assert got.findtext("j:end", namespaces=J) == end
    assert got.findtext("j:lessonType", namespaces=J) == label


@pytest.mark.parametrize(
    ("now", "uzdots_l1", "topic_l1", "marks_l1", "uzdots_l2"),
    [
        pytest.param("2026-11-27T15:00:00+02:00", False, False, [], False, id="before-uzdots"),
        pytest.param("2026-11-27T17:05:00+02:00", True, False, [], False, id="run-1"),
        pytest.param("2026-11-30T09:49:00+02:00", True, False, [], False, id="before-mark"),
        pytest.param("2026-11-30T18:00:00+02:00", True, True, [("s3", "t1")], False, id="run-2"),
        pytest.param("2026-11-30T19:00:00+02:00", True, True, [("s3", "t1")], True,
                     id="after-l2-uzdots"),
    ],
)
def test_journal_shows_only_what_exists_at_world_now(gw, world, now, uzdots_l1, topic_l1,
                                                     marks_l1, uzdots_l2):
    world.set_now(dt.datetime.fromisoformat(now))
    lessons = gw.lessons("2026-11-30", "2026-11-30", "g1")
    assert sorted(lessons) == ["L1", "L2"]
    l1, l2 = lessons["L1"], lessons["L2"]
    assert (l1.find("j:uzdots", J) is not None) is uzdots_l1
    assert (l1.find("j:topic", J) is not None) is topic_l1
    assert [(m.findtext("j:studentId", namespaces=J), m.findtext("j:authorId", namespaces=J))
            for m in l1.findall("j:mark", J)] == marks_l1
    assert (l2.find("j:uzdots", J) is not None) is uzdots_l2


def test_uzdots_content(gw):
    uzdots = gw.lessons("2026-11-30", "2026-11-30")["L1"].find("j:uzdots", J)
    assert uzdots.findtext("j:text", namespaces=J).startswith("Tiešsaistes stunda https://zoom")
    assert [a.findtext("j:name", namespaces=J) for a in uzdots.findall("j:attachment", J)] == [
        "kriteriji.pdf"]
    assert uzdots.findtext("j:createdAt", namespaces=J) == "2026-11-27T15:10:00+02:00"
    assert uzdots.findtext("j:authorId", namespaces=J) == "t1"


def test_group_filter(gw):
    assert sorted(gw.lessons("2026-11-30", "2026-12-01", "g2")) == ["L3"]
    assert sorted(gw.lessons("2026-11-30", "2026-12-01")) == ["L1", "L2", "L3"]


@pytest.mark.parametrize(
    ("now", "ids"),
    [
        pytest.param("2026-11-30T07:00:00+02:00", [], id="none-yet"),
        pytest.param("2026-11-30T18:00:00+02:00", ["N1", "N2"], id="run-2"),
        pytest.param("2026-12-01T08:00:00+02:00", ["N1", "N2", "N3"], id="later"),
    ],
)
def test_notices_visible_once_received(gw, world, now, ids):
    world.set_now(dt.datetime.fromisoformat(now))
    body = gw.call("GetNotices", "<j:GetNotices><j:dateFrom>2026-11-30</j:dateFrom>"
                   "<j:dateTo>2026-12-02</j:dateTo></j:GetNotices>")
    assert [n.findtext("j:id", namespaces=J) for n in body.findall("j:notice", J)] == ids


def test_notice_fields_and_window(gw, world):
    world.set_now(dt.datetime.fromisoformat("2026-12-05T08:00:00+02:00"))
    body = gw.call("GetNotices", "<j:GetNotices><j:dateFrom>2026-12-02</j:dateFrom>"
                   "<j:dateTo>2026-12-02</j:dateTo></j:GetNotices>")
    assert [n.findtext("j:id", namespaces=J) for n in body.findall("j:notice", J)] == ["N3"]
    body = gw.call("GetNotices", "<j:GetNotices><j:dateFrom>2026-11-30</j:dateFrom>"
                   "<j:dateTo>2026-11-30</j:dateTo></j:GetNotices>")
    n2 = body.findall("j:notice", J)[1]
    assert n2.findtext("j:agreement", namespaces=J) == "extended_deadline"
    assert n2.findtext("j:newDue", namespaces=J) == "2026-12-02T17:00:00+02:00"


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: "", id="no-token"),
        pytest.param(lambda: text_token(password="wrong"), id="wrong-password"),
        pytest.param(lambda: text_token(user="admin"), id="wrong-user"),
        pytest.param(lambda: digest_token(password="wrong"), id="wrong-digest"),
    ],
)
def test_authentication_faults(gw, token):
    """Tokens are made when the test runs: a Created from collection time could be stale."""
    assert gw.fault("GetTeachers", token=token())[:2] == ("wsse:FailedAuthentication",
                                                          "AUTH_FAILED")


@pytest.mark.parametrize(
    ("shift", "accepted"),
    [
        pytest.param(dt.timedelta(minutes=-4), True, id="4-min-behind"),
        pytest.param(dt.timedelta(minutes=4), True, id="4-min-ahead"),
        pytest.param(dt.timedelta(minutes=-6), False, id="6-min-behind"),
        pytest.param(dt.timedelta(minutes=6), False, id="6-min-ahead"),
    ],
)
def test_clock_skew_window_is_five_minutes_either_way(gw, shift, accepted):
    token = digest_token(created=dt.datetime.now(dt.UTC) + shift)
    response = gw.post("GetTeachers", "<j:GetTeachers/>", token=token)
    if accepted:
        assert response.status_code == 200
    else:
        assert gw.fault_of(response)[:2] == ("wsse:MessageExpired", "AUTH_FAILED")


def test_created_must_be_in_z_form(gw):
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    token = digest_token().replace(stamp, stamp[:-1] + "+00:00")
    assert gw.fault("GetTeachers", token=token)[:2] == ("wsse:InvalidSecurity", "AUTH_FAILED")


def test_password_text_nonce_is_remembered_too(gw):
    nonce = base64.b64encode(os.urandom(16)).decode()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    token = text_token().replace("</wsse:UsernameToken>", f"<wsse:Nonce>{nonce}</wsse:Nonce>"
                                 f"<wsu:Created>{stamp}</wsu:Created></wsse:UsernameToken>")
    gw.call("GetTeachers", token=token)
    assert gw.fault("GetTeachers", token=token)[:2] == ("wsse:FailedAuthentication",
                                                        "AUTH_FAILED")


@pytest.mark.parametrize(
    ("expires", "accepted"),
    [
        pytest.param(dt.timedelta(minutes=5), True, id="valid"),
        pytest.param(dt.timedelta(minutes=-10), False, id="expired"),
    ],
)
def test_timestamp_is_checked_when_sent(gw, expires, accepted):
    now = dt.datetime.now(dt.UTC)
    stamp = (f"<wsu:Timestamp><wsu:Created>{now:%Y-%m-%dT%H:%M:%SZ}</wsu:Created>"
             f"<wsu:Expires>{now + expires:%Y-%m-%dT%H:%M:%SZ}</wsu:Expires></wsu:Timestamp>")
    response = gw.post("GetTeachers", "<j:GetTeachers/>", token=stamp + digest_token())
    if accepted:
        assert response.status_code == 200
    else:
        assert gw.fault_of(response)[0] == "wsse:MessageExpired"


def test_password_digest_is_accepted_once_per_nonce(gw):
    nonce = os.urandom(16)
    token = digest_token(nonce=nonce)
    gw.call("GetTeachers", token=token)
    assert gw.fault("GetTeachers", token=token)[1] == "AUTH_FAILED"


@pytest.mark.parametrize(
    ("operation", "inner", "action"),
    [
        pytest.param("GetLessons", "<j:GetLessons><j:dateFrom>2026-11-30</j:dateFrom>"
                     "</j:GetLessons>", None, id="missing-element"),
        pytest.param("GetLessons", "<j:GetLessons><j:dateFrom>30.11.2026</j:dateFrom>"
                     "<j:dateTo>2026-11-30</j:dateTo></j:GetLessons>", None, id="bad-date"),
        pytest.param("GetSubjects", "<j:GetSubjects><j:schoolYear>2026</j:schoolYear>"
                     "</j:GetSubjects>", None, id="bad-school-year"),
        pytest.param("SetAttendanceMark", "<j:SetAttendanceMark><j:lessonId>L1</j:lessonId>"
                     "<j:studentId>s1</j:studentId><j:code>x</j:code><j:excused>false"
                     "</j:excused><j:idempotencyKey>k</j:idempotencyKey><j:reasonPoints/>"
                     "<j:comment/></j:SetAttendanceMark>", None, id="code-not-enumerated"),
        pytest.param("GetTeachers", "<j:GetTeachers><j:extra/></j:GetTeachers>", None,
                     id="unexpected-element"),
        pytest.param("GetTeachers", "<j:DropTables/>", None, id="unknown-operation"),
        pytest.param("GetTeachers", "<j:GetTeachers/>", "GetLessons", id="soapaction-mismatch"),
        pytest.param("GetLessons", "<j:GetLessons><j:dateFrom>2026-12-01</j:dateFrom>"
                     "<j:dateTo>2026-11-30</j:dateTo></j:GetLessons>", None, id="reversed"),
    ],
)
def test_invalid_requests_get_a_client_fault(gw, operation, inner, action):
    assert gw.fault(operation, inner, action=action)[:2] == ("soap:Client", "INVALID_REQUEST")


def test_not_xml_gets_a_fault(sandbox):
    response = requests.post(sandbox.endpoint, data=b"<not-closed", timeout=5,
                             headers={"Content-Type": "text/xml"})
    assert response.status_code == 500
    assert b"INVALID_REQUEST" in response.content


@pytest.mark.parametrize(
    ("inner", "code", "object_id"),
    [
        pytest.param("<j:GetLessons><j:dateFrom>2026-09-01</j:dateFrom><j:dateTo>2026-10-02"
                     "</j:dateTo></j:GetLessons>", "WINDOW_TOO_LONG", "", id="32-days"),
        pytest.param("<j:GetLessons><j:dateFrom>2026-11-30</j:dateFrom><j:dateTo>2026-11-30"
                     "</j:dateTo><j:groupId>g9</j:groupId></j:GetLessons>", "UNKNOWN_GROUP",
                     "g9", id="unknown-group"),
    ],
)
def test_lesson_window_faults(gw, inner, code, object_id):
    assert gw.fault("GetLessons", inner) == ("soap:Client", code, object_id)


def test_31_days_are_accepted(gw):
    assert "L0" in gw.lessons("2026-10-01", "2026-10-31")


# --------------------------------------------------------------------------- writes


def _status(answer) -> tuple[str, str | None]:
    return answer.findtext("j:status", namespaces=J), answer.findtext("j:reason", namespaces=J)


def test_write_is_stored_logged_and_shown(gw, sandbox):
    assert _status(gw.set_mark("L1", "s1", "L1:s1", excused="true")) == ("created", None)
    assert sandbox.writes == [{"at": RUN_2, "lesson": "L1", "student": "s1", "code": "n",
                               "excused": True, "points": ["30", "43"], "key": "L1:s1",
                               "status": "created"}]
    marks = gw.lessons("2026-11-30", "2026-11-30")["L1"].findall("j:mark", J)
    ours = [m for m in marks if m.findtext("j:studentId", namespaces=J) == "s1"]
    assert [(m.findtext("j:authorId", namespaces=J), m.findtext("j:excused", namespaces=J),
             m.findtext("j:enteredAt", namespaces=J)) for m in ours] == [
        ("kartiba", "true", "2026-11-30T18:00:00+02:00")]


@pytest.mark.parametrize(
    ("steps", "statuses"),
    [
        pytest.param([("L1", "s1", "k1"), ("L1", "s1", "k1")], ["created", "already-present"],
                     id="same-key"),
        pytest.param([("L1", "s1", "k1"), ("L1", "s1", "k2")], ["created", "already-present"],
                     id="our-mark-other-key"),
        pytest.param([("L1", "s3", "k3")], ["refused"], id="teachers-mark"),
    ],
)
def test_write_rules(gw, sandbox, steps, statuses):
    got = [_status(gw.set_mark(*step))[0] for step in steps]
    assert got == statuses
    assert [w["status"] for w in sandbox.writes] == statuses


def test_refusal_names_the_manual_mark(gw):
    assert _status(gw.set_mark("L1", "s3", "k")) == ("refused", "manual_mark")


def test_teachers_mark_not_yet_entered_does_not_refuse(gw, world):
    world.set_now(dt.datetime.fromisoformat("2026-11-30T09:46:00+02:00"))
    assert _status(gw.set_mark("L1", "s3", "k"))[0] == "created"


@pytest.mark.parametrize(
    ("lesson", "student", "key", "code", "object_id"),
    [
        pytest.param("L404", "s1", "k", "UNKNOWN_LESSON", "L404", id="unknown-lesson"),
        pytest.param("L1", "s404", "k", "UNKNOWN_STUDENT", "s404", id="unknown-student"),
        pytest.param("L1", "s5", "k", "UNKNOWN_STUDENT", "s5", id="student-of-another-group"),
    ],
)
def test_write_faults(gw, sandbox, lesson, student, key, code, object_id):
    assert gw.set_mark(lesson, student, key) == ("soap:Client", code, object_id)
    assert [w["status"] for w in sandbox.writes] == ["fault"]


def test_key_reused_for_another_mark_is_a_fault(gw):
    gw.set_mark("L1", "s1", "shared")
    assert gw.set_mark("L1", "s2", "shared")[:2] == ("soap:Client", "INVALID_REQUEST")


def test_concurrent_writes_create_exactly_one_mark(gw, sandbox):
    results: list[str] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        status = _status(gw.set_mark("L1", "s4", f"key-{i}"))[0]
        with lock:
            results.append(status)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["already-present"] * 11 + ["created"]
    assert len(sandbox.writes) == 12


def test_calls_are_counted_per_operation(gw, sandbox):
    gw.call("GetTeachers")
    gw.call("GetTeachers")
    gw.lessons("2026-11-30", "2026-11-30")
    assert sandbox.calls == {"GetTeachers": 2, "GetLessons": 1}


# --------------------------------------------------------------------------- fault hook


@pytest.mark.parametrize(("operation", "inner"), [
    pytest.param("GetTeachers", "<j:GetTeachers/>", id="read-teachers"),
    pytest.param("GetLessons", "<j:GetLessons><j:dateFrom>2026-11-30</j:dateFrom>"
                 "<j:dateTo>2026-11-30</j:dateTo></j:GetLessons>", id="read-lessons"),
    pytest.param("SetAttendanceMark", None, id="write"),
])
def test_soap_fault_kind_is_transient_and_sits_after_authentication(gw, sandbox, operation,
                                                                     inner):
    """The injected fault is UNAVAILABLE (retryAfter 1), the request not carried out; the
    nonce was used up, so the same envelope again is a replay, a fresh one is served."""
    inner = inner or _mark_xml("L1", "s1", "L1:s1")
    sandbox.faults = FaultPlan(1, {"soap": 1.0}, max_faults=1)
    try:
        token = digest_token()
        faulted = gw.post(operation, inner, token=token)
        assert gw.fault_of(faulted) == ("soap:Server", "UNAVAILABLE", "")
        fault = etree.fromstring(faulted.content).find(f".//{{{SOAP_ENV}}}Fault")
        assert fault.findtext("detail/j:JournalFault/j:retryAfter", namespaces=J) == "1"
        assert sandbox.calls.get(operation, 0) == 0 and sandbox.writes == []
        assert gw.fault(operation, inner, token=token)[1] == "AUTH_FAILED"  # replay
        assert gw.post(operation, inner, token=digest_token()).status_code == 200
        assert sandbox.faults.snapshot() == {"soap": 1}
    finally:
        sandbox.faults = None


def test_unauthenticated_request_gets_no_injected_fault(gw, sandbox):
    sandbox.faults = FaultPlan(1, {"soap": 1.0}, max_faults=1)
    try:
        assert gw.fault("GetTeachers", token=text_token(password="wrong"))[1] == "AUTH_FAILED"
        assert sandbox.faults.snapshot() == {}
    finally:
        sandbox.faults = None


@pytest.mark.parametrize("code", ["UNAVAILABLE", "RATE_LIMITED", "INTERNAL"])
def test_forced_faults_answer_in_order_then_serve(gw, sandbox, code):
    sandbox.forced_faults["GetTeachers"] = [code]
    assert gw.fault("GetTeachers") == ("soap:Server", code, "")
    gw.call("GetTeachers")
    assert sandbox.calls == {"GetTeachers": 1}


def test_fault_detail_may_be_written_without_namespace(gw, sandbox):
    sandbox.unqualified_fault_detail = True
    response = gw.post("GetLessons", "<j:GetLessons><j:dateFrom>2026-11-30</j:dateFrom>"
                       "<j:dateTo>2026-11-30</j:dateTo><j:groupId>g9</j:groupId></j:GetLessons>")
    fault = etree.fromstring(response.content).find(f".//{{{SOAP_ENV}}}Fault")
    assert fault.findtext("detail/JournalFault/code") == "UNKNOWN_GROUP"
    assert fault.findtext("detail/JournalFault/objectId") == "g9"


# --------------------------------------------------------------------------- contract hooks


def test_service_info_tells_contract_version_account_and_labels(gw):
    body = gw.call("GetServiceInfo")
    assert body.findtext("j:contractVersion", namespaces=J) == "1.1"
    assert body.findtext("j:accountId", namespaces=J) == "kartiba"
    assert [e.text for e in body.findall("j:lessonTypeLabel", J)] == [
        "Klātienē", "Attālināti tiešsaistē", "Attālināti patstāvīgi"]
    assert body.findtext("j:maxWindowDays", namespaces=J) == "31"
    assert _schema().validate(etree.ElementTree(body)), _schema().error_log


def test_locked_journal_refuses_with_journal_locked_until_unlocked(gw, sandbox):
    sandbox.locked_lessons.add("L1")
    assert _status(gw.set_mark("L1", "s1", "L1:s1")) == ("refused", "journal_locked")
    assert _status(gw.set_mark("L1", "s3", "L1:s3")) == ("refused", "manual_mark")
    sandbox.locked_lessons.clear()
    assert _status(gw.set_mark("L1", "s1", "L1:s1")) == ("created", None)


def test_lesson_label_and_naive_times_hooks(gw, sandbox):
    sandbox.lesson_labels["L1"] = "Hibrīdā"
    sandbox.naive_times.add("L1")
    lesson = gw.lessons("2026-11-30", "2026-11-30")["L1"]
    assert lesson.findtext("j:lessonType", namespaces=J) == "Hibrīdā"
    assert lesson.findtext("j:start", namespaces=J) == "2026-11-30T09:00:00"
    assert not _schema().validate(etree.ElementTree(lesson.getparent()))
    sandbox.reset()
    assert gw.lessons("2026-11-30", "2026-11-30")["L1"].findtext(
        "j:start", namespaces=J).endswith("+02:00")


def _mark_xml(lesson: str, student: str, key: str) -> str:
    return (f"<j:SetAttendanceMark><j:lessonId>{lesson}</j:lessonId><j:studentId>{student}"
            f"</j:studentId><j:code>n</j:code><j:excused>false</j:excused>"
            f"<j:idempotencyKey>{key}</j:idempotencyKey><j:reasonPoints><j:point>30</j:point>"
            "</j:reasonPoints><j:comment>kārtības 30. p.</j:comment></j:SetAttendanceMark>")
