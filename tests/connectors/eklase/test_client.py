"""EklaseClient over `responses`: every operation, WS-Security, faults, retries, counting."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import requests
from lxml import etree
from pydantic import SecretStr

from connectors.eklase.auth import WSU, password_digest
from connectors.eklase.client import NS, EklaseClient, classify
from connectors.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    TransientError,
    UpstreamError,
)
from tests.connectors.eklase.conftest import (
    ENDPOINT,
    PASSWORD,
    SOAP_ENV,
    WSSE,
    answer,
    fixture_bytes,
    make_settings,
    payload,
    texts,
)


def _header(call) -> etree._Element:
    body = call.request.body
    root = etree.fromstring(body if isinstance(body, bytes) else body.encode())
    return root.find(f"{{{SOAP_ENV}}}Header/{{{WSSE}}}Security")


def _security(call) -> etree._Element:
    return _header(call).find(f"{{{WSSE}}}UsernameToken")


# --------------------------------------------------------------------------- operations


def test_service_info(client, rsps):
    answer(rsps, "GetServiceInfo", "service_info.xml")
    info = client.service_info()
    assert info["schoolName"] == "Daugavpils Tehnoloģiju un tūrisma tehnikums"
    assert info["gatewayVersion"] == "1.2.0"
    assert info["serverTime"] == dt.datetime(2026, 11, 30, 16, 0, 5, tzinfo=dt.UTC)
    assert payload(rsps.calls[0]).tag == f"{{{NS}}}GetServiceInfo"


def test_teachers(client, rsps):
    answer(rsps, "GetTeachers", "teachers.xml")
    rows = client.teachers()
    assert [(r["id"], r["name"], r["email"]) for r in rows] == [
        ("t1", "Ilze Kalniņa", "ilze.kalnina@school.lv"),
        ("t2", "Pēteris Ozols", "peteris.ozols@school.lv"),
    ]


@pytest.mark.parametrize(
    ("group_ids", "sent"),
    [
        pytest.param((), [], id="all-groups"),
        pytest.param(("g1", "g2"), ["g1", "g2"], id="two-groups"),
    ],
)
def test_roster_sends_group_filter(client, rsps, group_ids, sent):
    answer(rsps, "GetRoster", "roster.xml")
    groups = client.roster(group_ids)
    assert texts(payload(rsps.calls[0]), "groupId") == sent
    assert [g["id"] for g in groups] == ["g1", "g2"]
    assert groups[0]["classTeacherId"] == "t2"
    assert [(s["id"], s["offlineMode"]) for s in groups[0]["student"]] == [("s1", False),
                                                                            ("s2", True)]
    assert groups[1]["classTeacherId"] is None


def test_subjects_sends_school_year(client, rsps):
    answer(rsps, "GetSubjects", "subjects.xml")
    subjects = client.subjects("2026/2027")
    assert texts(payload(rsps.calls[0]), "schoolYear") == ["2026/2027"]
    assert [(s["id"], s["kind"]) for s in subjects] == [
        ("m1", "subject"), ("p1", "qualification_practice"), ("c1", "class_hour")]
    assert [(p["groupId"], p["hours"]) for p in subjects[0]["plannedHours"]] == [
        ("g1", 120), ("g2", 80)]


def test_lessons_sends_window_and_groups(client, rsps):
    answer(rsps, "GetLessons", "lessons.xml")
    lessons = client.lessons(dt.date(2026, 11, 30), dt.date(2026, 12, 6), ["g1"])
    sent = payload(rsps.calls[0])
    assert texts(sent, "dateFrom") == ["2026-11-30"]
    assert texts(sent, "dateTo") == ["2026-12-06"]
    assert texts(sent, "groupId") == ["g1"]
    first = lessons[0]
    assert first["teacherId"] == ["t1", "t2"]
    assert [a["name"] for a in first["uzdots"]["attachment"]] == ["kriteriji.pdf",
                                                                  "uzdevums.docx"]
    assert [m["authorId"] for m in first["mark"]] == ["t1", "kartiba"]
    assert lessons[1]["mark"] == []


def test_notices_sends_window(client, rsps):
    answer(rsps, "GetNotices", "notices.xml")
    notices = client.notices(dt.date(2026, 11, 30), dt.date(2026, 11, 30))
    assert texts(payload(rsps.calls[0]), "dateFrom") == ["2026-11-30"]
    assert [(n["id"], n["kind"], n["agreement"]) for n in notices] == [
        ("N1", "illness", None), ("N2", "tech_problem", "extended_deadline")]


def test_set_attendance_mark_sends_every_field(client, rsps):
    answer(rsps, "SetAttendanceMark", "set_mark_created.xml")
    result = client.set_attendance_mark(
        lesson_id="L1", student_id="s1", code="n", excused=False, idempotency_key="L1:s1",
        points=("30", "43"), comment="kārtības 30., 43. p.")
    assert (result["status"], result["reason"]) == ("created", None)
    sent = payload(rsps.calls[0])
    assert [(etree.QName(e).localname, e.text) for e in sent if len(e) == 0] == [
        ("lessonId", "L1"), ("studentId", "s1"), ("code", "n"), ("excused", "false"),
        ("idempotencyKey", "L1:s1"), ("comment", "kārtības 30., 43. p.")]
    assert texts(sent, "point") == ["30", "43"]


def test_set_attendance_mark_cuts_long_comments_to_the_contract_limit(client, rsps):
    answer(rsps, "SetAttendanceMark", "set_mark_created.xml")
    client.set_attendance_mark(lesson_id="L1", student_id="s1", code="n", excused=True,
                               idempotency_key="k", points=(), comment="x" * 800)
    assert len(texts(payload(rsps.calls[0]), "comment")[0]) == 500


# --------------------------------------------------------------------------- transport


@pytest.mark.parametrize(
    ("use_digest", "password_type"),
    [
        pytest.param(False, "#PasswordText", id="text"),
        pytest.param(True, "#PasswordDigest", id="digest"),
    ],
)
def test_every_request_carries_a_username_token(rsps, stats, use_digest, password_type):
    client = EklaseClient(make_settings(use_digest=use_digest), stats=stats)
    answer(rsps, "GetServiceInfo", "service_info.xml")
    client.service_info()
    token = _security(rsps.calls[0])
    assert token.findtext(f"{{{WSSE}}}Username") == "kartiba"
    password = token.find(f"{{{WSSE}}}Password")
    assert password.get("Type").endswith(password_type)
    assert (password.text == PASSWORD) is (not use_digest)


def test_request_headers_and_timeouts(rsps, stats):
    client = EklaseClient(make_settings(connect_timeout=3, operation_timeout=45), stats=stats)
    seen = {}
    original = client.http.session.request

    def spy(method, url, **kwargs):
        seen.update(kwargs)
        return original(method, url, **kwargs)

    client.http.session.request = spy
    answer(rsps, "GetServiceInfo", "service_info.xml")
    client.service_info()
    assert seen["timeout"] == (3, 45)
    headers = rsps.calls[0].request.headers
    assert headers["Content-Type"].startswith("text/xml")
    assert headers["User-Agent"].startswith("kartiba/")


def test_ca_bundle_is_used_for_verification(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    client = EklaseClient(make_settings(ca_bundle=str(bundle)))
    assert client.http.session.verify == str(bundle)


def test_every_soap_call_is_counted_under_eklase(client, rsps, stats):
    answer(rsps, "GetServiceInfo", "service_info.xml")
    answer(rsps, "GetTeachers", "teachers.xml")
    client.service_info()
    client.teachers()
    assert stats.snapshot()["calls"] == {"eklase": 2}


def test_transient_5xx_is_retried_through_the_shared_client(client, rsps, stats):
    rsps.add("POST", ENDPOINT, status=503, body="busy")
    answer(rsps, "GetTeachers", "teachers.xml")
    assert len(client.teachers()) == 2
    assert stats.snapshot()["calls"] == {"eklase": 2}


def test_persistent_5xx_ends_in_transient_error(rsps, stats):
    client = EklaseClient(make_settings(max_attempts=3), stats=stats, sleep=lambda _s: None)
    for _ in range(3):
        rsps.add("POST", ENDPOINT, status=502, body="bad gateway")
    with pytest.raises(TransientError):
        client.teachers()
    assert stats.snapshot()["calls"] == {"eklase": 3}


def test_client_fault_is_not_retried(client, rsps, stats):
    answer(rsps, "GetLessons", "fault_invalid_request.xml", status=500)
    with pytest.raises(UpstreamError):
        client.lessons(dt.date(2026, 11, 30), dt.date(2026, 11, 30))
    assert stats.snapshot()["calls"] == {"eklase": 1}


def test_internal_fault_is_final_and_named(client, rsps, stats):
    """soap:Server / INTERNAL is not one of the transient codes: one call, the code named."""
    answer(rsps, "GetLessons", "fault_internal.xml", status=500)
    with pytest.raises(UpstreamError) as caught:
        client.lessons(dt.date(2026, 11, 30), dt.date(2026, 11, 30))
    assert type(caught.value) is UpstreamError
    assert caught.value.message == "eklase: GetLessons answered a SOAP Fault INTERNAL"
    assert stats.snapshot()["calls"] == {"eklase": 1}


def test_unavailable_is_retried_after_its_retry_after_then_names_the_code(rsps, stats):
    waits: list[float] = []
    client = EklaseClient(make_settings(max_attempts=3), stats=stats, sleep=waits.append)
    for _ in range(3):
        answer(rsps, "GetLessons", "fault_unavailable.xml", status=500)
    with pytest.raises(TransientError) as caught:
        client.lessons(dt.date(2026, 11, 30), dt.date(2026, 11, 30))
    assert caught.value.message == ("eklase: GetLessons answered a SOAP Fault UNAVAILABLE "
                                    "(still after 3 attempts)")
    assert "HTTP 500" not in caught.value.message
    assert waits == [30.0, 30.0]
    assert stats.snapshot()["calls"] == {"eklase": 3}


def test_unavailable_then_answer_succeeds(client, rsps):
    answer(rsps, "GetTeachers", "fault_unavailable.xml", status=500)
    answer(rsps, "GetTeachers", "teachers.xml")
    assert len(client.teachers()) == 2


def test_rate_limited_longer_than_allowed_is_not_waited_for(client, rsps, stats):
    answer(rsps, "GetTeachers", "fault_rate_limited.xml", status=500)
    with pytest.raises(RateLimitedError) as caught:
        client.teachers()
    assert caught.value.retry_after == 600
    assert "RATE_LIMITED" in caught.value.message
    assert "next run" in caught.value.message
    assert stats.snapshot()["calls"] == {"eklase": 1}


@pytest.mark.parametrize(
    ("first", "status"),
    [
        pytest.param("fault_unavailable.xml", 500, id="transient-fault"),
        pytest.param(b"busy", 503, id="http-503"),
    ],
)
def test_every_attempt_carries_a_fresh_security_header(rsps, stats, first, status):
    """Defect 2: a retry must not repeat the Nonce/Created of the attempt before."""
    client = EklaseClient(make_settings(use_digest=True), stats=stats, sleep=lambda _s: None)
    answer(rsps, "GetTeachers", first, status=status)
    answer(rsps, "GetTeachers", "teachers.xml")
    client.teachers()
    tokens = [_security(call) for call in rsps.calls]
    nonces = [t.findtext(f"{{{WSSE}}}Nonce") for t in tokens]
    digests = [t.findtext(f"{{{WSSE}}}Password") for t in tokens]
    assert len(set(nonces)) == 2
    assert len(set(digests)) == 2


def test_created_is_utc_in_z_form_and_the_digest_is_over_it(rsps, stats):
    fixed = dt.datetime(2026, 11, 30, 18, 0, 7, 123000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    client = EklaseClient(make_settings(use_digest=True), stats=stats, clock=lambda: fixed)
    answer(rsps, "GetServiceInfo", "service_info.xml")
    client.service_info()
    token = _security(rsps.calls[0])
    created = token.findtext(f"{{{WSU}}}Created")
    assert created == "2026-11-30T16:00:07Z"
    nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce"))
    assert token.findtext(f"{{{WSSE}}}Password") == password_digest(nonce, created, PASSWORD)


def test_timestamp_is_sent_only_when_asked(rsps, stats):
    client = EklaseClient(make_settings(ws_timestamp=True), stats=stats)
    answer(rsps, "GetServiceInfo", "service_info.xml")
    answer(rsps, "GetServiceInfo", "service_info.xml")
    client.service_info()
    EklaseClient(make_settings(), stats=stats).service_info()
    stamps = [_header(call).find(f"{{{WSU}}}Timestamp") for call in rsps.calls]
    assert stamps[1] is None
    created = dt.datetime.fromisoformat(stamps[0].findtext(f"{{{WSU}}}Created"))
    expires = dt.datetime.fromisoformat(stamps[0].findtext(f"{{{WSU}}}Expires"))
    assert expires - created == dt.timedelta(minutes=5)


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("fixture", "error", "words"),
    [
        pytest.param("fault_auth.xml", AuthError, "AUTH_FAILED", id="auth"),
        pytest.param("fault_invalid_request.xml", UpstreamError, "INVALID_REQUEST",
                     id="invalid-request"),
        pytest.param("fault_unknown_lesson.xml", NotFoundError, "UNKNOWN_LESSON for id L404",
                     id="unknown-lesson"),
        pytest.param("fault_unknown_student.xml", NotFoundError, "UNKNOWN_STUDENT",
                     id="unknown-student"),
        pytest.param("fault_window_too_long.xml", UpstreamError, "chunk_days",
                     id="window-too-long"),
        pytest.param("fault_internal.xml", UpstreamError, "SOAP Fault INTERNAL",
                     id="server-final"),
        pytest.param("fault_unqualified_detail.xml", NotFoundError,
                     "UNKNOWN_LESSON for id L404", id="detail-without-namespace"),
        pytest.param("fault_message_expired.xml", AuthError, "clock", id="message-expired"),
    ],
)
def test_faults_map_to_the_error_hierarchy(client, rsps, fixture, error, words):
    answer(rsps, "SetAttendanceMark", fixture, status=500)
    with pytest.raises(error) as caught:
        client.set_attendance_mark(lesson_id="L404", student_id="s1", code="n", excused=False,
                                   idempotency_key="k", points=("30",), comment="")
    assert type(caught.value) is error
    assert words in caught.value.message
    assert caught.value.upstream == "eklase"


def test_ws_security_fault_without_detail_is_an_auth_error(client, rsps):
    body = (f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:wsse="{WSSE}"><soap:Body>'
            "<soap:Fault><faultcode>wsse:InvalidSecurity</faultcode>"
            "<faultstring>An error was discovered processing the header</faultstring>"
            "</soap:Fault></soap:Body></soap:Envelope>").encode()
    answer(rsps, "GetTeachers", body, status=500)
    with pytest.raises(AuthError):
        client.teachers()


def test_fault_text_stays_out_of_the_message_and_is_scrubbed(client, rsps):
    body = fixture_bytes("fault_internal.xml").replace(
        b"journal database unavailable", b"failed for janis.berzins@audzekni.school.lv")
    answer(rsps, "GetTeachers", body, status=500)
    with pytest.raises(UpstreamError) as caught:
        client.teachers()
    assert "@" not in caught.value.message
    assert "janis" not in caught.value.detail
    assert "<email>" in caught.value.detail


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(200, b"<html>gateway maintenance</html>", id="html-200"),
        pytest.param(200, f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body><j:Surprise '
                          f'xmlns:j="{NS}"/></soap:Body></soap:Envelope>'.encode(),
                     id="unexpected-element"),
    ],
)
def test_answers_outside_the_contract_are_protocol_errors(client, rsps, status, body):
    rsps.add("POST", ENDPOINT, status=status, body=body, content_type="text/xml")
    with pytest.raises(ProtocolError):
        client.teachers()


def test_cut_off_xml_answer_is_retried_then_transient(client, rsps):
    """A 200 whose XML does not parse (cut off in transit) is retried like a reset."""
    rsps.add("POST", ENDPOINT, status=200, body=b"<soap:Envelope xmlns:soap=", content_type="text/xml")
    with pytest.raises(TransientError, match="truncated or malformed"):
        client.teachers()
    assert len(rsps.calls) == client.http.settings.max_attempts


@pytest.mark.parametrize(
    ("status", "body", "action"),
    [
        pytest.param(500, fixture_bytes("fault_internal.xml"), "ok", id="server-fault-500"),
        pytest.param(500, fixture_bytes("fault_unavailable.xml"), "ok",
                     id="transient-fault-500"),
        pytest.param(500, fixture_bytes("fault_invalid_request.xml"), "ok",
                     id="client-fault-500"),
        pytest.param(500, b"Internal Server Error", None, id="plain-500"),
        pytest.param(500, b"<Fault>not soap</Fault>", None, id="fault-word-not-soap"),
        pytest.param(503, fixture_bytes("fault_internal.xml"), None, id="fault-503"),
    ],
)
def test_classify_only_passes_real_soap_faults(status, body, action):
    response = requests.Response()
    response.status_code = status
    response._content = body
    result = classify(response)
    assert (result.value if result else None) == action


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        pytest.param({"endpoint": ""}, "eklase.endpoint", id="placeholder-address"),
        pytest.param({"username": ""}, "eklase.username", id="no-username"),
        pytest.param({"password": SecretStr("")}, "eklase.password", id="no-password"),
    ],
)
def test_missing_configuration_is_a_config_error(overrides, setting):
    with pytest.raises(ConfigError) as caught:
        EklaseClient(make_settings(**overrides))
    assert caught.value.setting == setting
    assert PASSWORD not in caught.value.message
