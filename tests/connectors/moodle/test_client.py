"""The Moodle client on the wire: form encoding, token handling, every recorded error shape."""

from __future__ import annotations

import pytest
import requests
import responses
from pydantic import SecretStr
from responses import matchers

from connectors._http import CallStats, HttpClient
from connectors.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
)
from connectors.moodle.auth import TokenAuth
from connectors.moodle.client import (
    MoodleClient,
    WsDeniedError,
    WsFailedError,
    WsNotFoundError,
    encode_params,
    login,
)
from tests.connectors.moodle.recorded import BASE, LOGIN, REST, TOKEN, form, recorded


def _client(auth: TokenAuth | None = None) -> MoodleClient:
    http = HttpClient(upstream="moodle", base_url=BASE, stats=CallStats(), sleep=lambda _s: None)
    return MoodleClient(http, auth or TokenAuth(token=SecretStr(TOKEN)))


def _form(function: str, **params: str) -> list:
    expected = {"wstoken": TOKEN, "wsfunction": function, "moodlewsrestformat": "json", **params}
    return [matchers.urlencoded_params_matcher(expected)]


@pytest.mark.parametrize(("params", "encoded"), [
    pytest.param({"courseids": [3, 5]}, [("courseids[0]", "3"), ("courseids[1]", "5")],
                 id="list"),
    pytest.param({"courseids": []}, [], id="empty-list"),
    pytest.param({"options": [{"name": "userfields", "value": "id,email"}]},
                 [("options[0][name]", "userfields"), ("options[0][value]", "id,email")],
                 id="list-of-structures"),
    pytest.param({"includenotenrolledcourses": True, "x": False},
                 [("includenotenrolledcourses", "1"), ("x", "0")], id="booleans"),
    pytest.param({"since": None, "quizid": 7}, [("quizid", "7")], id="none-left-out"),
])
def test_parameters_use_php_bracket_encoding(params, encoded):
    assert encode_params(params) == encoded


CALLS = [
    pytest.param(lambda c: c.site_info(), "core_webservice_get_site_info", {},
                 "core_webservice_get_site_info", id="site-info"),
    pytest.param(lambda c: c.assignments([3]), "mod_assign_get_assignments",
                 {"courseids[0]": "3", "includenotenrolledcourses": "1"},
                 "mod_assign_get_assignments_notenrolled", id="assignments"),
    pytest.param(lambda c: c.submissions([1, 2], status="submitted", since=1764525600),
                 "mod_assign_get_submissions",
                 {"assignmentids[0]": "1", "assignmentids[1]": "2", "status": "submitted",
                  "since": "1764525600"},
                 "mod_assign_get_submissions_since", id="submissions"),
    pytest.param(lambda c: c.quizzes([3]), "mod_quiz_get_quizzes_by_courses",
                 {"courseids[0]": "3"}, "mod_quiz_get_quizzes_by_courses", id="quizzes"),
    pytest.param(lambda c: c.user_attempts(1, 8), "mod_quiz_get_user_attempts",
                 {"quizid": "1", "userid": "8", "status": "finished"},
                 "mod_quiz_get_user_attempts", id="attempts"),
    pytest.param(lambda c: c.completion_status(3, 8),
                 "core_completion_get_activities_completion_status",
                 {"courseid": "3", "userid": "8"},
                 "core_completion_get_activities_completion_status", id="completion"),
    pytest.param(lambda c: c.enrolled_users(3), "core_enrol_get_enrolled_users",
                 {"courseid": "3", "options[0][name]": "userfields",
                  "options[0][value]": "id,fullname,email,idnumber,roles,groups"},
                 "core_enrol_get_enrolled_users", id="enrolled-users"),
]


@pytest.mark.parametrize(("call", "function", "params", "fixture"), CALLS)
def test_each_function_is_a_form_post_with_the_token_in_the_body(call, function, params,
                                                                  fixture):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(REST, json=recorded(fixture), match=_form(function, **params))

        answer = call(_client())

        sent = rsps.calls[0].request
    assert answer == recorded(fixture)
    assert TOKEN not in sent.url
    assert "Authorization" not in sent.headers
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"


ERRORS = [
    pytest.param("error_invalid_parameter", WsFailedError, "invalidparameter",
                 id="recorded-invalidparameter"),
    pytest.param("error_no_such_function", WsFailedError, "has no function",
                 id="recorded-unknown-function"),
    pytest.param("error_invalid_token", AuthError, "invalidtoken", id="recorded-invalidtoken"),
]
SYNTHETIC = {  # same shape as the recorded errors, other error codes
    "accessexception": ("core\\exception\\webservice_access_exception", "Access control exception"),
    "nopermissions": ("required_capability_exception", "Sorry, but you do not currently have "
                                                        "permissions to do that"),
    "requireloginerror": ("require_login_exception", "Course or activity not accessible."),
    "invalidrecord": ("dml_missing_record_exception",
                      "Can't find data record in database table course_modules."),
    "invalidrecordunknown": ("dml_missing_record_exception",
                             "Can't find data record in database."),
    "cannotviewreport": ("moodle_exception", "You cannot view this report"),
    # recorded (recorded-4.5-cases.json, completion_status_old_list)
    "accessdenied": ("core\\exception\\moodle_exception", "Access denied"),
}


@pytest.mark.parametrize(("fixture", "error", "text"), ERRORS)
def test_every_recorded_error_shape_maps_to_the_error_hierarchy(fixture, error, text):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(REST, json=recorded(fixture))

        with pytest.raises(error) as info:
            _client().call("some_function")

        assert len(rsps.calls) == 1  # HTTP 200: no retry
    assert type(info.value) is error
    assert text in info.value.message
    assert TOKEN not in info.value.message + info.value.detail


