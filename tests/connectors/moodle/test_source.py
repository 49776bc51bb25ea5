"""MoodleActivitySource: batching, what counts as engagement, unknown links, malformed records."""

from __future__ import annotations

import copy
import datetime as dt
import logging
from typing import Any

import pytest
import responses

from connectors.base import ActivitySource
from connectors.errors import ConfigError
from mappings.model import ActivityRef
from tests.connectors.moodle.recorded import REST, FakeMoodle, recorded, source

SUBMITTED_AT = dt.datetime.fromtimestamp(1796061600, dt.UTC)  # recorded timemodified
DUE = dt.datetime.fromtimestamp(1796137200, dt.UTC)  # recorded duedate / timeclose
LATER = DUE + dt.timedelta(days=30)
NOT_FOUND = {"exception": "dml_missing_record_exception", "errorcode": "invalidrecord",
             "message": "Can't find data record in database table course_modules."}


def assign_ref(cmid: int, host: str = "skolo.lv") -> ActivityRef:
    return ActivityRef("moodle", f"https://{host}/mod/assign/view.php?id={cmid}", "assign", cmid)


def quiz_ref(cmid: int) -> ActivityRef:
    return ActivityRef("moodle", f"https://skolo.lv/mod/quiz/view.php?id={cmid}", "quiz", cmid)


def assignment(aid: int, cmid: int, course: int) -> dict[str, Any]:
    """The recorded assignment, with other ids."""
    base = recorded("mod_assign_get_assignments_notenrolled")["courses"][0]["assignments"][0]
    return {**base, "id": aid, "cmid": cmid, "course": course}


def assignments_answer(rows: list[dict[str, Any]]):
    def answer(params: dict[str, str]) -> Any:
        assert params["includenotenrolledcourses"] == "1"
        wanted = {int(v) for k, v in params.items() if k.startswith("courseids[")}
        template = recorded("mod_assign_get_assignments_notenrolled")["courses"][0]
        courses = [{**template, "id": cid, "assignments": [a for a in rows if a["course"] == cid]}
                   for cid in sorted(wanted)]
        return {"courses": courses, "warnings": []}
    return answer


def submissions_answer(extra: list[dict[str, Any]] | None = None):
    """The recorded submissions of assignment 1 (8 submitted, 9 draft) for every id asked."""
    def answer(params: dict[str, str]) -> Any:
        assert "status" not in params  # every status: a reopened latest attempt must be seen
        ids = [int(v) for k, v in params.items() if k.startswith("assignmentids[")]
        subs = recorded("mod_assign_get_submissions")["assignments"][0]["submissions"]
        return {"assignments": [{"assignmentid": aid, "submissions": subs + (extra or [])}
                                for aid in ids], "warnings": []}
    return answer


def users_answer(params: dict[str, str]) -> Any:
    assert params["options[0][name]"] == "userfields"
    return recorded("core_enrol_get_enrolled_users")


def course_module(cmid: int, course: int, modname: str, instance: int) -> dict[str, Any]:
    return {"cm": {"id": cmid, "course": course, "module": 1, "name": "X", "modname": modname,
                   "instance": instance, "section": 7, "sectionnum": 0, "groupmode": 0,
                   "groupingid": 0, "completion": 2, "downloadcontent": 1}, "warnings": []}


def run(fake: FakeMoodle, refs: list[ActivityRef], until: dt.datetime = LATER, **settings):
    src = source(**settings)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        if fake.handlers:  # none registered: any request fails the test
            rsps.add_callback(responses.POST, REST, callback=fake)
        evidence = src.fetch(refs, until)
    return src, evidence


# ----------------------------------------------------------------------------- batching


@pytest.mark.parametrize("n", [pytest.param(1, id="1-assignment"),
                               pytest.param(6, id="6-assignments"),
                               pytest.param(40, id="40-assignments")])
def test_configured_courses_need_a_fixed_number_of_calls_whatever_the_number_of_assignments(n):
    rows = [assignment(100 + i, 500 + i, 3 + i % 2) for i in range(n)]
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer(rows),
                       "mod_assign_get_submissions": submissions_answer(),
                       "core_enrol_get_enrolled_users": users_answer})
    refs = [assign_ref(500 + i) for i in range(n)]

    _, evidence = run(fake, refs, course_ids=[3, 4])

    courses = min(n, 2)
    assert sorted(fake.functions()) == sorted(
        ["mod_assign_get_assignments", "mod_assign_get_submissions"]
        + ["core_enrol_get_enrolled_users"] * courses)
    (_, sub_params), = [c for c in fake.calls if c[0] == "mod_assign_get_submissions"]
    assert [sub_params[f"assignmentids[{i}]"] for i in range(n)] == [str(100 + i)
                                                                      for i in range(n)]
    assert all(e.found and len(e.records) == 1 for e in evidence.values())


