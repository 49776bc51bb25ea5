"""Meet evidence: window, per-person grouping, merged sessions, guests, retention, cache."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest
import responses

from connectors._http import CallStats
from connectors.base import MeetingSource
from connectors.errors import ConfigError
from connectors.meet import build
from connectors.meet.models import ConferenceRecord, MeetParticipant, ParticipantSession
from connectors.meet.source import meeting_code, person_key, session_segments
from mappings.model import EvidenceGap, MeetingRef, Segment, Teacher
from tests.connectors.meet.conftest import (
    API,
    CONFERENCE,
    NOW,
    SUBJECT,
    TOKEN_URL,
    assertion_subjects,
    load,
    settings,
)

RIGA = ZoneInfo("Europe/Riga")
UTC = dt.UTC
REF = MeetingRef(platform="meet", key="abc-defg-hij", url="https://meet.google.com/abc-defg-hij")
TEACHER = Teacher(id="t2", name="Pēteris Ozols", email="peteris.ozols@school.lv")
START = dt.datetime(2026, 11, 30, 11, 0, tzinfo=RIGA)
END = dt.datetime(2026, 11, 30, 11, 45, tzinfo=RIGA)


def seg(a: tuple[int, int], b: tuple[int, int]) -> Segment:
    return Segment(dt.datetime(2026, 11, 30, *a, tzinfo=UTC), dt.datetime(2026, 11, 30, *b, tzinfo=UTC))


def register_lesson(rsps: responses.RequestsMock) -> None:
    """Answers for the 11:00 lesson; the previous day's conference is listed but its
    participants must not be fetched."""
    rsps.post(TOKEN_URL, json=load("token.json"))
    rsps.get(f"{API}/conferenceRecords", json=load("conference_records.json"))
    participants = f"{API}/{CONFERENCE}/participants"
    rsps.get(participants, json=load("participants_page1.json"),
             match=[responses.matchers.query_param_matcher({"pageSize": "250"})])
    rsps.get(participants, json=load("participants_page2.json"),
             match=[responses.matchers.query_param_matcher(
                 {"pageSize": "250", "pageToken": "CgwI0KKfugYQwNaIhwMSBDEwMDI"})])
    for pid in ("1001", "1002", "1003", "1004"):
        rsps.get(f"{API}/{CONFERENCE}/participants/{pid}/participantSessions",
                 json=load(f"sessions_{pid}.json"))


def test_source_implements_the_meeting_source_protocol(source):
    assert isinstance(source, MeetingSource)
    assert source.platform == "meet"


def test_fetch_builds_one_participant_per_person(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_lesson(rsps)
        ev = source.fetch(REF, START, END, TEACHER)
    assert ev.found and ev.complete and ev.instances == 1 and ev.chat is None
    assert (ev.host_email, ev.host_name) == (TEACHER.email, TEACHER.name)
    assert ev.sessions == (Segment(dt.datetime(2026, 11, 30, 8, 58, 0, 361233, tzinfo=UTC),
                                   dt.datetime(2026, 11, 30, 9, 47, 0, 118901, tzinfo=UTC)),)
    got = {p.name: (p.email, p.platform_id, p.segments) for p in ev.participants}
    assert got == {
        "Pēteris Ozols": ("", "users/110923849392310498231", (seg((8, 58), (9, 47)),)),
        # a rejoin after a one-minute gap stays two segments
        "Jānis Bērziņš": ("", "users/104438291023984712345",
                          (seg((9, 2), (9, 15)), seg((9, 16), (9, 40)))),
        # anonymous: no id, only a display name
        "Anna L": ("", "", (seg((9, 5), (9, 45)),)),
        # phone user without sessions: first join to last leave
        "+371 ***-**-12": ("", "", (seg((9, 3), (9, 30)),)),
    }


def test_joint_lessons_cost_one_fetch(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_lesson(rsps)
        first = source.fetch(REF, START, END, TEACHER)
        calls = len(rsps.calls)
        assert source.fetch(REF, START, END, TEACHER).participants == first.participants
        assert len(rsps.calls) == calls


def test_same_user_over_two_conferences_is_one_participant(source):
    records = {"conferenceRecords": [
        {"name": "conferenceRecords/c1", "startTime": "2026-11-30T09:00:00Z",
         "endTime": "2026-11-30T09:20:00Z"},
        {"name": "conferenceRecords/c2", "startTime": "2026-11-30T09:21:00Z",
         "endTime": "2026-11-30T09:45:00Z"}]}
    user = {"user": "users/42", "displayName": "Jānis Bērziņš"}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", json=records)
        for conf, (a, b) in (("c1", ("09:01", "09:20")), ("c2", ("09:21", "09:40"))):
            rsps.get(f"{API}/conferenceRecords/{conf}/participants",
                     json={"participants": [{"name": f"conferenceRecords/{conf}/participants/p",
                                             "signedinUser": user}]})
            rsps.get(f"{API}/conferenceRecords/{conf}/participants/p/participantSessions",
                     json={"participantSessions": [
                         {"startTime": f"2026-11-30T{a}:00Z", "endTime": f"2026-11-30T{b}:00Z"}]})
        ev = source.fetch(REF, START, END, TEACHER)
    assert ev.instances == 2
    assert [(p.platform_id, p.segments) for p in ev.participants] == [
        ("users/42", (seg((9, 1), (9, 20)), seg((9, 21), (9, 40))))]


def test_an_ongoing_conference_is_meeting_running_without_reading_participants(source):
    records = {"conferenceRecords": [{"name": "conferenceRecords/live",
                                      "startTime": "2026-11-30T08:59:00Z"}]}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", json=records)
        ev = source.fetch(REF, START, END, TEACHER)
    assert (ev.gap, ev.gap_detail) == (EvidenceGap.MEETING_RUNNING, "conference_without_end")
    assert not ev.complete and ev.participants == ()


def test_a_session_without_end_is_not_final(source):
    records = {"conferenceRecords": [{"name": "conferenceRecords/c1",
                                      "startTime": "2026-11-30T09:00:00Z",
                                      "endTime": "2026-11-30T09:45:00Z"}]}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", json=records)
        rsps.get(f"{API}/conferenceRecords/c1/participants", json={"participants": [
            {"name": "conferenceRecords/c1/participants/p",
             "earliestStartTime": "2026-11-30T09:01:00Z",
             "signedinUser": {"user": "users/7", "displayName": "Jānis"}}]})
        rsps.get(f"{API}/conferenceRecords/c1/participants/p/participantSessions",
                 json={"participantSessions": [{"startTime": "2026-11-30T09:01:00Z"}]})
        ev = source.fetch(REF, START, END, TEACHER)
    assert ev.gap == EvidenceGap.REPORT_NOT_READY and ev.participants == ()


def test_the_previous_lessons_conference_on_the_same_code_is_not_this_lessons(source):
    """Defect 3: a conference in [start - 30 min, end + 2 h] that does not overlap the lesson
    (the previous lesson's, on the same code) is not read as this lesson's evidence."""
    records = {"conferenceRecords": [{"name": "conferenceRecords/prev",
                                      "startTime": "2026-11-30T08:05:00Z",
                                      "endTime": "2026-11-30T08:50:00Z"}]}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", json=records)
        rsps.get(f"{API}/conferenceRecords", json=records)  # the fallback account sees it too
        ev = source.fetch(REF, START, END, TEACHER)
    assert not ev.found and ev.complete and ev.instances == 0


def test_the_lessons_teacher_is_impersonated(source):
    """Defect 2: Meet shows a conference only to its space owner or a participant."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        register_lesson(rsps)
        source.fetch(REF, START, END, TEACHER)
        assert assertion_subjects(rsps) == [TEACHER.email]


def test_the_fallback_account_is_asked_when_the_teacher_sees_nothing(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", json={})
        register_lesson(rsps)
        ev = source.fetch(REF, START, END, TEACHER)
        assert assertion_subjects(rsps) == [TEACHER.email, SUBJECT]
    assert ev.found and ev.instances == 1


@pytest.mark.parametrize(
    ("host", "gap"),
    [
        pytest.param(Teacher(id="t9", name="Bez Pasta", email=""),
                     EvidenceGap.ORGANIZER_UNREADABLE, id="teacher-without-email"),
        pytest.param(None, EvidenceGap.ORGANIZER_UNREADABLE, id="no-teacher"),
    ],
)
def test_without_anyone_to_act_as_the_evidence_is_a_gap(rsa_key, host, gap):
    source = build(settings(rsa_key, subject=""), now=NOW, stats=CallStats())
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        ev = source.fetch(REF, START, END, host)
    assert ev.gap == gap


def test_a_teacher_the_account_may_not_act_as_is_no_access(rsa_key):
    source = build(settings(rsa_key, subject=""), now=NOW, stats=CallStats())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant",
                                               "error_description": "Invalid email or User ID"})
        ev = source.fetch(REF, START, END, TEACHER)
        again = source.fetch(REF, START, END, TEACHER)  # refused once per run
    assert (ev.gap, ev.gap_detail) == (EvidenceGap.NO_ACCESS, "delegation_refused:invalid_grant")
    assert again == ev