@pytest.mark.parametrize(("code", "error"), [
    pytest.param("accessexception", WsDeniedError, id="accessexception"),
    pytest.param("nopermissions", WsDeniedError, id="nopermissions"),
    pytest.param("requireloginerror", WsDeniedError, id="requireloginerror"),
    pytest.param("cannotviewreport", WsDeniedError, id="cannotviewreport"),
    pytest.param("accessdenied", WsDeniedError, id="accessdenied"),
    pytest.param("invalidrecord", WsNotFoundError, id="invalidrecord-record"),
    pytest.param("invalidrecordunknown", WsNotFoundError, id="invalidrecordunknown"),
])
def test_other_error_codes(code, error):
    exception, message = SYNTHETIC[code]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(REST, json={"exception": exception, "errorcode": code, "message": message})

        with pytest.raises(error) as info:
            _client().call("core_course_get_course_module", cmid=5)
    assert type(info.value) is error
    assert isinstance(info.value, (PermissionDeniedError, NotFoundError))  # the hierarchy
    assert (info.value.function, info.value.errorcode) == ("core_course_get_course_module", code)
    assert code in info.value.message


def test_a_web_service_warning_is_not_an_error():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(REST, json=recorded("mod_assign_get_assignments"))

        answer = _client().assignments([3])
    assert answer["courses"] == [] and answer["warnings"][0]["warningcode"] == "2"


def test_an_html_answer_is_a_protocol_error():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(REST, body="<html>login</html>", content_type="text/html")

        with pytest.raises(ProtocolError, match="not JSON"):
            _client().site_info()


def test_server_errors_are_retried_by_the_shared_client():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(REST, status=503)
        rsps.post(REST, json=recorded("core_webservice_get_site_info"))

        answer = _client().site_info()
        assert len(rsps.calls) == 2
    assert answer["release"].startswith("4.5")


# ----------------------------------------------------------------------------- login


def _password_client(http_calls: list) -> MoodleClient:
    http = HttpClient(upstream="moodle", base_url=BASE, stats=CallStats(), sleep=lambda _s: None)

    def do_login() -> SecretStr:
        http_calls.append("login")
        return login(http, "kartiba", SecretStr("pa$$word"), "moodle_mobile_app")

    return MoodleClient(http, TokenAuth(login=do_login))


def test_password_login_gets_a_token_once_and_sends_it_in_the_body():
    logins: list = []
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(LOGIN, json={"token": TOKEN, "privatetoken": None}, match=[
            matchers.urlencoded_params_matcher({"username": "kartiba", "password": "pa$$word",
                                                "service": "moodle_mobile_app"})])
        rsps.post(REST, json=recorded("core_webservice_get_site_info"),
                  match=_form("core_webservice_get_site_info"))
        rsps.post(REST, json=recorded("mod_quiz_get_user_attempts"),
                  match=_form("mod_quiz_get_user_attempts", quizid="1", userid="8",
                              status="finished"))
        client = _password_client(logins)

        client.site_info()
        client.user_attempts(1, 8)

        assert "wstoken" not in form(rsps.calls[0].request)
    assert logins == ["login"]


def test_an_invalid_token_after_login_is_renewed_once():
    logins: list = []
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(LOGIN, json={"token": "expired"})
        rsps.post(REST, json=recorded("error_invalid_token"))
        rsps.post(LOGIN, json={"token": TOKEN})
        rsps.post(REST, json=recorded("core_webservice_get_site_info"),
                  match=_form("core_webservice_get_site_info"))

        answer = _password_client(logins).site_info()
    assert logins == ["login", "login"]
    assert answer["userid"] == 11


def test_a_static_token_that_is_refused_fails_at_once():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(REST, json=recorded("error_invalid_token"))

        with pytest.raises(AuthError, match="check moodle.token"):
            _client().site_info()
        assert len(rsps.calls) == 1


@pytest.mark.parametrize(("body", "error", "setting"), [
    pytest.param(recorded("login_token_wrong_password"), ConfigError, "moodle.password",
                 id="recorded-invalidlogin"),
    pytest.param({"error": "Web service is not available", "errorcode": "servicenotavailable"},
                 ConfigError, "moodle.service", id="service-not-enabled"),
    pytest.param({"privatetoken": None}, ProtocolError, None, id="no-token"),
])
def test_login_failures(body, error, setting):
    http = HttpClient(upstream="moodle", base_url=BASE, stats=CallStats(), sleep=lambda _s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(LOGIN, json=body, content_type="application/json; charset=utf-8")

        with pytest.raises(error) as info:
            login(http, "kartiba", SecretStr("wrong-secret"), "moodle_mobile_app")
    if setting:
        assert info.value.setting == setting
    assert "wrong-secret" not in info.value.message + info.value.detail


def test_the_token_never_goes_into_a_request_to_another_path():
    auth = TokenAuth(token=SecretStr(TOKEN))
    prepared = requests.Request("POST", LOGIN, data={"username": "x"}).prepare()

    assert TOKEN not in str(auth(prepared).body)


def test_a_database_hiccup_is_retried():
    """A Moodle ``dmlreadexception`` (HTTP 200) passes: the shared client retries it."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(REST, json={"exception": "dml_read_exception",
                              "errorcode": "dmlreadexception",
                              "message": "Error reading from database"})
        rsps.post(REST, json=recorded("mod_assign_get_assignments"))
        answer = _client().call("mod_assign_get_assignments", courseids=[5])
    assert "courses" in answer
