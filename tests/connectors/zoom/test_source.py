"""ZoomMeetingSource: instance relevance, grouping per person, removals, chat, caching.

Kārtības 30. p. (presence, chat registration), 19. p. (removal by the teacher), 15. p. (joint
lessons share one meeting's evidence).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses
from responses import matchers

from connectors.base import MeetingSource
from connectors.errors import NotReadyError
from connectors.zoom.client import encode_uuid
from connectors.zoom.models import PastMeetingInstance
from connectors.zoom.source import (
    ZoomMeetingSource,
    fold_name,
    is_removal,
    merge_segments,
    relevant_instances,
)
from connectors.zoom.webhook import WebhookReceiver
from mappings.model import MeetingRef, Segment, Teacher
from tests.connectors.zoom.fakes import (
    API,
    NOW,
    OAUTH,
    WEBHOOK_SECRET,
    FakeLedger,
    fixture,
    fixture_bytes,
    make_client,
    signed_headers,
)

UTC = dt.UTC
MEETING = "81234567890"
UUID = "mY8kS0v3R9q2vN6eLw1b4A=="
REF = MeetingRef("zoom", MEETING, f"https://zoom.us/j/{MEETING}")
TEACHER = Teacher("t1", "Ilze Kalniņa", "ilze.kalnina@school.lv")
LESSON = (dt.datetime(2026, 11, 30, 7, 0, tzinfo=UTC), dt.datetime(2026, 11, 30, 7, 45, tzinfo=UTC))


def _t(hh: int, mm: int, ss: int = 0, day: int = 30) -> dt.datetime:
    return dt.datetime(2026, 11, day, hh, mm, ss, tzinfo=UTC)


def _instance(uuid: str, start: dt.datetime) -> PastMeetingInstance:
    return PastMeetingInstance(uuid=uuid, start_time=start)


# ----------------------------------------------------------------------------- pure parts

PMI = [  # a personal meeting room used for several lessons a day (UTC; Riga is +02:00)
    _instance("prev-day", _t(12, 1, day=29)),
    _instance("first", _t(6, 5, 11)),
    _instance("second", _t(8, 56, 40)),
    _instance("third", _t(10, 52, 3)),
]


@pytest.mark.parametrize(("start", "end", "expected"), [
    pytest.param(_t(6, 0), _t(6, 45), ["first"], id="first-lesson-prev-day-too-old"),
    pytest.param(_t(9, 0), _t(9, 45), ["second"],
                 id="earlier-instance-ended-before-the-next-started-never-judged"),
    pytest.param(_t(8, 50), _t(9, 35), ["first", "second"],
                 id="earlier-instance-may-run-into-the-lesson"),
    pytest.param(_t(11, 30), _t(12, 15), ["third"], id="only-the-latest-may-run-into"),
    pytest.param(_t(9, 0, day=1).replace(month=12), _t(9, 45, day=1).replace(month=12), [],
                 id="next-day-latest-over-12h-before"),
    pytest.param(_t(10, 7, 3), _t(10, 52, 3), ["second"], id="starting-at-the-lesson-end-is-out"),
    pytest.param(_t(8, 56, 40), _t(9, 41, 40), ["second"],
                 id="next-starting-at-the-lesson-start-excludes-the-earlier"),
])
def test_relevant_instances_of_a_pmi(start, end, expected) -> None:
    got = relevant_instances(PMI, start, end)
    assert [i.uuid for i in got] == expected


@pytest.mark.parametrize(("reason", "removed"), [
    pytest.param("removed by host", True, id="removed-by-host"),
    pytest.param("Jānis left the meeting. Reason: Removed by host", True, id="prefixed"),
    pytest.param("Host removed the participant", True, id="host-removed"),
    pytest.param("The participant was REMOVED by the co-host", True, id="co-host-upper"),
    pytest.param("left the meeting", False, id="left"),
    pytest.param("Host ended the meeting", False, id="host-ended"),
    pytest.param("Got disconnected from the meeting", False, id="disconnected"),
    pytest.param("removed from the breakout room", False, id="breakout-no-host"),
    pytest.param("", False, id="empty"),
])
def test_is_removal(reason: str, removed: bool) -> None:
    assert is_removal(reason) is removed


@pytest.mark.parametrize(("name", "folded"), [
    pytest.param("Jānis  Bērziņš", "janis berzins", id="latvian-diacritics"),
    pytest.param(" ĢIRTS Ķēniņš ", "girts kenins", id="upper-and-spaces"),
    pytest.param("Anna-Marija", "anna-marija", id="hyphen-kept"),
])
def test_fold_name(name: str, folded: str) -> None:
    assert fold_name(name) == folded


def test_merge_segments_joins_overlaps_and_keeps_gaps() -> None:
    got = merge_segments([Segment(_t(7, 29, 30), _t(7, 45)), Segment(_t(7, 2), _t(7, 30)),
                          Segment(_t(7, 50), _t(7, 55)), Segment(_t(7, 45), _t(7, 46))])
    assert got == (Segment(_t(7, 2), _t(7, 46)), Segment(_t(7, 50), _t(7, 55)))


# ----------------------------------------------------------------------------- fetch


def _source(ledger: FakeLedger | None = None, workers: int = 4) -> tuple[ZoomMeetingSource, object]:
    client, stats = make_client(plan="business")
    return ZoomMeetingSource(client, webhooks=ledger, max_workers=workers), stats


def _register_meeting(mock: responses.RequestsMock, instances: list[tuple[str, str]]) -> None:
    mock.get(f"{API}/past_meetings/{MEETING}/instances",
             json={"meetings": [{"uuid": u, "start_time": s} for u, s in instances]})


def _register_fixture_report(mock: responses.RequestsMock, uuid: str = UUID) -> None:
    url = f"{API}/report/meetings/{encode_uuid(uuid)}/participants"
    mock.get(url, json=fixture("participants_page1.json"),
             match=[matchers.query_param_matcher({"page_size": "300"})])
    mock.get(url, json=fixture("participants_page2.json"), match=[matchers.query_param_matcher(
        {"page_size": "300", "next_page_token": "Tva2K9uF6sQmPq8nR3wXcLdYbZ7hJ1gE0"})])


def _register_recording(mock: responses.RequestsMock, uuid: str = UUID,
                        chat: bytes | None = None) -> None:
    url = f"{API}/meetings/{encode_uuid(uuid)}/recordings"
    if chat is None:
        mock.get(url, status=404, json=fixture("error_3301.json"))
        return
    mock.get(url, json=fixture("recordings.json"))
    mock.get("https://zoom.us/rec/download/ChatDownloadToken", body=chat)


def _deliver(ledger: FakeLedger, *names: str) -> None:
    receiver = WebhookReceiver(WEBHOOK_SECRET, ledger, clock=lambda: NOW)
    for name in names:
        body = json.dumps(fixture(name)).encode()
        assert receiver.handle(signed_headers(body, str(int(NOW))), body)[0] == 200


def test_source_implements_the_protocol() -> None:
    source, _ = _source()
    assert isinstance(source, MeetingSource)
    assert source.platform == "zoom"


def test_fetch_groups_people_and_reads_removals_and_chat() -> None:
    ledger = FakeLedger()
    _deliver(ledger, "webhook_participant_left_removed.json", "webhook_chat_message_sent.json")
    source, stats = _source(ledger)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        _register_fixture_report(mock)
        _register_recording(mock, chat=fixture_bytes("chat_recording.txt"))
        evidence = source.fetch(REF, *LESSON, TEACHER)
    assert evidence.found and evidence.instances == 1
    assert (evidence.host_email, evidence.host_name) == (TEACHER.email, TEACHER.name)
    people = {p.name: p for p in evidence.participants}
    assert sorted(people) == ["Anna Liepa", "Ilze Kalniņa", "Jānis Bērziņš"]
    janis = people["Jānis Bērziņš"]  # guest: no e-mail, no id; rejoined under another spelling
    assert (janis.email, janis.platform_id) == ("", "")
    assert janis.segments == (Segment(_t(7, 1, 2), _t(7, 20, 45)),
                              Segment(_t(7, 21, 30), _t(7, 46, 10)))  # waiting room excluded
    assert janis.removed_by_host is True
    anna = people["Anna Liepa"]  # same e-mail in another case, overlapping phone session
    assert anna.email == "anna.liepa@audzekni.school.lv"
    assert anna.platform_id == "Qw9xLr2mS3aT4bU5cV6dWe"
    assert anna.segments == (Segment(_t(7, 2), _t(7, 45)),)
    assert anna.removed_by_host is False
    assert people["Ilze Kalniņa"].removed_by_host is False
    assert evidence.chat is not None
    assert [(c.name, c.email) for c in evidence.chat] == [
        ("Ilze Kalniņa", ""), ("Jānis Bērziņš", ""),
        ("Anna Liepa", "anna.liepa@audzekni.school.lv"),  # webhook = the file's line: one
        ("Ilze Kalniņa", "")]
    assert {c.text for c in evidence.chat if c.email} == {""}  # webhook text never stored
    assert [c.at for c in evidence.chat] == sorted(c.at for c in evidence.chat)
    assert stats.calls["zoom"] == 1 + 1 + 2 + 1 + 1  # token, instances, 2 pages, rec., file


def test_webhook_chat_duplicating_the_recording_is_dropped() -> None:
    ledger = FakeLedger()
    _deliver(ledger, "webhook_chat_message_sent.json")
    chat = "00:03:45\tAnna Liepa:\tAnna Liepa, ET-22, klātesoša\n".encode()  # 07:02:05
    source, _ = _source(ledger)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        _register_fixture_report(mock)
        _register_recording(mock, chat=chat)
        evidence = source.fetch(REF, *LESSON, TEACHER)
    assert evidence.chat is not None
    assert [(c.name, c.email) for c in evidence.chat] == [
        ("Anna Liepa", "anna.liepa@audzekni.school.lv")]


@pytest.mark.parametrize(("chat", "events", "expected"), [
    pytest.param(None, (), None, id="no-recording-no-webhooks-is-none"),
    pytest.param(b"", (), (), id="empty-chat-file-is-empty"),
    pytest.param(None, ("webhook_chat_message_sent.json",), ("Anna Liepa",), id="webhook-only"),
])
def test_chat_presence(chat, events, expected) -> None:
    ledger = FakeLedger()
    _deliver(ledger, *events)
    source, _ = _source(ledger)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        _register_fixture_report(mock)
        _register_recording(mock, chat=chat)
        evidence = source.fetch(REF, *LESSON, TEACHER)
    got = None if evidence.chat is None else tuple(c.name for c in evidence.chat)
    assert got == expected


def test_without_need_chat_no_recordings_are_requested() -> None:
    source, stats = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        _register_fixture_report(mock)
        evidence = source.fetch(REF, *LESSON, TEACHER, need_chat=False)
    assert evidence.chat is None
    assert len(evidence.participants) == 3
    assert stats.calls["zoom"] == 4


def test_restarted_meeting_merges_two_instances_per_person() -> None:
    second = "/Xq3pT7wQ2iZ+eK9vR4hUg=="
    anna_again = dict(fixture("participants_page2.json")["participants"][1],
                      join_time="2026-11-30T07:45:30Z", leave_time="2026-11-30T07:55:00Z")
    source, _ = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z"), (second, "2026-11-30T07:44:00Z")])
        _register_fixture_report(mock)
        mock.get(f"{API}/report/meetings/{encode_uuid(second)}/participants",
                 json={"page_count": 1, "page_size": 300, "total_records": 1,
                       "next_page_token": "", "participants": [anna_again]})
        evidence = source.fetch(REF, *LESSON, TEACHER, need_chat=False)
    assert evidence.instances == 2
    assert evidence.sessions == (Segment(_t(6, 58, 12), _t(7, 47, 30)),
                                 Segment(_t(7, 44), _t(7, 55)))
    assert len(evidence.participants) == 3  # nobody duplicated across the two instances
    anna = next(p for p in evidence.participants if p.platform_id == "Qw9xLr2mS3aT4bU5cV6dWe")
    assert anna.segments == (Segment(_t(7, 2), _t(7, 45)),  # raw, not clipped to the lesson
                             Segment(_t(7, 45, 30), _t(7, 55)))


def test_not_ended_instance_raises_not_ready() -> None:
    source, _ = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        mock.get(f"{API}/report/meetings/{encode_uuid(UUID)}/participants", status=404,
                 json=fixture("error_3001.json"))
        with pytest.raises(NotReadyError):
            source.fetch(REF, *LESSON, TEACHER, need_chat=False)


def test_unknown_meeting_and_no_instance_in_window_are_not_found() -> None:
    source, stats = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        mock.get(f"{API}/past_meetings/{MEETING}/instances", status=404,
                 json={"code": 3001, "message": f"Meeting does not exist: {MEETING}."})
        missing = source.fetch(REF, *LESSON, TEACHER)
        again = source.fetch(REF, *LESSON, None)  # cached: no second call
    assert (missing.found, again.found) == (False, False)
    assert missing.host_email == TEACHER.email and again.host_email == ""
    assert stats.calls["zoom"] == 2
    other = MeetingRef("zoom", "99911122233", "https://zoom.us/j/99911122233")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{API}/past_meetings/99911122233/instances",
                 json={"meetings": [{"uuid": "old", "start_time": "2026-11-20T07:00:00Z"}]})
        mock.get(f"{API}/meetings/99911122233", json={"id": 99911122233, "status": "waiting"})
        assert source.fetch(other, *LESSON, TEACHER).found is False


def test_joint_lessons_reuse_cached_instances_and_reports() -> None:
    source, stats = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        _register_fixture_report(mock)
        _register_recording(mock, chat=b"00:00:01\tA:\tx\n")
        first = source.fetch(REF, *LESSON, TEACHER)
        second = source.fetch(REF, *LESSON, TEACHER)  # the other group's timetable lesson
    assert first == second
    assert stats.calls["zoom"] == 6


def test_malformed_report_rows_are_reported_not_fatal() -> None:
    page = fixture("participants_page2.json")
    page["participants"][0] = dict(page["participants"][0], join_time="2026-11-30T07:50:00Z")
    source, _ = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        mock.get(f"{API}/report/meetings/{encode_uuid(UUID)}/participants", json=page)
        evidence = source.fetch(REF, *LESSON, TEACHER, need_chat=False)
    assert [p.email for p in evidence.participants] == ["Anna.Liepa@audzekni.school.lv"]
    assert [e.record for e in source.record_errors] == [f"instance {UUID} session 16782336"]


def test_removal_matches_by_email_before_name() -> None:
    ledger = FakeLedger()
    event = fixture("webhook_participant_left_removed.json")
    event["payload"]["object"]["participant"].update(
        {"user_name": "Anna Liepa", "email": "anna.liepa@audzekni.school.lv"})
    body = json.dumps(event).encode()
    WebhookReceiver(WEBHOOK_SECRET, ledger, clock=lambda: NOW).handle(signed_headers(body, str(int(NOW))), body)
    page = fixture("participants_page2.json")
    namesake = dict(page["participants"][0], name="Anna Liepa")  # a guest with the same name
    page["participants"] = [namesake, page["participants"][1]]
    source, _ = _source(ledger)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        mock.get(f"{API}/report/meetings/{encode_uuid(UUID)}/participants", json=page)
        evidence = source.fetch(REF, *LESSON, TEACHER, need_chat=False)
    flags = {(p.email, p.removed_by_host) for p in evidence.participants}
    assert flags == {("", False), ("Anna.Liepa@audzekni.school.lv", True)}


def test_logs_carry_ids_and_counts_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    source, _ = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        _register_fixture_report(mock)
        _register_recording(mock, chat=fixture_bytes("chat_recording.txt"))
        source.fetch(REF, *LESSON, TEACHER)
    assert MEETING in caplog.text
    for personal in ("Jānis", "Anna", "Ilze", "@", "klātes", "access_token", "eyJ"):
        assert personal not in caplog.text


# ----------------------------------------------------------------------------- ended or not

MORNING = "Mo7rN1nG2iNsT3aNcE4xYz=="  # the teacher's earlier lesson on the same link


def _report(mock: responses.RequestsMock, uuid: str, *rows: tuple[str, str, str]) -> None:
    """A one-page report: rows of (e-mail, join, leave)."""
    people = [{"id": "", "user_id": str(16778240 + i), "name": f"P{i}", "user_email": email,
               "join_time": join, "leave_time": leave, "status": "in_meeting"}
              for i, (email, join, leave) in enumerate(rows)]
    mock.get(f"{API}/report/meetings/{encode_uuid(uuid)}/participants",
             json={"page_count": 1, "page_size": 300, "total_records": len(people),
                   "next_page_token": "", "participants": people})


def _status(mock: responses.RequestsMock, status: str | None) -> None:
    if status is None:
        mock.get(f"{API}/meetings/{MEETING}", status=404,
                 json={"code": 3001, "message": f"Meeting does not exist: {MEETING}."})
    else:
        mock.get(f"{API}/meetings/{MEETING}", json={"id": int(MEETING), "status": status})


def test_earlier_ended_instance_is_never_judged_while_the_lessons_own_runs() -> None:
    """Issue 11: the morning instance is listed, the lesson's own instance still runs."""
    source, stats = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(MORNING, "2026-11-30T05:50:00Z")])
        _report(mock, MORNING, ("a@x.lv", "2026-11-30T05:50:00Z", "2026-11-30T06:35:00Z"))
        _status(mock, "started")
        with pytest.raises(NotReadyError) as caught:
            source.fetch(REF, *LESSON, TEACHER)
        with pytest.raises(NotReadyError):  # a joint lesson: everything cached
            source.fetch(REF, *LESSON, None)
    assert caught.value.gap == "meeting_running"
    assert stats.calls["zoom"] == 4  # token, instances, the morning report, status once


