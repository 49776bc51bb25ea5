"""Teams evidence: window, per-person grouping, merged intervals, rejoins, guests, cache."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import unquote, urlsplit
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
from mappings.model import EvidenceGap, MeetingRef, Segment, Teacher
from tests.connectors.teams.conftest import (
    MEETING_URL,
    NOW,
    REPORT1,
    REPORTS_URL,
    TOKEN_URL,
    load,
    register_user,
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


def register_meeting(rsps: responses.RequestsMock, reports: dict | None = None) -> None:
    """Token, organizer lookup, meeting and reports."""
    rsps.post(TOKEN_URL, json=load("token.json"))
    register_user(rsps)
    rsps.get(MEETING_URL, json=load("online_meetings.json"))
    rsps.get(REPORTS_URL, json=reports or load("attendance_reports.json"))


def register_lesson(rsps: responses.RequestsMock) -> None:
    """The answers a fetch of the 09:00 lesson needs: token, organizer, meeting, reports and
    the records of the lesson's own report only (the session after the lesson on the same
    link and the week-old one are not this lesson's evidence and must not be fetched)."""
    register_meeting(rsps)
    records = f"{REPORTS_URL}/{REPORT1}/attendanceRecords"
    rsps.get(records, json=load("attendance_records_page1.json"),
             match=[responses.matchers.query_param_matcher({})])
    rsps.get(records, json=load("attendance_records_page2.json"),
             match=[responses.matchers.query_param_matcher({"$skiptoken": "eyJvIjoyfQ"})])


def test_source_implements_the_meeting_source_protocol(source):
    assert isinstance(source, MeetingSource)
    assert source.platform == "teams"