def test_without_configured_courses_each_link_is_located_once_then_batched():
    rows = [assignment(100, 500, 3), assignment(101, 501, 3), assignment(102, 502, 4)]
    modules = {500: course_module(500, 3, "assign", 100), 501: course_module(501, 3, "assign", 101),
               502: course_module(502, 4, "assign", 102)}
    fake = FakeMoodle({
        "core_course_get_course_module": lambda p: modules[int(p["cmid"])],
        "mod_assign_get_assignments": assignments_answer(rows),
        "mod_assign_get_submissions": submissions_answer(),
        "core_enrol_get_enrolled_users": users_answer})

    _, evidence = run(fake, [assign_ref(500), assign_ref(501), assign_ref(502)])

    assert fake.count("core_course_get_course_module") == 3
    assert fake.count("mod_assign_get_assignments") == 1
    assert fake.count("mod_assign_get_submissions") == 1
    assert fake.count("core_enrol_get_enrolled_users") == 2
    assert all(e.found for e in evidence.values())


def test_a_second_fetch_in_the_same_run_only_asks_for_what_is_new():
    rows = [assignment(100, 500, 3), assignment(101, 501, 3)]
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer(rows),
                       "mod_assign_get_submissions": submissions_answer(),
                       "core_enrol_get_enrolled_users": users_answer})
    src = source(course_ids=[3])
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add_callback(responses.POST, REST, callback=fake)
        src.fetch([assign_ref(500)], LATER)
        first = len(fake.calls)
        src.fetch([assign_ref(500)], LATER)
        again = len(fake.calls)
        src.fetch([assign_ref(500), assign_ref(501)], LATER)

    assert (first, again) == (3, 3)
    assert fake.functions()[3:] == ["mod_assign_get_submissions"]
    assert fake.calls[3][1] == {"assignmentids[0]": "101"}


# ----------------------------------------------------------------------------- evidence


def test_only_submitted_counts_never_a_draft():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer([assignment(1, 1, 3)]),
                       "mod_assign_get_submissions": submissions_answer(),
                       "core_enrol_get_enrolled_users": users_answer})
    ref = assign_ref(1)

    src, evidence = run(fake, [ref], course_ids=[3])

    (record,) = evidence[ref].records  # user 9's draft is not there
    assert (record.platform, record.kind, record.activity_url) == ("moodle", "submission", ref.url)
    assert (record.email, record.name) == ("janis@audzekni.dttt.example.lv", "Jānis Bērziņš")
    assert record.at == SUBMITTED_AT
    assert evidence[ref].due == DUE
    assert src.errors == []


@pytest.mark.parametrize("status", ["draft", "new", "reopened"])
def test_a_server_that_ignores_the_status_filter_still_yields_no_unsubmitted_work(status):
    extra = [{"id": 9, "userid": 10, "status": status, "timemodified": 1796061600}]
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer([assignment(1, 1, 3)]),
                       "mod_assign_get_submissions": submissions_answer(extra),
                       "core_enrol_get_enrolled_users": users_answer})

    _, evidence = run(fake, [assign_ref(1)], course_ids=[3])

    assert [r.email for r in evidence[assign_ref(1)].records] == [
        "janis@audzekni.dttt.example.lv"]


def test_a_teachers_submission_is_not_a_students():
    extra = [{"id": 9, "userid": 7, "status": "submitted", "timemodified": 1796061600}]
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer([assignment(1, 1, 3)]),
                       "mod_assign_get_submissions": submissions_answer(extra),
                       "core_enrol_get_enrolled_users": users_answer})

    _, evidence = run(fake, [assign_ref(1)], course_ids=[3])

    assert len(evidence[assign_ref(1)].records) == 1


def test_work_after_until_is_left_out_but_the_activity_is_found():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer([assignment(1, 1, 3)]),
                       "mod_assign_get_submissions": submissions_answer(),
                       "core_enrol_get_enrolled_users": users_answer})

    _, evidence = run(fake, [assign_ref(1)], until=SUBMITTED_AT - dt.timedelta(seconds=1),
                      course_ids=[3])

    assert evidence[assign_ref(1)].found is True
    assert evidence[assign_ref(1)].records == ()