def test_earlier_instance_ended_and_meeting_idle_is_not_found() -> None:
    source, _ = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(MORNING, "2026-11-30T05:50:00Z")])
        _report(mock, MORNING, ("a@x.lv", "2026-11-30T05:50:00Z", "2026-11-30T06:35:00Z"))
        _status(mock, "waiting")
        assert source.fetch(REF, *LESSON, TEACHER).found is False


def test_nothing_listed_and_meeting_started_is_running() -> None:
    source, stats = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [])
        _status(mock, "started")
        with pytest.raises(NotReadyError) as caught:
            source.fetch(REF, *LESSON, TEACHER)
    assert caught.value.gap == "meeting_running"
    assert stats.calls["zoom"] == 3


def test_own_instance_listed_with_the_morning_one_judges_only_its_own() -> None:
    """Second run: the lesson's instance has ended; the morning one is not even fetched."""
    source, stats = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(MORNING, "2026-11-30T05:50:00Z"), (UUID, "2026-11-30T06:58:12Z")])
        _register_fixture_report(mock)
        evidence = source.fetch(REF, *LESSON, TEACHER, need_chat=False)
    assert evidence.found and evidence.instances == 1
    assert evidence.sessions == (Segment(_t(6, 58, 12), _t(7, 47, 30)),)  # start..last leave
    assert stats.calls["zoom"] == 4  # token, instances, 2 pages: no status call