def test_no_conference_in_the_window_is_not_found(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", json={})
        rsps.post(TOKEN_URL, json=load("token.json"))  # the fallback account
        rsps.get(f"{API}/conferenceRecords", json={})
        ev = source.fetch(REF, START, END, TEACHER)
    assert not ev.found and ev.complete and ev.participants == ()


@pytest.mark.parametrize(
    ("now", "found"),
    [
        pytest.param(END + dt.timedelta(days=29, hours=23), True, id="day-29-still-kept"),
        pytest.param(END + dt.timedelta(days=30, minutes=1), False, id="past-30-days"),
        pytest.param(END + dt.timedelta(days=90), False, id="long-gone"),
    ],
)
def test_records_older_than_retention_are_unavailable_without_calls(rsa_key, caplog, now, found):
    caplog.set_level(logging.INFO, logger="kartiba.meet")
    source = build(settings(rsa_key), now=now, stats=CallStats())
    with responses.RequestsMock(assert_all_requests_are_fired=found) as rsps:
        register_lesson(rsps)
        ev = source.fetch(REF, START, END, TEACHER)
    assert ev.found is found
    assert ("30 days" in caplog.text) is not found


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("not a code", id="garbage"),
        pytest.param('abc-defg-hij" OR x="', id="filter-injection"),
        pytest.param("abcd-efg-hij", id="wrong-grouping"),
    ],
)
def test_invalid_meeting_codes_are_invalid_links_without_calls(source, key):
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        ev = source.fetch(MeetingRef("meet", key, key), START, END, TEACHER)
    assert not ev.found and ev.gap == EvidenceGap.INVALID_LINK


