"""The Moodle stand-in against the responses recorded from a real Moodle 4.5.

Plain HTTP over loopback (no connector code): the sandbox must answer in the recorded shapes,
with Moodle's error shapes, and show only what exists at ``world.now``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.faults import FaultPlan
from sandbox.moodle import STUDENT_BASE_ID, TEACHER_BASE_ID, MoodleSandbox, decode_php_params
from sandbox.scenario import load_scenario
from sandbox.world import World

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "moodle"
RECORDED = json.loads((FIXTURES / "webservice-responses.json").read_text(encoding="utf-8"))
TOKEN = "sandbox-moodle-token"
HALF_PAST_NINE = int(dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC).timestamp())


def rec(name: str) -> Any:
    return RECORDED[name]["response"]


@pytest.fixture
def world() -> World:
    scenario = load_scenario(FIXTURES / "scenario.json")
    return World(scenario, now=dt.datetime(2026, 11, 30, 18, 0, tzinfo=dt.UTC))


@pytest.fixture
def moodle(world):
    with MoodleSandbox(world) as server:
        yield server


def call(server: MoodleSandbox, function: str, token: str = TOKEN, fmt: str | None = "json",
         **params: Any) -> Any:
    data = [("wstoken", token), ("wsfunction", function)] + list(params.items())
    if fmt:
        data.append(("moodlewsrestformat", fmt))
    response = requests.post(server.base_url + "/webservice/rest/server.php", data=data,
                             timeout=5)
    assert response.status_code == 200  # Moodle answers errors with 200 too
    return response.json() if fmt == "json" else response.text


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(("function", "params", "recorded", "pick"), [
    pytest.param("core_webservice_get_site_info", {}, "core_webservice_get_site_info",
                 lambda r: r, id="site-info"),
    pytest.param("mod_assign_get_assignments",
                 {"courseids[0]": "5", "includenotenrolledcourses": "1"},
                 "mod_assign_get_assignments_notenrolled",
                 lambda r: r["courses"][0]["assignments"][0], id="assignment"),
    pytest.param("mod_assign_get_assignments",
                 {"courseids[0]": "5", "includenotenrolledcourses": "1"},
                 "mod_assign_get_assignments_notenrolled", lambda r: r["courses"][0],
                 id="assignment-course"),
    pytest.param("mod_assign_get_submissions", {"assignmentids[0]": "7"},
                 "mod_assign_get_submissions", lambda r: r["assignments"][0]["submissions"][0],
                 id="submission"),
    pytest.param("core_enrol_get_enrolled_users", {"courseid": "5"},
                 "core_enrol_get_enrolled_users", lambda r: r[-1], id="enrolled-student"),
    pytest.param("core_enrol_get_enrolled_users", {"courseid": "5"},
                 "core_enrol_get_enrolled_users", lambda r: r[0], id="enrolled-teacher"),
    pytest.param("mod_quiz_get_quizzes_by_courses", {"courseids[0]": "5"},
                 "mod_quiz_get_quizzes_by_courses", lambda r: r["quizzes"][0], id="quiz"),
    pytest.param("core_completion_get_activities_completion_status",
                 {"courseid": "5", "userid": str(STUDENT_BASE_ID)},
                 "core_completion_get_activities_completion_status",
                 lambda r: r["statuses"][0], id="completion"),
])
def test_answers_have_the_recorded_shape(moodle, function, params, recorded, pick):
    answer = call(moodle, function, **params)

    assert sorted(pick(answer)) == sorted(pick(rec(recorded)))
    if isinstance(answer, dict):
        assert sorted(answer) == sorted(rec(recorded))


@pytest.mark.parametrize(("function", "params", "recorded"), [
    pytest.param("mod_assign_get_submissions", {"assignmentids": "x"},
                 "error_invalid_parameter", id="scalar-for-an-array"),
    pytest.param("local_nothing_here", {}, "error_no_such_function", id="unknown-function"),
    pytest.param("mod_assign_get_assignments", {"courseids[0]": "3"},
                 "mod_assign_get_assignments", id="not-enrolled-warning"),
])
def test_recorded_answers_are_reproduced_exactly(moodle, function, params, recorded):
    assert call(moodle, function, **params) == rec(recorded)


def test_a_wrong_token_is_the_recorded_invalidtoken_error(moodle):
    assert call(moodle, "core_webservice_get_site_info", token="nope") == rec(
        "error_invalid_token")


@pytest.mark.parametrize("params", [
    pytest.param({"assignmentids[0]": "7", "assignmentid": "7"}, id="unexpected-key"),
    pytest.param({"assignmentids[0]": "seven"}, id="not-an-integer"),
    pytest.param({}, id="missing-required"),
    pytest.param({"assignmentids[0]": "7", "since": "yesterday"}, id="bad-since"),
])
def test_malformed_parameters_are_invalidparameter(moodle, params):
    assert call(moodle, "mod_assign_get_submissions", **params)["errorcode"] == "invalidparameter"


def test_without_moodlewsrestformat_the_answer_is_moodle_xml(moodle):
    text = call(moodle, "core_webservice_get_site_info", fmt=None)

    assert text.startswith('<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>')
    assert '<KEY name="sitename"><VALUE>Sandbox skolo</VALUE>' in text


# ----------------------------------------------------------------------------- login


@pytest.mark.parametrize(("form", "expected"), [
    pytest.param({"username": "kartiba", "password": "sandbox-moodle-password",
                  "service": "moodle_mobile_app"}, {"token": TOKEN, "privatetoken": None},
                 id="ok"),
    pytest.param({"username": "kartiba", "password": "wrong", "service": "moodle_mobile_app"},
                 rec("login_token_wrong_password"), id="recorded-wrong-password"),
])
def test_login_token(moodle, form, expected):
    response = requests.post(moodle.base_url + "/login/token.php", data=form, timeout=5)

    assert response.status_code == 200
    assert response.json() == expected


def test_login_to_a_service_that_is_not_enabled(moodle):
    response = requests.post(moodle.base_url + "/login/token.php", timeout=5, data={
        "username": "kartiba", "password": "sandbox-moodle-password", "service": "other"})

    assert response.json()["errorcode"] == "servicenotavailable"


# ----------------------------------------------------------------------------- the world


def test_users_have_deterministic_ids_roles_and_the_scenario_emails(moodle, world):
    users = call(moodle, "core_enrol_get_enrolled_users", courseid="6")

    by_id = {u["id"]: u for u in users}
    assert sorted(by_id) == [TEACHER_BASE_ID, TEACHER_BASE_ID + 1] + [
        STUDENT_BASE_ID + i for i in range(4)]
    assert by_id[STUDENT_BASE_ID]["email"] == world.scenario.student("s1").email
    assert by_id[STUDENT_BASE_ID]["fullname"] == "Jānis Bērziņš"
    assert by_id[TEACHER_BASE_ID]["roles"][0]["shortname"] == "editingteacher"
    assert moodle.student_user_id("s3") == STUDENT_BASE_ID + 2


def test_userfields_limits_the_user_fields(moodle):
    users = call(moodle, "core_enrol_get_enrolled_users", courseid="5",
                 **{"options[0][name]": "userfields", "options[0][value]": "email,roles"})

    assert sorted(users[-1]) == ["email", "fullname", "id", "roles"]


def submissions(moodle: MoodleSandbox, **params: str) -> dict[int, str]:
    answer = call(moodle, "mod_assign_get_submissions", **{"assignmentids[0]": "7"}, **params)
    return {s["userid"]: s["status"] for s in answer["assignments"][0]["submissions"]}


def test_submissions_appear_at_their_time_and_the_latest_row_is_the_current_one(moodle, world):
    s1, s2 = STUDENT_BASE_ID, STUDENT_BASE_ID + 1

    world.set_now(dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC))  # 12:00 Riga
    at_noon = submissions(moodle)
    world.set_now(dt.datetime(2026, 11, 30, 18, 0, tzinfo=dt.UTC))  # 20:00 Riga
    evening = submissions(moodle)

    assert at_noon == {s1: "submitted", s2: "draft"}
    assert evening == {s1: "submitted", s2: "submitted"}


def test_nothing_yet_is_warning_3(moodle, world):
    world.set_now(dt.datetime(2026, 11, 29, tzinfo=dt.UTC))

    answer = call(moodle, "mod_assign_get_submissions", **{"assignmentids[0]": "7"})

    assert answer == {"assignments": [{"assignmentid": 7, "submissions": []}],
                      "warnings": [{"item": "module", "itemid": 7, "warningcode": "3",
                                    "message": "No submissions found"}]}


@pytest.mark.parametrize(("params", "expected"), [
    pytest.param({"status": "submitted"}, {STUDENT_BASE_ID}, id="status"),
    pytest.param({"status": "draft"}, {STUDENT_BASE_ID + 1}, id="status-draft"),
    pytest.param({"since": str(HALF_PAST_NINE)}, {STUDENT_BASE_ID}, id="since"),
    pytest.param({"since": str(HALF_PAST_NINE - 1800)}, {STUDENT_BASE_ID, STUDENT_BASE_ID + 1},
                 id="since-inclusive"),
    pytest.param({"before": str(HALF_PAST_NINE)}, {STUDENT_BASE_ID + 1}, id="before"),
])
def test_status_since_and_before_filter(moodle, world, params, expected):
    # s1 submitted at 10:00 UTC, s2 has a draft from 09:00 UTC
    world.set_now(dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC))

    assert set(submissions(moodle, **params)) == expected


def test_unknown_assignment_ids_are_left_out_silently(moodle):
    answer = call(moodle, "mod_assign_get_submissions", **{"assignmentids[0]": "999"})

    assert answer == {"assignments": [], "warnings": []}


def test_quiz_attempts_per_user_by_status_and_time(moodle, world):
    (quiz,) = call(moodle, "mod_quiz_get_quizzes_by_courses", **{"courseids[0]": "5"})["quizzes"]

    def states(user: int, status: str) -> list[str]:
        answer = call(moodle, "mod_quiz_get_user_attempts", quizid=str(quiz["id"]),
                      userid=str(user), status=status)
        return [a["state"] for a in answer["attempts"]]

    assert quiz["coursemodule"] == 44
    assert states(STUDENT_BASE_ID, "finished") == ["finished"]
    assert states(STUDENT_BASE_ID + 2, "finished") == []
    assert states(STUDENT_BASE_ID + 2, "unfinished") == ["inprogress"]
    assert states(STUDENT_BASE_ID + 1, "all") == []  # finishes tomorrow
    world.set_now(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC))
    assert states(STUDENT_BASE_ID + 1, "all") == ["finished"]


def test_unknown_course_module_is_invalidrecordunknown(moodle):
    """Measured on Moodle 4.5: not ``invalidrecord`` with a table name."""
    answer = call(moodle, "core_course_get_course_module", cmid="999")

    assert answer == {"exception": "dml_missing_record_exception",
                      "errorcode": "invalidrecordunknown",
                      "message": "Can't find data record in database."}


@pytest.mark.parametrize(("function", "params"), [
    pytest.param("mod_quiz_get_user_attempts", {"quizid": "99", "userid": "1000"}, id="quiz"),
    pytest.param("mod_quiz_get_user_attempts", {"quizid": "1", "userid": "4242"}, id="user"),
    pytest.param("core_enrol_get_enrolled_users", {"courseid": "99"}, id="course"),
])
def test_unknown_records_are_invalidrecord(moodle, function, params):
    answer = call(moodle, function, **params)

    assert answer["errorcode"] == "invalidrecord"
    assert answer["exception"] == "dml_missing_record_exception"


def test_course_modules_of_assignments_and_quizzes(moodle):
    assign = call(moodle, "core_course_get_course_module", cmid="42")["cm"]
    quiz = call(moodle, "core_course_get_course_module", cmid="44")["cm"]

    assert (assign["course"], assign["modname"], assign["instance"]) == (6, "assign", 8)
    assert (quiz["course"], quiz["modname"], quiz["instance"]) == (5, "quiz", 1)


def test_assignments_of_an_unknown_course_are_warning_1(moodle):
    answer = call(moodle, "mod_assign_get_assignments", **{"courseids[0]": "5",
                                                           "courseids[1]": "77",
                                                           "includenotenrolledcourses": "1"})

    assert [c["id"] for c in answer["courses"]] == [5]
    assert [(w["itemid"], w["warningcode"]) for w in answer["warnings"]] == [(77, "1")]


def test_requests_are_counted_per_function(moodle):
    call(moodle, "core_webservice_get_site_info")
    call(moodle, "core_webservice_get_site_info")
    call(moodle, "mod_assign_get_submissions", **{"assignmentids[0]": "7"})
    requests.post(moodle.base_url + "/login/token.php", data={"username": "x", "password": "y",
                                                              "service": "moodle_mobile_app"},
                  timeout=5)

    assert moodle.stats() == {"core_webservice_get_site_info": 2,
                              "mod_assign_get_submissions": 1, "login": 1}


@pytest.mark.parametrize(("pairs", "decoded"), [
    pytest.param([("a[0]", "1"), ("a[1]", "2")], {"a": ["1", "2"]}, id="list"),
    pytest.param([("o[0][name]", "n"), ("o[0][value]", "v")],
                 {"o": [{"name": "n", "value": "v"}]}, id="list-of-dicts"),
    pytest.param([("a[1]", "2"), ("a[0]", "1")], {"a": ["1", "2"]}, id="out-of-order"),
    pytest.param([("x", "1")], {"x": "1"}, id="scalar"),
])
def test_php_bracket_parameters_are_decoded(pairs, decoded):
    assert decode_php_params(pairs) == decoded


# ----------------------------------------------------------------------------- fault hook

DML_READ = {"exception": "dml_read_exception", "errorcode": "dmlreadexception",
            "message": "Error reading from database"}


@pytest.mark.parametrize(("fmt", "expected"), [
    pytest.param("json", DML_READ, id="json"),
    pytest.param(None, "<ERRORCODE>dmlreadexception</ERRORCODE>", id="xml"),
])
def test_ws_error_is_a_transient_database_error_with_http_200(moodle, fmt, expected):
    moodle.faults = FaultPlan(1, {"ws_error": 1.0}, max_faults=1)
    answer = call(moodle, "core_webservice_get_site_info", fmt=fmt)
    assert answer == expected if fmt == "json" else expected in answer
    served = call(moodle, "core_webservice_get_site_info")  # budget spent: served
    assert served["sitename"]
    assert moodle.faults.snapshot() == {"ws_error": 1}


def test_ws_error_never_hits_the_login(moodle):
    moodle.faults = FaultPlan(1, {"ws_error": 1.0})
    answer = requests.post(moodle.base_url + "/login/token.php", timeout=5, data={
        "username": "kartiba", "password": "sandbox-moodle-password",
        "service": "moodle_mobile_app"}).json()
    assert answer["token"] == TOKEN
    assert moodle.faults.snapshot() == {}


# ----------------------------------------------------------------------------- as Moodle 4.5
# shared/real-moodle.md: what a real Moodle 4.5 answers; scenario 70 holds each case.

SCENARIO_70 = Path(__file__).resolve().parents[1] / "scenarios" / "70_moodle_as_real_moodle.json"
SIX_PM = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)  # 18:00 in Riga


@pytest.fixture
def real(request):
    world = World(load_scenario(SCENARIO_70), now=SIX_PM)
    with MoodleSandbox(world, **getattr(request, "param", {})) as server:
        yield server


def riga(hhmm: str) -> int:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return int(dt.datetime(2026, 12, 1, hour - 2, minute, tzinfo=dt.UTC).timestamp())


def rows(server: MoodleSandbox, aid: int) -> dict[int, dict[str, Any]]:
    answer = call(server, "mod_assign_get_submissions", **{"assignmentids[0]": str(aid)})
    return {(s["userid"] or -s["groupid"]): s for s in answer["assignments"][0]["submissions"]}


def test_only_the_latest_attempt_is_listed_and_earlier_ones_are_in_previousattempts(real):
    s1, s2 = real.student_user_id("s1"), real.student_user_id("s2")
    latest = rows(real, 7)

    assert (latest[s1]["attemptnumber"], latest[s1]["status"]) == (1, "reopened")
    assert (latest[s2]["attemptnumber"], latest[s2]["status"]) == (1, "submitted")
    assert (latest[s2]["timecreated"], latest[s2]["timemodified"]) == (riga("16:30"),
                                                                       riga("17:10"))
    status = call(real, "mod_assign_get_submission_status", assignid="7", userid=str(s1))
    (earlier,) = status["previousattempts"]
    assert (earlier["attemptnumber"], earlier["submission"]["status"],
            earlier["submission"]["timemodified"]) == (0, "submitted", riga("14:00"))
    assert status["lastattempt"]["submission"]["status"] == "reopened"


def test_without_a_submit_button_timecreated_stays_at_the_first_save(real):
    s10 = real.student_user_id("s10")
    row = rows(real, 9)[s10]

    assert (row["timecreated"], row["timemodified"]) == (riga("15:00"), riga("17:30"))
    answer = call(real, "mod_assign_get_assignments", includenotenrolledcourses="1",
                  **{"courseids[0]": "5"})
    flags = {a["id"]: (a["submissiondrafts"], a["teamsubmission"])
             for a in answer["courses"][0]["assignments"]}
    assert flags == {7: (1, 0), 8: (1, 1), 9: (0, 0)}


def test_a_team_submission_is_a_userid_0_row_and_the_members_rows_say_draft(real):
    listed = rows(real, 8)
    s7, s8 = real.student_user_id("s7"), real.student_user_id("s8")

    assert (listed[-501]["userid"], listed[-501]["groupid"], listed[-501]["status"]) == (
        0, 501, "submitted")
    assert listed[s7]["status"] == listed[s8]["status"] == "draft"
    users = call(real, "core_enrol_get_enrolled_users", courseid="5")
    groups = {u["id"]: [g["id"] for g in u.get("groups", [])] for u in users}
    assert groups[s7] == groups[s8] == [501]


def test_an_unenrolled_student_is_missing_and_a_suspended_one_still_submits(real):
    s5 = real.student_user_id("s5")
    assert s5 not in rows(real, 7)
    assert s5 not in {u["id"] for u in call(real, "core_enrol_get_enrolled_users",
                                            courseid="5")}
    real.world.set_now(dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC))  # before unenrolment
    assert s5 in rows(real, 7)


@pytest.mark.parametrize("real", [{"capabilities": ["webservice/rest:use",
                                                    "moodle/course:view", "mod/assign:grade",
                                                    "moodle/course:viewparticipants",
                                                    "moodle/user:viewdetails"]}],
                         indirect=True)
def test_a_suspended_student_is_listed_only_with_viewsuspendedusers(real):
    moodle = real.world.scenario.moodle
    suspended = moodle.model_copy(update={"enrolments": [
        *moodle.enrolments, type(moodle.enrolments[0])(student="s3", course=5,
                                                       status="suspended")]})
    real.world.scenario = real.world.scenario.model_copy(update={"moodle": suspended})
    s3 = real.student_user_id("s3")

    # recorded from a real 4.5: without the right the submission is hidden too
    assert s3 not in rows(real, 7)
    assert s3 not in {u["id"] for u in call(real, "core_enrol_get_enrolled_users",
                                            courseid="5")}
    real.set_capabilities([*real.capabilities, "moodle/course:viewsuspendedusers"])
    assert s3 in rows(real, 7)
    assert s3 in {u["id"] for u in call(real, "core_enrol_get_enrolled_users", courseid="5")}


def test_missing_rights_come_as_warnings_fewer_fields_or_exceptions(real):
    full = real.capabilities
    real.set_capabilities(full - {"mod/assign:grade"})
    answer = call(real, "mod_assign_get_submissions", **{"assignmentids[0]": "7"})
    assert answer == {"assignments": [], "warnings": [{
        "item": "assignment", "itemid": 7, "warningcode": "1",
        "message": "No access rights in module context"}]}

    real.set_capabilities(full - {"moodle/course:useremail", "moodle/site:accessallgroups"})
    users = call(real, "core_enrol_get_enrolled_users", courseid="5")
    assert users and not any("email" in u or "groups" in u for u in users)

    real.set_capabilities(full - {"mod/assign:grade"})
    answer = call(real, "mod_assign_get_submission_status", assignid="7", userid="1000")
    assert (answer["exception"], answer["errorcode"]) == ("required_capability_exception",
                                                          "nopermissions")

    real.set_capabilities(full - {"webservice/rest:use"})
    assert call(real, "core_webservice_get_site_info")["errorcode"] == "accessexception"


def test_rights_come_from_the_scenario_unless_the_sandbox_is_told_otherwise(real):
    moodle = real.world.scenario.moodle.model_copy(update={"capabilities": [
        "webservice/rest:use", "moodle/course:view"]})
    real.world.scenario = real.world.scenario.model_copy(update={"moodle": moodle})

    assert real.capabilities == {"webservice/rest:use", "moodle/course:view"}
    real.set_capabilities(["webservice/rest:use"])
    assert real.capabilities == {"webservice/rest:use"}