@pytest.mark.parametrize(("status", "outcome"), [
    pytest.param("started", "meeting_running", id="restarted-instance-running"),
    pytest.param("waiting", "found", id="teacher-ended-early"),
    pytest.param(None, "found", id="meeting-gone-3001"),
])
def test_instance_ending_inside_the_lesson_asks_whether_the_meeting_runs(status, outcome) -> None:
    source, stats = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:00Z")])
        _report(mock, UUID, ("a@x.lv", "2026-11-30T06:58:00Z", "2026-11-30T07:20:00Z"))
        _status(mock, status)
        if outcome == "meeting_running":
            with pytest.raises(NotReadyError) as caught:
                source.fetch(REF, *LESSON, TEACHER, need_chat=False)
            assert caught.value.gap == outcome
        else:
            evidence = source.fetch(REF, *LESSON, TEACHER, need_chat=False)
            assert evidence.found and evidence.instances == 1
            assert evidence.sessions == (Segment(_t(6, 58), _t(7, 20)),)  # ended early
    assert stats.calls["zoom"] == 4


def test_instance_ended_after_the_lesson_means_no_status_call() -> None:
    """An ended instance that started after the lesson end: a running one started later."""
    source, stats = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:00Z"), (MORNING, "2026-11-30T09:00:00Z")])
        _report(mock, UUID, ("a@x.lv", "2026-11-30T06:58:00Z", "2026-11-30T07:20:00Z"))
        evidence = source.fetch(REF, *LESSON, TEACHER, need_chat=False)
    assert evidence.found and evidence.instances == 1
    assert stats.calls["zoom"] == 3