def test_fetch_groups_people_and_merges_intervals_of_the_lessons_report(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_lesson(rsps)
        ev = source.fetch(REF, START, END, TEACHER)
    assert ev.found and ev.complete and ev.platform == "teams" and ev.key == REF.key
    assert ev.instances == 1
    assert ev.chat is None
    assert (ev.host_email, ev.host_name) == (TEACHER.email, TEACHER.name)
    # the report's span (7-digit fractional seconds) is the held part's session
    assert ev.sessions == (Segment(dt.datetime(2026, 11, 30, 6, 58, 0, 945875, tzinfo=UTC),
                                   dt.datetime(2026, 11, 30, 7, 47, 0, 294145, tzinfo=UTC)),)
    people = {p.name: p for p in ev.participants}
    assert set(people) == {"Ilze Kalniņa", "Jānis Bērziņš", "Anna (viesis)", "Marta K"}
    # overlapping intervals merged, the gap kept
    assert people["Jānis Bērziņš"].segments[0] == seg((7, 1), (7, 30))
    assert people["Jānis Bērziņš"].email == "Janis.Berzins@audzekni.school.lv"
    assert people["Ilze Kalniņa"].segments == ev.sessions


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


def test_no_meeting_with_the_join_url_is_not_found(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        register_user(rsps)
        rsps.get(MEETING_URL, json={"value": []})
        rsps.get(MEETING_URL, json={"value": []})  # the other spelling of the join URL
        ev = source.fetch(REF, START, END, TEACHER)
    assert not ev.found and ev.complete and ev.participants == ()


def test_the_path_carries_the_object_id_looked_up_once_per_run(source):
    """Defect 1: the teacher's UPN in the path is a 404 at Graph; the object ID is looked up
    once and reused for every meeting of that teacher."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_lesson(rsps)
        rsps.get(MEETING_URL, json={"value": []})
        source.fetch(REF, START, END, TEACHER)
        other = MeetingRef("teams", "https://teams.microsoft.com/l/meetup-join/other",
                           "https://teams.microsoft.com/l/meetup-join/other")
        source.fetch(other, START, END, TEACHER)
        users = [c for c in rsps.calls if "$select" in c.request.url]
    assert len(users) == 1
    assert all("@" not in urlsplit(c.request.url).path for c in rsps.calls[1:])


@pytest.mark.parametrize(
    ("status", "body", "gap", "detail"),
    [
        pytest.param(404, {"error": {"code": "Request_ResourceNotFound", "message": "x"}},
                     EvidenceGap.ORGANIZER_UNREADABLE, "user_not_found", id="not-a-user"),
        pytest.param(403, {"error": {"code": "Authorization_RequestDenied", "message": "x"}},
                     EvidenceGap.NO_ACCESS, "User.Read.All", id="no-user-read-all"),
    ],
)
def test_an_unreadable_teacher_is_a_gap_never_no_meeting(source, status, body, gap, detail):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        register_user(rsps, status, body)
        ev = source.fetch(REF, START, END, TEACHER)
        again = source.fetch(REF, START, END, TEACHER)  # the refusal is cached for the run
    assert (ev.gap, ev.gap_detail) == (gap, detail) and not ev.complete
    assert again == ev


@pytest.mark.parametrize(
    ("message", "gap", "detail", "blames_policy"),
    [
        pytest.param("No application access policy found for this app.",
                     EvidenceGap.NO_ACCESS, "application_access_policy", True, id="policy"),
        pytest.param("The user is not the organizer or a co-organizer of this meeting.",
                     EvidenceGap.ORGANIZER_UNREADABLE, "not_organizer", False,
                     id="substitute-teacher"),
    ],
)
def test_a_403_on_the_meeting_is_a_gap_with_the_right_reason(source, caplog, message, gap,
                                                            detail, blames_policy):
    """Defect 5: a substitute's lesson on the regular teacher's link is not readable; the
    log says so instead of blaming the access policy."""
    caplog.set_level(logging.WARNING, logger="kartiba.teams")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        register_user(rsps)
        rsps.get(MEETING_URL, status=403, json={"error": {"code": "Forbidden",
                                                          "message": message}})
        ev = source.fetch(REF, START, END, TEACHER)
    assert (ev.found, ev.gap, ev.gap_detail) == (False, gap, detail)
    assert ("application access policy" in caplog.text) is blames_policy
    assert blames_policy or "organizer" in caplog.text


def test_a_decoded_link_is_looked_up_in_the_teams_encoded_form(source):
    decoded = unquote(JOIN_URL)
    ref = MeetingRef("teams", decoded, decoded)
    by_filter = responses.matchers.query_param_matcher
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        register_user(rsps)
        rsps.get(MEETING_URL, json={"value": []},
                 match=[by_filter({"$filter": f"JoinWebUrl eq '{decoded}'"})])
        rsps.get(MEETING_URL, json=load("online_meetings.json"),
                 match=[by_filter({"$filter": f"JoinWebUrl eq '{JOIN_URL}'"})])
        rsps.get(REPORTS_URL, json={"value": []})
        ev = source.fetch(ref, START, END, TEACHER)
    # the meeting was found under its encoded join URL (it then had no report of the lesson)
    assert not ev.found and ev.complete


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


def report(rid: str, start: dt.datetime, end: dt.datetime) -> dict:
    """An attendanceReport item (Graph's 7-digit fractional seconds)."""
    def stamp(t: dt.datetime) -> str:
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "1Z"
    return {"id": rid, "totalParticipantCount": 1, "meetingStartDateTime": stamp(start),
            "meetingEndDateTime": stamp(end)}


def source_at(now: dt.datetime):
    return build(settings(), now=now, stats=CallStats())


PREVIOUS = report("prev", START - dt.timedelta(minutes=55), START - dt.timedelta(minutes=10))


def test_a_running_session_is_not_ready_not_the_previous_lessons_report():
    """Defects 3 and 4: at the first run after the lesson its session still runs (no report
    yet); the previous lesson's report on the same link lies in the ±window but is not this
    lesson's evidence: no records are read, nothing is marked, the run retries."""
    source = source_at(END + dt.timedelta(minutes=30))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_meeting(rsps, {"value": [PREVIOUS]})
        ev = source.fetch(REF, START, END, TEACHER)
    assert (ev.gap, ev.gap_detail) == (EvidenceGap.REPORT_NOT_READY, "no_report_yet")
    assert ev.participants == () and not ev.complete


def test_no_report_of_the_lesson_after_the_window_is_not_found():
    source = source_at(END + dt.timedelta(hours=3))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_meeting(rsps, {"value": [PREVIOUS]})
        ev = source.fetch(REF, START, END, TEACHER)
    assert not ev.found and ev.complete and ev.instances == 0


@pytest.mark.parametrize(
    ("after_end", "gap"),
    [
        pytest.param(dt.timedelta(minutes=30), EvidenceGap.REPORT_NOT_READY, id="may-run-on"),
        pytest.param(dt.timedelta(hours=2), "", id="window-passed"),
    ],
)
def test_a_report_ending_before_the_lesson_waits_for_a_restart(after_end, gap):
    """The lesson's first session ended early; a restarted one may still be running."""
    first = report(REPORT1, START - dt.timedelta(minutes=2), START + dt.timedelta(minutes=20))
    source = source_at(END + after_end)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_meeting(rsps, {"value": [first]})
        if not gap:
            rsps.get(f"{REPORTS_URL}/{REPORT1}/attendanceRecords", json={"value": []})
        ev = source.fetch(REF, START, END, TEACHER)
    assert ev.gap == gap
    assert ev.sessions == (() if gap else (Segment(START - dt.timedelta(minutes=2),
                                                   START + dt.timedelta(minutes=20)),))


def test_a_lesson_older_than_the_50_listed_reports_is_not_visible():
    newer = [report(f"r{i}", START + dt.timedelta(days=i), START + dt.timedelta(days=i, hours=1))
             for i in range(1, 51)]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_meeting(rsps, {"value": newer})
        ev = source_at(NOW).fetch(REF, START, END, TEACHER)
    assert (ev.gap, ev.gap_detail) == (EvidenceGap.NOT_VISIBLE, "older_than_50_reports")


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
    assert not ev.found and ev.gap == EvidenceGap.ORGANIZER_UNREADABLE


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
        register_meeting(rsps, reports)
        rsps.get(f"{REPORTS_URL}/{REPORT1}/attendanceRecords", json=bad)
        ev = source.fetch(REF, START, END, TEACHER)
    assert [p.name for p in ev.participants] == ["Y"]
    assert "rec-bad" in caplog.text and "x@school.lv" not in caplog.text


@pytest.mark.parametrize("after_min", [120, 0])
def test_only_the_report_overlapping_the_lesson_counts_whatever_the_window(after_min):
    """Defect 3: the session right after the lesson on the same link (in the ±window) is
    not this lesson's evidence; the policy window no longer decides it."""
    source = build(settings(), now=NOW, policy_after_min=after_min, stats=CallStats())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_lesson(rsps)
        ev = source.fetch(REF, START, END, TEACHER)
    assert ev.instances == 1
    janis = next(p for p in ev.participants if p.name == "Jānis Bērziņš")
    assert janis.segments[-1].end <= utc(7, 47)