def test_an_unknown_course_module_is_not_found_and_the_rest_is_answered():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer([assignment(1, 1, 3)]),
                       "core_course_get_course_module": lambda p: NOT_FOUND,
                       "mod_assign_get_submissions": submissions_answer(),
                       "core_enrol_get_enrolled_users": users_answer})

    _, evidence = run(fake, [assign_ref(1), assign_ref(999)], course_ids=[3])

    assert evidence[assign_ref(999)].found is False
    assert evidence[assign_ref(1)].found is True
    assert fake.calls[1] == ("core_course_get_course_module", {"cmid": "999"})


@pytest.mark.parametrize("ref", [
    pytest.param(assign_ref(1, host="moodle.other-school.lv"), id="another-moodle"),
    pytest.param(ActivityRef("moodle", "https://skolo.lv/course/view.php?id=3"), id="no-cmid"),
    pytest.param(ActivityRef("uzdevumi", "https://skolo.lv/x", cmid=1), id="other-platform"),
])
def test_links_that_are_not_this_moodle_are_not_found_without_a_call(ref):
    fake = FakeMoodle({})

    _, evidence = run(fake, [ref], course_ids=[3])

    assert evidence[ref].found is False
    assert fake.calls == []


def test_the_site_address_itself_is_one_of_the_hosts():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer([assignment(1, 1, 3)]),
                       "mod_assign_get_submissions": submissions_answer(),
                       "core_enrol_get_enrolled_users": users_answer})
    ref = assign_ref(1, host="skolo.test")

    _, evidence = run(fake, [ref], course_ids=[3], hosts=[])

    assert evidence[ref].found is True


def test_malformed_submissions_are_reported_with_ids_and_skipped(caplog):
    extra = [{"id": 31, "status": "submitted", "timemodified": 1796061600},
             {"id": 32, "userid": 10, "status": "submitted", "timemodified": "vakar"},
             {"id": 33, "userid": 10, "status": "submitted", "timemodified": 0}]
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer([assignment(1, 1, 3)]),
                       "mod_assign_get_submissions": submissions_answer(extra),
                       "core_enrol_get_enrolled_users": users_answer})

    with caplog.at_level(logging.WARNING):
        src, evidence = run(fake, [assign_ref(1)], course_ids=[3])

    assert [r.email for r in evidence[assign_ref(1)].records] == [
        "janis@audzekni.dttt.example.lv"]
    assert [(e.system, e.record) for e in src.errors] == [
        ("moodle", "assignment 1 submission 31"), ("moodle", "assignment 1 submission 32"),
        ("moodle", "assignment 1 submission 33")]
    assert "userid" in src.errors[0].message and "timemodified" in src.errors[1].message
    assert "submission 32" in caplog.text
    assert "oskars" not in caplog.text.lower()  # ids only


def test_a_malformed_user_is_reported_and_the_others_kept():
    def users(params: dict[str, str]) -> Any:
        people = recorded("core_enrol_get_enrolled_users")
        broken = copy.deepcopy(people[1])
        broken["id"] = "x"
        return people + [broken]

    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer([assignment(1, 1, 3)]),
                       "mod_assign_get_submissions": submissions_answer(),
                       "core_enrol_get_enrolled_users": users})

    src, evidence = run(fake, [assign_ref(1)], course_ids=[3])

    assert len(evidence[assign_ref(1)].records) == 1
    assert [e.record for e in src.errors] == ["course 3 user x"]


# ----------------------------------------------------------------------------- quizzes


def attempt(user: int, state: str, finish: int) -> dict[str, Any]:
    return {"id": user * 10, "quiz": 1, "userid": user, "attempt": 1, "uniqueid": user,
            "layout": "1,0", "currentpage": 0, "preview": 0, "state": state,
            "timestart": finish - 600 if finish else 1796050000, "timefinish": finish,
            "timemodified": finish, "timemodifiedoffline": 0, "timecheckstate": None,
            "sumgrades": None}


def test_quiz_attempts_are_asked_per_enrolled_student_and_only_finished_count():
    attempts = {"8": [attempt(8, "finished", 1796061000)], "9": [attempt(9, "inprogress", 0)],
                "10": [attempt(10, "abandoned", 1796062000)]}

    def user_attempts(params: dict[str, str]) -> Any:
        assert (params["quizid"], params["status"]) == ("1", "finished")
        return {"attempts": attempts.get(params["userid"], []), "warnings": []}

    fake = FakeMoodle({"mod_quiz_get_quizzes_by_courses": lambda p: recorded(
                           "mod_quiz_get_quizzes_by_courses"),
                       "core_enrol_get_enrolled_users": users_answer,
                       "mod_quiz_get_user_attempts": user_attempts})
    ref = quiz_ref(2)

    _, evidence = run(fake, [ref], course_ids=[3])

    assert fake.count("mod_quiz_get_quizzes_by_courses") == 1
    assert sorted(p["userid"] for f, p in fake.calls if f == "mod_quiz_get_user_attempts") == [
        "10", "8", "9"]  # the students, not the teacher (user 7)
    assert "mod_assign_get_assignments" not in fake.functions()
    (record,) = evidence[ref].records
    assert (record.kind, record.email) == ("attempt", "janis@audzekni.dttt.example.lv")
    assert record.at == dt.datetime.fromtimestamp(1796061000, dt.UTC)
    assert evidence[ref].due == DUE