def test_listed_instance_without_report_is_report_not_ready() -> None:
    source, _ = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(UUID, "2026-11-30T06:58:12Z")])
        mock.get(f"{API}/report/meetings/{encode_uuid(UUID)}/participants", status=404,
                 json=fixture("error_3001.json"))
        with pytest.raises(NotReadyError) as caught:
            source.fetch(REF, *LESSON, TEACHER, need_chat=False)
    assert caught.value.gap == "report_not_ready"


@pytest.mark.parametrize("uuid", [
    pytest.param("Md5dW2c/N4nR6xF9sU3zV7==", id="single-slash-middle-encoded-once"),
    pytest.param("/Xq3pT7wQ2iZ+eK9vR4hUg==", id="leading-slash-encoded-twice"),
    pytest.param("Ab1//Cd2Ef3Gh4Ij5Kl6M==", id="double-slash-encoded-twice"),
])
def test_uuid_with_slashes_reaches_the_same_outcome(uuid: str) -> None:
    source, _ = _source()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=fixture("token.json"))
        _register_meeting(mock, [(uuid, "2026-11-30T06:58:12Z")])
        once = uuid.replace("/", "%2F").replace("=", "%3D").replace("+", "%2B")
        segment = once.replace("%", "%25") if uuid.startswith("/") or "//" in uuid else once
        mock.get(f"{API}/report/meetings/{segment}/participants", status=404,
                 json={"code": 3001, "message": f"Meeting does not exist: {uuid}."})
        with pytest.raises(NotReadyError) as caught:
            source.fetch(REF, *LESSON, TEACHER, need_chat=False)
    assert caught.value.gap == "report_not_ready"
