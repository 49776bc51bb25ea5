"""MoodleActivitySource against the answers a real Moodle 4.5 gives (shared/real-moodle.md).

Each case of issue 11 that gave a wrong "n": a reopened attempt, an assignment without a
submit button edited after the due, a team submission, a student unenrolled after submitting,
missing rights (warnings, no e-mails, refused calls) and an unknown course module.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import responses

from mappings.model import ActivityRef, ActivityUser
from tests.connectors.moodle.recorded import REST, FakeMoodle, constructed, recorded, source

RIGA = ZoneInfo("Europe/Riga")
DUE = dt.datetime(2026, 12, 1, 16, 0, tzinfo=RIGA)
NOW = dt.datetime(2026, 12, 1, 18, 0, tzinfo=RIGA)
S1, S2, S3, S4 = 1000, 1001, 1002, 1003  # scenario 70's users in the constructed answers
TEAM = (1006, 1007)


def at(hhmm: str) -> dt.datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return dt.datetime(2026, 12, 1, hour, minute, tzinfo=RIGA)


def ref(cmid: int, kind: str = "assign") -> ActivityRef:
    return ActivityRef("moodle", f"https://skolo.lv/mod/{kind}/view.php?id={cmid}", kind, cmid)


def assignment(aid: int, cmid: int, *, drafts: int = 1, team: int = 0) -> dict[str, Any]:
    base = recorded("mod_assign_get_assignments_notenrolled")["courses"][0]["assignments"][0]
    return {**base, "id": aid, "cmid": cmid, "course": 5, "submissiondrafts": drafts,
            "teamsubmission": team}


def assignments(*rows: dict[str, Any]):
    def answer(params: dict[str, str]) -> Any:
        return {"courses": [{"id": 5, "fullname": "Elektrotehnika", "shortname": "ET",
                             "timemodified": 0, "assignments": list(rows)}], "warnings": []}
    return answer


def submissions(*names: str):
    """Every assignment asked for, with the rows of the named constructed answers."""
    by_id = {entry["assignmentid"]: entry for name in names
             for entry in constructed(name)["assignments"]}

    def answer(params: dict[str, str]) -> Any:
        ids = [int(v) for k, v in params.items() if k.startswith("assignmentids[")]
        return {"assignments": [by_id.get(aid, {"assignmentid": aid, "submissions": []})
                                for aid in ids], "warnings": []}
    return answer


def users(name: str = "core_enrol_get_enrolled_users_groups"):
    return lambda params: constructed(name)


def previous_attempts(params: dict[str, str]) -> Any:
    """s1's earlier attempt as recorded in the constructed answer; s2's the same shape."""
    answer = constructed("mod_assign_get_submission_status_previousattempts")
    user = int(params["userid"])
    for item in answer["previousattempts"]:
        item["submission"]["userid"] = user
        if user == S2:
            item["submission"]["timecreated"] = item["submission"]["timemodified"] = int(
                at("13:00").timestamp())
    return answer


def run(fake: FakeMoodle, refs: list[ActivityRef], **kw: Any):
    src = source(course_ids=[5])
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add_callback(responses.POST, REST, callback=fake)
        evidence = src.fetch(refs, NOW, **kw)
    return evidence


def engaged(evidence, link: ActivityRef) -> dict[str, dt.datetime]:
    """E-mail -> first record time."""
    out: dict[str, dt.datetime] = {}
    for record in evidence[link].records:
        out[record.email] = min(record.at, out.get(record.email, record.at))
    return out


def email_of(user_id: int) -> str:
    return next(u["email"] for u in constructed("core_enrol_get_enrolled_users_groups")
                if u["id"] == user_id)


# ----------------------------------------------------------------------------- attempts


def test_a_reopened_attempt_keeps_the_earlier_submission_with_or_without_resubmission():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(7, 41)),
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_reopened"),
                       "core_enrol_get_enrolled_users": users(),
                       "mod_assign_get_submission_status": previous_attempts})

    evidence = run(fake, [ref(41)], due={ref(41): DUE})

    got = engaged(evidence, ref(41))
    assert got[email_of(S1)] == at("14:00")  # reopened at 17:00, not resubmitted
    assert got[email_of(S2)] == at("13:00")  # reopened, resubmitted 17:10: the first counts
    assert got[email_of(S3)] == at("15:10") and got[email_of(S4)] == at("15:50")
    # earlier attempts asked only for the two whose latest attempt is a later, late one
    asked = sorted(int(p["userid"]) for f, p in fake.calls
                   if f == "mod_assign_get_submission_status")
    assert asked == [S1, S2]
    assert evidence[ref(41)].gap == ""


def test_a_later_attempt_submitted_in_time_needs_no_history_call():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(7, 41)),
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_reopened"),
                       "core_enrol_get_enrolled_users": users(),
                       "mod_assign_get_submission_status": previous_attempts})

    run(fake, [ref(41)], due={ref(41): at("17:30")})

    asked = [int(p["userid"]) for f, p in fake.calls if f == "mod_assign_get_submission_status"]
    assert asked == [S1]  # s2 resubmitted 17:10, before this due


@pytest.mark.parametrize(("drafts", "first"), [
    pytest.param(0, "15:00", id="no-submit-button-first-save"),
    pytest.param(1, "17:30", id="submit-button-last-change"),
])
def test_without_a_submit_button_the_first_save_is_the_submission(drafts, first):
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(9, 43,
                                                                            drafts=drafts)),
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_no_submit_button"),
                       "core_enrol_get_enrolled_users": users()})

    evidence = run(fake, [ref(43)])

    assert engaged(evidence, ref(43))[email_of(1009)] == at(first)


def test_the_submit_button_flag_is_asked_only_when_the_times_differ():
    module = constructed("core_course_get_course_module")
    module["cm"].update({"id": 43, "instance": 9})
    fake = FakeMoodle({"core_course_get_course_module": lambda p: module,
                       "mod_assign_get_assignments": assignments(assignment(9, 43, drafts=0)),
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_no_submit_button"),
                       "core_enrol_get_enrolled_users": users()})
    src = source()  # no course_ids: located through the course module
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add_callback(responses.POST, REST, callback=fake)
        evidence = src.fetch([ref(43)], NOW)

    assert fake.functions() == ["core_course_get_course_module", "mod_assign_get_submissions",
                                "mod_assign_get_assignments", "core_enrol_get_enrolled_users"]
    assert engaged(evidence, ref(43))[email_of(1009)] == at("15:00")


# ----------------------------------------------------------------------------- teams


def test_a_team_submission_counts_for_every_member_and_their_draft_rows_do_not_hide_it():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(8, 42, team=1)),
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_team"),
                       "core_enrol_get_enrolled_users": users()})

    evidence = run(fake, [ref(42)])

    assert engaged(evidence, ref(42)) == {email_of(u): at("15:00") for u in TEAM}


def test_team_rows_without_group_membership_are_no_access_naming_the_right():
    people = constructed("core_enrol_get_enrolled_users_groups")
    for person in people:
        person.pop("groups", None)
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(8, 42, team=1)),
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_team"),
                       "core_enrol_get_enrolled_users": lambda p: people})

    evidence = run(fake, [ref(42)])

    assert evidence[ref(42)].gap == "no_access"
    assert "moodle/site:accessallgroups" in evidence[ref(42)].gap_detail
    assert evidence[ref(42)].records == ()


# ----------------------------------------------------------------------------- visibility


def test_an_unenrolled_student_is_not_visible_and_their_rows_are_not_anyones():
    extra = {"id": 99, "userid": 1004, "attemptnumber": 0, "status": "submitted",
             "timecreated": int(at("12:00").timestamp()),
             "timemodified": int(at("12:00").timestamp()), "groupid": 0}
    answer = submissions("mod_assign_get_submissions_reopened")

    def with_extra(params: dict[str, str]) -> Any:
        out = answer(params)
        out["assignments"][0]["submissions"].append(extra)
        return out

    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(7, 41)),
                       "mod_assign_get_submissions": with_extra,
                       "core_enrol_get_enrolled_users": users(),
                       "mod_assign_get_submission_status": previous_attempts})

    evidence = run(fake, [ref(41)], due={ref(41): DUE})

    visible = {u.email for u in evidence[ref(41)].visible or ()}
    assert "filips.nicis@audzekni.school.lv" not in visible  # s5, unenrolled at 17:30
    assert email_of(S1) in visible
    assert all(r.email for r in evidence[ref(41)].records)


# ----------------------------------------------------------------------------- rights


def test_a_warning_inside_a_normal_answer_is_incomplete_evidence_for_that_assignment_only():
    def answer(params: dict[str, str]) -> Any:
        good = constructed("mod_assign_get_submissions_team")
        denied = constructed("mod_assign_get_submissions_no_grade_right")
        return {"assignments": good["assignments"], "warnings": denied["warnings"]}

    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(7, 41),
                                                                 assignment(8, 42, team=1)),
                       "mod_assign_get_submissions": answer,
                       "core_enrol_get_enrolled_users": users()})

    evidence = run(fake, [ref(41), ref(42)])

    assert (evidence[ref(41)].gap, evidence[ref(41)].records) == ("warnings", ())
    assert evidence[ref(41)].gap_detail == (
        "mod_assign_get_submissions: warningcode 1 for assignment 7 (needs mod/assign:grade)")
    assert evidence[ref(42)].gap == "" and len(evidence[ref(42)].records) == 2


def test_no_submissions_found_is_not_a_missing_right():
    def answer(params: dict[str, str]) -> Any:
        return {"assignments": [{"assignmentid": 7, "submissions": []}],
                "warnings": [{"item": "module", "itemid": 7, "warningcode": "3",
                              "message": "No submissions found"}]}

    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(7, 41)),
                       "mod_assign_get_submissions": answer,
                       "core_enrol_get_enrolled_users": users()})

    evidence = run(fake, [ref(41)])

    assert evidence[ref(41)].gap == "" and evidence[ref(41)].records == ()
    assert evidence[ref(41)].visible


def test_users_without_e_mails_are_no_access_naming_the_right():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(7, 41)),
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_reopened"),
                       "core_enrol_get_enrolled_users": users(
                           "core_enrol_get_enrolled_users_no_useremail")})

    evidence = run(fake, [ref(41)])

    assert evidence[ref(41)].gap == "no_access"
    assert "moodle/course:useremail" in evidence[ref(41)].gap_detail
    assert evidence[ref(41)].records == ()


def test_a_list_of_teachers_only_without_e_mails_is_no_access_naming_the_right():
    """Recorded from a real 4.5 (recorded-4.5-cases.json, enrolled_users_nogroups_old_list):
    without moodle/user:viewdetails only the teachers come, without e-mails, and no student."""
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "moodle"
    recorded_cases = json.loads((fixtures / "recorded-4.5-cases.json").read_text("utf-8"))
    teachers_only = recorded_cases["enrolled_users_nogroups_old_list"]["response"]
    assert teachers_only and all("email" not in u for u in teachers_only)
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(7, 41)),
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_reopened"),
                       "core_enrol_get_enrolled_users": lambda params: teachers_only})

    evidence = run(fake, [ref(41)])

    assert evidence[ref(41)].gap == "no_access"
    assert "moodle/course:useremail" in evidence[ref(41)].gap_detail
    assert evidence[ref(41)].records == ()


def test_a_refused_per_student_call_is_a_gap_for_that_link_and_the_others_go_on():
    denied = constructed("error_nopermissions")
    module = constructed("core_course_get_course_module")
    module["cm"].update({"id": 44, "modname": "quiz", "instance": 3})
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(8, 42, team=1)),
                       "mod_quiz_get_quizzes_by_courses": lambda p: {"quizzes": [],
                                                                      "warnings": []},
                       "core_course_get_course_module": lambda p: module,
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_team"),
                       "core_enrol_get_enrolled_users": users(),
                       "mod_quiz_get_user_attempts": lambda p: denied})

    evidence = run(fake, [ref(42), ref(44, "quiz")])

    quiz = evidence[ref(44, "quiz")]
    assert (quiz.gap, quiz.gap_detail) == (
        "no_access", "mod_quiz_get_user_attempts: nopermissions (needs mod/quiz:viewreports)")
    assert len(evidence[ref(42)].records) == 2


def test_an_unknown_course_module_is_an_invalid_link_for_that_link_only():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(8, 42, team=1)),
                       "core_course_get_course_module": lambda p: constructed(
                           "core_course_get_course_module_unknown"),
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_team"),
                       "core_enrol_get_enrolled_users": users()})

    evidence = run(fake, [ref(999), ref(42)])

    assert (evidence[ref(999)].found, evidence[ref(999)].gap) == (False, "invalid_link")
    assert evidence[ref(999)].gap_detail == "cmid 999: invalidrecordunknown"
    assert len(evidence[ref(42)].records) == 2


# ----------------------------------------------------------------------------- calls


def test_quiz_attempts_are_asked_only_for_the_students_of_the_linking_lessons():
    module = constructed("core_course_get_course_module")
    module["cm"].update({"id": 44, "modname": "quiz", "instance": 3})
    fake = FakeMoodle({"mod_quiz_get_quizzes_by_courses": lambda p: {"quizzes": [],
                                                                      "warnings": []},
                       "core_course_get_course_module": lambda p: module,
                       "core_enrol_get_enrolled_users": users(),
                       "mod_quiz_get_user_attempts": lambda p: {"attempts": [],
                                                                "warnings": []}})
    group = [ActivityUser(email=email_of(S1).upper(), name="x", student_id="s1"),
             ActivityUser(email="", name="Ērgle Baiba", student_id="s2")]

    evidence = run(fake, [ref(44, "quiz")], students={ref(44, "quiz"): group})

    asked = sorted(int(p["userid"]) for f, p in fake.calls if f == "mod_quiz_get_user_attempts")
    assert asked == [S1, S2]  # by e-mail, and by name without case, diacritics, word order
    assert fake.count("mod_quiz_get_quizzes_by_courses") == 1  # not again after the module
    assert {u.email for u in evidence[ref(44, "quiz")].visible or ()} == {
        email_of(S1), email_of(S2)}


def test_an_assignment_left_out_of_the_answer_is_not_read_as_no_submissions():
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(7, 41)),
                       "mod_assign_get_submissions": lambda p: {"assignments": [],
                                                                "warnings": []},
                       "core_enrol_get_enrolled_users": users()})

    evidence = run(fake, [ref(41)])

    assert (evidence[ref(41)].gap, evidence[ref(41)].records) == ("fetch_failed", ())
    assert evidence[ref(41)].gap_detail == (
        "mod_assign_get_submissions: no answer for assignment 7")


def test_a_persistent_error_on_one_course_module_leaves_the_other_links_judged():
    failing = {"exception": "dml_read_exception", "errorcode": "invalidparameter",
               "message": "Invalid parameter value detected"}
    fake = FakeMoodle({"mod_assign_get_assignments": assignments(assignment(8, 42, team=1)),
                       "core_course_get_course_module": lambda p: failing,
                       "mod_assign_get_submissions": submissions(
                           "mod_assign_get_submissions_team"),
                       "core_enrol_get_enrolled_users": users()})

    evidence = run(fake, [ref(77), ref(42)])

    assert (evidence[ref(77)].gap, evidence[ref(77)].gap_detail) == (
        "fetch_failed", "core_course_get_course_module: invalidparameter")
    assert len(evidence[ref(42)].records) == 2