def test_assignment_links_alone_never_ask_for_quizzes():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments_answer([assignment(1, 1, 3)]),
                       "mod_assign_get_submissions": submissions_answer(),
                       "core_enrol_get_enrolled_users": users_answer})

    run(fake, [assign_ref(1)], course_ids=[3])

    assert not any(f.startswith("mod_quiz") for f in fake.functions())


def test_a_quiz_link_into_an_unlisted_course_is_located_and_batched():
    fake = FakeMoodle({"mod_quiz_get_quizzes_by_courses": lambda p: recorded(
                           "mod_quiz_get_quizzes_by_courses") if p == {"courseids[0]": "3"}
                       else {"quizzes": [], "warnings": []},
                       "core_course_get_course_module": lambda p: course_module(2, 3, "quiz", 1),
                       "core_enrol_get_enrolled_users": users_answer,
                       "mod_quiz_get_user_attempts": lambda p: recorded(
                           "mod_quiz_get_user_attempts")})

    _, evidence = run(fake, [quiz_ref(2)], course_ids=[4])

    assert evidence[quiz_ref(2)].found is True
    # the course module says all a quiz needs: no second mod_quiz_get_quizzes_by_courses
    assert fake.functions()[:3] == ["mod_quiz_get_quizzes_by_courses",
                                    "core_course_get_course_module",
                                    "core_enrol_get_enrolled_users"]
    assert fake.count("mod_quiz_get_quizzes_by_courses") == 1


# ----------------------------------------------------------------------------- completion


def completion_answer(tracking: int):
    def answer(params: dict[str, str]) -> Any:
        statuses = recorded("core_completion_get_activities_completion_status")
        done = params["userid"] == "9"
        statuses["statuses"].append({**statuses["statuses"][0], "cmid": 5, "modname": "page",
                                     "instance": 2, "tracking": tracking, "state": int(done),
                                     "timecompleted": 1796060000 if done else 0})
        return statuses
    return answer


@pytest.mark.parametrize(("tracking", "found", "emails"), [
    pytest.param(2, True, ["liga@audzekni.dttt.example.lv"], id="tracked"),
    pytest.param(0, False, [], id="no-completion-tracking"),
])
def test_other_modules_use_activity_completion(tracking, found, emails):
    fake = FakeMoodle({"core_course_get_course_module": lambda p: course_module(5, 3, "page", 2),
                       "core_enrol_get_enrolled_users": users_answer,
                       "core_completion_get_activities_completion_status":
                           completion_answer(tracking)})
    ref = ActivityRef("moodle", "https://skolo.lv/mod/page/view.php?id=5", "page", 5)

    _, evidence = run(fake, [ref], course_ids=[3])

    assert evidence[ref].found is found
    assert [r.email for r in evidence[ref].records] == emails
    assert all(r.kind == "completion" for r in evidence[ref].records)
    assert fake.count("core_completion_get_activities_completion_status") == 3


# ----------------------------------------------------------------------------- health


def test_the_source_follows_the_protocol():
    src = source()

    assert isinstance(src, ActivitySource) and src.platform == "moodle"


def test_health_reads_the_site_info():
    fake = FakeMoodle({"core_webservice_get_site_info": lambda p: recorded(
        "core_webservice_get_site_info")})
    src = source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add_callback(responses.POST, REST, callback=fake)
        text = src.health()

    assert "Sandbox skolo" in text and "4.5" in text


def test_health_names_the_functions_the_service_lacks():
    info = recorded("core_webservice_get_site_info")
    info["functions"] = [f for f in info["functions"]
                         if f["name"] != "mod_quiz_get_user_attempts"]
    fake = FakeMoodle({"core_webservice_get_site_info": lambda p: info})
    src = source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add_callback(responses.POST, REST, callback=fake)
        with pytest.raises(ConfigError, match="mod_quiz_get_user_attempts"):
            src.health()