def test_health_obtains_a_token(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        assert source.health().startswith("meet: ok")


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        pytest.param({"service_account_json": None}, "meet.service_account_file", id="no-key"),
    ],
)
def test_build_refuses_missing_settings(rsa_key, overrides, setting):
    with pytest.raises(ConfigError) as err:
        build(settings(rsa_key, **overrides))
    assert err.value.setting == setting


def test_naive_now_is_refused(rsa_key):
    with pytest.raises(ValueError):
        build(settings(rsa_key), now=NOW.replace(tzinfo=None))


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("key", "code"),
    [
        pytest.param("abc-defg-hij", "abc-defg-hij", id="canonical"),
        pytest.param(" ABC-DEFG-HIJ ", "abc-defg-hij", id="upper-and-spaces"),
        pytest.param("abcdefghij", "abc-defg-hij", id="without-dashes"),
        pytest.param("abc-defg-hi", None, id="too-short"),
        pytest.param("ab1-defg-hij", None, id="digit"),
    ],
)
def test_meeting_code(key, code):
    assert meeting_code(key) == code


@pytest.mark.parametrize(
    ("participant", "key"),
    [
        pytest.param({"signedinUser": {"user": "users/1", "displayName": "A"}}, ("user", "users/1"),
                     id="signed-in-by-user-id"),
        pytest.param({"anonymousUser": {"displayName": "Ānna"}}, ("anonymous", "ānna"),
                     id="anonymous-by-name"),
        pytest.param({"phoneUser": {"displayName": "+371 ***"}}, ("phone", "+371 ***"),
                     id="phone-by-masked-number"),
        pytest.param({"anonymousUser": {"displayName": ""}}, None, id="nameless"),
    ],
)
def test_person_key(participant, key):
    item = {"name": "conferenceRecords/c/participants/p", **participant}
    assert person_key(MeetParticipant.model_validate(item)) == key


CONF = ConferenceRecord.model_validate({"name": "conferenceRecords/c",
                                        "startTime": "2026-11-30T09:00:00Z",
                                        "endTime": "2026-11-30T09:45:00Z"})


@pytest.mark.parametrize(
    ("participant", "sessions", "segments"),
    [
        pytest.param({}, [{"startTime": "2026-11-30T09:01:00Z", "endTime": "2026-11-30T09:02:00Z"}],
                     [seg((9, 1), (9, 2))], id="closed"),
        pytest.param({}, [{"startTime": "2026-11-30T09:40:00Z"}], [seg((9, 40), (9, 45))],
                     id="open-ends-with-conference"),
        pytest.param({"latestEndTime": "2026-11-30T09:43:00Z"}, [{"startTime": "2026-11-30T09:40:00Z"}],
                     [seg((9, 40), (9, 43))], id="open-ends-with-latest-end"),
        pytest.param({"earliestStartTime": "2026-11-30T09:10:00Z",
                      "latestEndTime": "2026-11-30T09:20:00Z"}, [], [seg((9, 10), (9, 20))],
                     id="no-sessions-uses-first-and-last"),
        pytest.param({}, [], [], id="nothing-known"),
    ],
)
def test_session_segments(participant, sessions, segments):
    item = MeetParticipant.model_validate({"name": "conferenceRecords/c/participants/p",
                                           **participant})
    rows = [ParticipantSession.model_validate(s) for s in sessions]
    assert session_segments(item, rows, CONF) == segments
