"""Teams evidence: window, per-person grouping, merged intervals, rejoins, guests, cache."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
import responses

from connectors._http import CallStats
from connectors.base import MeetingSource
from connectors.errors import ConfigError
from connectors.teams import build
from connectors.teams.client import teams_encoded
from connectors.teams.models import AttendanceRecord, AttendanceReport
from connectors.teams.source import (
    join_url_candidates,
    person_key,
    record_segments,
)
from mappings.model import MeetingRef, Segment, Teacher
from tests.connectors.teams.conftest import (
    MEETING_URL,
    REPORT1,
    REPORT2,
    REPORTS_URL,
    TOKEN_URL,
    load,
    settings,
)

RIGA = ZoneInfo("Europe/Riga")
UTC = dt.UTC
JOIN_URL = load("online_meetings.json")["value"][0]["joinWebUrl"]
# as mappings.uzdots makes it: the key is the decoded join URL, the url the link as written
REF = MeetingRef(platform="teams", key=unquote(JOIN_URL), url=JOIN_URL)
TEACHER = Teacher(id="t1", name="Ilze Kalniņa", email="ilze.kalnina@school.lv")
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA)
END = dt.datetime(2026, 11, 30, 9, 45, tzinfo=RIGA)


def utc(h: int, m: int, day: int = 30) -> dt.datetime:
    return dt.datetime(2026, 11, day, h, m, tzinfo=UTC)


def seg(a: tuple[int, int], b: tuple[int, int]) -> Segment:
    return Segment(utc(*a), utc(*b))


def register_lesson(rsps: responses.RequestsMock) -> None:
    """The answers a fetch of the 09:00 lesson needs: token, meeting, reports, two reports'
    records (the week-old report is outside the window and must not be fetched)."""
    rsps.post(TOKEN_URL, json=load("token.json"))
    rsps.get(MEETING_URL, json=load("online_meetings.json"))
    rsps.get(REPORTS_URL, json=load("attendance_reports.json"))
    records = f"{REPORTS_URL}/{REPORT1}/attendanceRecords"
    rsps.get(records, json=load("attendance_records_page1.json"),
             match=[responses.matchers.query_param_matcher({})])
    rsps.get(records, json=load("attendance_records_page2.json"),
             match=[responses.matchers.query_param_matcher({"$skiptoken": "eyJvIjoyfQ"})])
    rsps.get(f"{REPORTS_URL}/{REPORT2}/attendanceRecords",
             json=load("attendance_records_report2.json"))


def test_source_implements_the_meeting_source_protocol(source):
    assert isinstance(source, MeetingSource)
    assert source.platform == "teams"


def test_fetch_groups_people_and_merges_intervals_across_reports(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_lesson(rsps)
        ev = source.fetch(REF, START, END, TEACHER)
    assert ev.found and ev.platform == "teams" and ev.key == REF.key
    assert ev.instances == 2
    assert ev.chat is None
    assert (ev.host_email, ev.host_name) == (TEACHER.email, TEACHER.name)
    people = {p.name: p for p in ev.participants}
    assert set(people) == {"Ilze Kalniņa", "Jānis Bērziņš", "Anna (viesis)", "Marta K"}
    # overlapping intervals merged, the gap kept, the rejoin after the restart (open
    # interval ending with its report) merged with the touching last interval
    assert people["Jānis Bērziņš"].segments == (seg((7, 1), (7, 30)), seg((7, 35), (8, 5)))
    assert people["Jānis Bērziņš"].email == "Janis.Berzins@audzekni.school.lv"
    assert people["Ilze Kalniņa"].segments == (
        Segment(dt.datetime(2026, 11, 30, 6, 58, 0, 945875, tzinfo=UTC),
                dt.datetime(2026, 11, 30, 7, 47, 0, 294145, tzinfo=UTC)),
        seg((7, 50), (8, 5)))


@pytest.mark.parametrize(
    ("name", "email", "platform_id"),
    [
        pytest.param("Anna (viesis)", "", "8b0e3f4a-2c1d-4e5f-a6b7-c8d9e0f1a2b3",
                     id="external-guest-has-identity-id-no-email"),
        pytest.param("Marta K", "", "", id="anonymous-guest-name-only"),
    ],
)
def test_guests_without_email_are_kept(source, name, email, platform_id):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_lesson(rsps)
        ev = source.fetch(REF, START, END, TEACHER)
    guest = next(p for p in ev.participants if p.name == name)
    assert (guest.email, guest.platform_id) == (email, platform_id)


def test_joint_lessons_cost_one_fetch(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_lesson(rsps)
        first = source.fetch(REF, START, END, TEACHER)
        calls = len(rsps.calls)
        second = source.fetch(REF, START, END, TEACHER)
        assert len(rsps.calls) == calls
    assert first == second


def test_clear_cache_fetches_again(source):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register_lesson(rsps)
        source.fetch(REF, START, END, TEACHER)
        calls = len(rsps.calls)
        source.clear_cache()
        source.fetch(REF, START, END, TEACHER)
        assert len(rsps.calls) == 2 * calls - 1  # the token is still valid


@pytest.mark.parametrize(
    ("meetings_answer", "status"),
    [
        pytest.param({"value": []}, 200, id="no-meeting-with-join-url"),
        pytest.param({"error": {"code": "ResourceNotFound", "message": "no user"}}, 404,
                     id="organizer-not-in-tenant"),
    ],
)
def test_meeting_not_found_is_not_found(source, meetings_answer, status):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(MEETING_URL, json=meetings_answer, status=status)
        ev = source.fetch(REF, START, END, TEACHER)
        lookups = len(rsps.calls) - 1
    assert not ev.found and ev.participants == ()
    # an empty answer tries the other spelling of the join URL; an unknown user does not
    assert lookups == (2 if status == 200 else 1)


def test_a_decoded_link_is_looked_up_in_the_teams_encoded_form(source):
    decoded = unquote(JOIN_URL)
    ref = MeetingRef("teams", decoded, decoded)
    by_filter = responses.matchers.query_param_matcher
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(MEETING_URL, json={"value": []},
                 match=[by_filter({"$filter": f"JoinWebUrl eq '{decoded}'"})])
        rsps.get(MEETING_URL, json=load("online_meetings.json"),
                 match=[by_filter({"$filter": f"JoinWebUrl eq '{JOIN_URL}'"})])
        rsps.get(REPORTS_URL, json={"value": []})
        ev = source.fetch(ref, START, END, TEACHER)
    # the meeting was found under its encoded join URL (it then had no report in the window)
    assert not ev.found


@pytest.mark.parametrize(
    ("url", "encoded"),
    [
        pytest.param(unquote(JOIN_URL), JOIN_URL, id="decoded-with-context"),
        pytest.param(JOIN_URL, JOIN_URL, id="already-encoded"),
        pytest.param("https://teams.microsoft.com/l/meetup-join/19:meeting_AB@thread.v2/0",
                     "https://teams.microsoft.com/l/meetup-join/19%3ameeting_AB%40thread.v2/0",
                     id="no-query"),
        pytest.param("https://teams.microsoft.com/meet/123?p=a b",
                     "https://teams.microsoft.com/meet/123?p=a%20b", id="meet-link-passcode"),
    ],
)
def test_teams_encoded(url, encoded):
    assert teams_encoded(url) == encoded


@pytest.mark.parametrize(
    ("ref", "candidates"),
    [
        pytest.param(REF, [JOIN_URL, unquote(JOIN_URL)], id="written-encoded"),
        pytest.param(MeetingRef("teams", unquote(JOIN_URL), unquote(JOIN_URL)),
                     [unquote(JOIN_URL), JOIN_URL], id="written-decoded"),
    ],
)
def test_join_url_candidates(ref, candidates):
    assert join_url_candidates(ref) == candidates


def test_no_report_in_the_window_is_not_found(source):
    later_start = START + dt.timedelta(days=1)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(MEETING_URL, json=load("online_meetings.json"))
        rsps.get(REPORTS_URL, json=load("attendance_reports.json"))
        ev = source.fetch(REF, later_start, later_start + dt.timedelta(minutes=45), TEACHER)
    assert not ev.found and ev.instances == 0


@pytest.mark.parametrize(
    "host",
    [
        pytest.param(None, id="no-teacher"),
        pytest.param(Teacher(id="t9", name="Bez Pasta", email=""), id="teacher-without-email"),
    ],
)
def test_without_an_organizer_nothing_is_called(source, host):
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        ev = source.fetch(REF, START, END, host)
    assert not ev.found


@pytest.mark.parametrize(
    ("ref", "start"),
    [
        pytest.param(MeetingRef("zoom", "81234567890", "https://zoom.us/j/81234567890"), START,
                     id="other-platform"),
        pytest.param(REF, START.replace(tzinfo=None), id="naive-start"),
    ],
)
def test_bad_arguments_are_refused(source, ref, start):
    with pytest.raises(ValueError):
        source.fetch(ref, start, END, TEACHER)


def test_health_obtains_a_token(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        assert source.health().startswith("teams: ok")


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        pytest.param({"tenant_id": ""}, "teams.tenant_id", id="no-tenant"),
        pytest.param({"client_id": " "}, "teams.client_id", id="blank-client"),
        pytest.param({"client_secret": ""}, "teams.client_secret", id="no-secret"),
    ],
)
def test_build_refuses_missing_settings(overrides, setting):
    with pytest.raises(ConfigError) as err:
        build(settings(**overrides))
    assert err.value.setting == setting


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("record", "key"),
    [
        pytest.param({"emailAddress": "A.B@School.lv", "identity": {"id": "x", "displayName": "A"}},
                     ("email", "a.b@school.lv"), id="email-first-casefolded"),
        pytest.param({"emailAddress": None, "identity": {"id": "x", "displayName": "A"}},
                     ("id", "x"), id="identity-id-next"),
        pytest.param({"emailAddress": " ", "identity": {"displayName": "Ābele Ē"}},
                     ("name", "ābele ē"), id="display-name-last"),
        pytest.param({"identity": None}, None, id="nobody"),
    ],
)
def test_person_key(record, key):
    assert person_key(AttendanceRecord.model_validate(record)) == key


REPORT = AttendanceReport.model_validate({"id": "r", "meetingStartDateTime": "2026-11-30T07:00:00Z",
                                          "meetingEndDateTime": "2026-11-30T07:45:00Z"})


@pytest.mark.parametrize(
    ("intervals", "segments"),
    [
        pytest.param([{"joinDateTime": "2026-11-30T07:01:00Z", "leaveDateTime": "2026-11-30T07:02:00Z"}],
                     [seg((7, 1), (7, 2))], id="closed"),
        pytest.param([{"joinDateTime": "2026-11-30T07:01:00Z", "durationInSeconds": 120}],
                     [seg((7, 1), (7, 3))], id="leave-from-duration"),
        pytest.param([{"joinDateTime": "2026-11-30T07:40:00Z", "leaveDateTime": None}],
                     [seg((7, 40), (7, 45))], id="open-ends-with-report"),
        pytest.param([{"joinDateTime": "2026-11-30T07:01:00", "leaveDateTime": "2026-11-30T07:02:00"}],
                     [seg((7, 1), (7, 2))], id="naive-taken-as-utc"),
        pytest.param([{"joinDateTime": "2026-11-30T07:01:00Z", "leaveDateTime": "2026-11-30T07:01:00Z"}],
                     [], id="zero-length-dropped"),
    ],
)
def test_record_segments(intervals, segments):
    record = AttendanceRecord.model_validate({"attendanceIntervals": intervals})
    assert record_segments(record, REPORT) == segments


def test_interval_ending_before_it_starts_skips_the_record_only(source, caplog):
    caplog.set_level(logging.WARNING, logger="kartiba.teams")
    bad = {"value": [
        {"id": "rec-bad", "emailAddress": "x@school.lv", "identity": {"displayName": "X"},
         "attendanceIntervals": [{"joinDateTime": "2026-11-30T07:30:00Z",
                                  "leaveDateTime": "2026-11-30T07:10:00Z"}]},
        {"id": "rec-ok", "emailAddress": "y@school.lv", "identity": {"displayName": "Y"},
         "attendanceIntervals": [{"joinDateTime": "2026-11-30T07:10:00Z",
                                  "leaveDateTime": "2026-11-30T07:30:00Z"}]}]}
    reports = {"value": [{"id": REPORT1, "meetingStartDateTime": "2026-11-30T07:00:00Z",
                          "meetingEndDateTime": "2026-11-30T07:45:00Z"}]}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(MEETING_URL, json=load("online_meetings.json"))
        rsps.get(REPORTS_URL, json=reports)
        rsps.get(f"{REPORTS_URL}/{REPORT1}/attendanceRecords", json=bad)
        ev = source.fetch(REF, START, END, TEACHER)
    assert [p.name for p in ev.participants] == ["Y"]
    assert "rec-bad" in caplog.text and "x@school.lv" not in caplog.text


@pytest.mark.parametrize(
    ("after_min", "instances", "janis_last_end"),
    [
        pytest.param(120, 2, utc(8, 5), id="default-window-takes-the-restart"),
        pytest.param(0, 1, utc(7, 46), id="window-ending-with-the-lesson"),
    ],
)
def test_policy_window_decides_which_reports_count(after_min, instances, janis_last_end):
    source = build(settings(), policy_after_min=after_min, stats=CallStats())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register_lesson(rsps)
        ev = source.fetch(REF, START, END, TEACHER)
    assert ev.instances == instances
    janis = next(p for p in ev.participants if p.name == "Jānis Bērziņš")
    assert janis.segments[-1].end == janis_last_end
