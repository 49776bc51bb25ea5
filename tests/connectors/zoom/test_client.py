"""ZoomClient: UUID encoding, paging, Zoom error codes, rate limits, recordings, downloads."""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote

import pytest
import responses
from responses import matchers

from connectors._http import LimiterRegistry
from connectors.errors import (
    NotFoundError,
    NotReadyError,
    ProtocolError,
    RateLimitedError,
    TransientError,
)
from connectors.zoom.client import (
    HEADROOM,
    HEAVY_DAILY_CAP,
    PLAN_RATES,
    Category,
    encode_uuid,
    plan_limiters,
)
from tests.connectors.zoom.fakes import API, OAUTH, FakeClock, fixture, make_client


def _token(mock: responses.RequestsMock) -> None:
    mock.post(OAUTH, json=fixture("token.json"))


def _report_url(uuid: str) -> str:
    return f"{API}/report/meetings/{encode_uuid(uuid)}/participants"


def _rows(n: int, start: dt.datetime) -> list[dict]:
    out = []
    for i in range(n):
        join = start + dt.timedelta(seconds=i)
        out.append({"id": "", "user_id": str(16778240 + i), "name": f"Viesis {i}",
                    "user_email": "", "join_time": join.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "leave_time": (join + dt.timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "duration": 2400, "status": "in_meeting", "registrant_id": "",
                    "participant_user_id": "", "customer_key": "", "failover": False})
    return out


@pytest.mark.parametrize(("uuid", "segment"), [
    pytest.param("4444AAAiAAAAAiAiAiiAii==", "4444AAAiAAAAAiAiAiiAii%3D%3D", id="plain"),
    pytest.param("ab+cd/ef==", "ab%2Bcd%2Fef%3D%3D", id="single-slash-inside-once"),
    pytest.param("/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875%253D%253D",
                 id="leading-slash-twice"),
    pytest.param("ab//cd==", "ab%252F%252Fcd%253D%253D", id="double-slash-twice"),
])
def test_encode_uuid(uuid: str, segment: str) -> None:
    assert encode_uuid(uuid) == segment
    decoded = unquote(segment)
    if "%" in decoded:  # what Zoom does with a double-encoded segment
        decoded = unquote(decoded)
    assert decoded == uuid


@pytest.mark.parametrize("uuid", [
    pytest.param("mY8kS0v3R9q2vN6eLw1b4A==", id="one-level"),
    pytest.param("/Xq3pT7wQ2iZ+eK9vR4hUg==", id="two-level-leading-slash"),
    pytest.param("kL2n//Pq8sT1uV5wX9yZ0a==", id="two-level-double-slash"),
])
def test_participants_path_is_encoded_on_the_wire(uuid: str) -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(_report_url(uuid), json=fixture("participants_page2.json"))
        rows = list(client.participants(uuid))
        path = mock.calls[1].request.path_url
    assert len(rows) == 2
    assert path.startswith(f"/v2/report/meetings/{encode_uuid(uuid)}/participants?")


@pytest.mark.parametrize(("total", "pages"), [
    pytest.param(1, 1, id="one-row"),
    pytest.param(300, 1, id="exactly-one-page"),
    pytest.param(301, 2, id="one-over"),
    pytest.param(650, 3, id="650-rows-3-pages"),
])
def test_participants_pages_until_the_token_is_empty(total: int, pages: int) -> None:
    client, stats = make_client(plan="business")
    rows = _rows(total, dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC))
    uuid = "mY8kS0v3R9q2vN6eLw1b4A=="
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        for page in range(pages):
            query = {"page_size": "300"}
            if page:
                query["next_page_token"] = f"tok{page}"
            mock.get(_report_url(uuid), match=[matchers.query_param_matcher(query)], json={
                "page_count": pages, "page_size": 300, "total_records": total,
                "next_page_token": f"tok{page + 1}" if page + 1 < pages else "",
                "participants": rows[page * 300:(page + 1) * 300]})
        got = list(client.participants(uuid))
    assert [r.user_id for r in got] == [r["user_id"] for r in rows]
    assert stats.calls["zoom"] == 1 + pages


def test_malformed_rows_are_reported_and_skipped() -> None:
    client, _ = make_client()
    page = fixture("participants_page2.json")
    broken = dict(page["participants"][0], join_time="yesterday", user_id="16799999")
    naive = dict(page["participants"][1], leave_time="2026-11-30T07:45:00")
    page["participants"] = [broken, *page["participants"], naive]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(_report_url("u1"), json=page)
        rows = list(client.participants("u1"))
    assert [r.user_id for r in rows] == ["16782336", "16783360"]
    assert [e.record for e in client.record_errors] == ["instance u1 page 1 row 0",
                                                        "instance u1 page 1 row 3"]
    assert all(e.system == "zoom" for e in client.record_errors)
    assert "anna" not in " ".join(e.detail.lower() for e in client.record_errors)


@pytest.mark.parametrize("status", [pytest.param(404, id="404"), pytest.param(400, id="400")])
def test_report_3001_is_not_ready(status: int) -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(_report_url("u1"), status=status, json=fixture("error_3001.json"))
        with pytest.raises(NotReadyError):
            list(client.participants("u1"))


def test_unknown_meeting_id_is_not_found() -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(f"{API}/past_meetings/999/instances", status=404,
                 json={"code": 3001, "message": "Meeting does not exist: 999."})
        with pytest.raises(NotFoundError):
            client.instances("999")


def test_expired_page_token_is_transient() -> None:
    client, _ = make_client()
    first = fixture("participants_page1.json")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(_report_url("u1"), json=first,
                 match=[matchers.query_param_matcher({"page_size": "300"})])
        mock.get(_report_url("u1"), status=400, json=fixture("error_page_token.json"))
        with pytest.raises(TransientError):
            list(client.participants("u1"))


def test_a_repeated_page_token_stops_paging() -> None:
    client, _ = make_client()
    page = dict(fixture("participants_page1.json"), next_page_token="same")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(_report_url("u1"), json=page)
        with pytest.raises(ProtocolError):
            list(client.participants("u1"))


def test_retry_after_seconds_is_waited_then_retried() -> None:
    sleeps: list[float] = []
    paced: list[float] = []
    client, stats = make_client(sleeps=sleeps, limiter_sleeps=paced)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(_report_url("u1"), status=429, json=fixture("error_429_qps.json"), headers={
            "Retry-After": "2", "X-RateLimit-Category": "Heavy", "X-RateLimit-Type": "QPS",
            "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0"})
        mock.get(_report_url("u1"), json=fixture("participants_page2.json"))
        rows = list(client.participants("u1"))
    assert len(rows) == 2
    assert sleeps == [2.0]
    assert paced and max(paced) >= 2.0  # the Heavy bucket was emptied for other threads too
    assert stats.rate_limited["zoom"] == 1


def test_retry_after_iso_date_of_the_daily_cap_fails_and_blocks_the_category() -> None:
    sleeps: list[float] = []
    clock = FakeClock()
    client, stats = make_client(sleeps=sleeps, clock=clock)
    reset = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(_report_url("u1"), status=429, json=fixture("error_429_daily.json"), headers={
            "Retry-After": reset, "X-RateLimit-Category": "Heavy",
            "X-RateLimit-Type": "Daily-limit", "X-RateLimit-Limit": "30000",
            "X-RateLimit-Remaining": "0"})
        with pytest.raises(RateLimitedError) as info:
            list(client.participants("u1"))
        assert 4 * 3600 < info.value.retry_after <= 5 * 3600
        with pytest.raises(RateLimitedError):  # refused here, no second 429 spent
            list(client.participants("u2"))
        mock.get(f"{API}/past_meetings/1/instances", json={"meetings": []})
        assert client.instances("1") == []  # other categories still work
    assert sleeps == []
    assert stats.calls["zoom"] == 3
    clock.now += 5 * 3600 + 1
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)  # the hour-long token has expired meanwhile too
        mock.get(_report_url("u2"), json=fixture("participants_page2.json"))
        assert len(list(client.participants("u2"))) == 2


@pytest.mark.parametrize("plan", [pytest.param("pro", id="pro"),
                                  pytest.param("business", id="business")])
def test_limiters_per_category_follow_the_plan(plan: str) -> None:
    registry = LimiterRegistry()
    limiters = plan_limiters("acc", plan, registry)
    assert {c: limiters[c].rate for c in Category} == {
        c: rate * HEADROOM for c, rate in PLAN_RATES[plan].items()}
    assert all(limiters[c].rate < PLAN_RATES[plan][c] for c in Category)
    assert all(limiter.burst == 1.0 for limiter in limiters.values())
    assert plan_limiters("acc", plan, registry)[Category.HEAVY] is limiters[Category.HEAVY]
    assert plan_limiters("other", plan, registry)[Category.HEAVY] is not limiters[Category.HEAVY]
    assert HEAVY_DAILY_CAP[plan] in (30_000, 60_000)


def test_instances_are_parsed_and_malformed_ones_skipped() -> None:
    client, _ = make_client()
    body = fixture("instances_pmi.json")
    body["meetings"].append({"uuid": "", "start_time": "2026-11-30T12:00:00Z"})
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(f"{API}/past_meetings/81234567890/instances", json=body)
        instances = client.instances("81234567890")
    assert len(instances) == 4
    assert all(i.start_time.tzinfo is not None for i in instances)
    assert len(client.record_errors) == 1


def test_recordings_chat_files_and_download_with_bearer() -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(f"{API}/meetings/{encode_uuid('mY8kS0v3R9q2vN6eLw1b4A==')}/recordings",
                 json=fixture("recordings.json"))
        mock.get("https://zoom.us/rec/download/ChatDownloadToken", body=b"00:00:01\tA:\tb\n",
                 match=[matchers.header_matcher(
                     {"Authorization": f"Bearer {fixture('token.json')['access_token']}"})])
        recording = client.recordings("mY8kS0v3R9q2vN6eLw1b4A==")
        assert recording is not None
        files = client.chat_files(recording)
        assert [f.id for f in files] == ["d3b9e2c4-6a1f-4b7e-9c58-0e2f3a4b5c6d"]
        assert client.download(files[0].download_url) == b"00:00:01\tA:\tb\n"


@pytest.mark.parametrize("body", [pytest.param(fixture("error_3301.json"), id="3301"),
                                  pytest.param(fixture("error_3001.json"), id="3001")])
def test_no_recording_is_none(body: dict) -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(f"{API}/meetings/u1/recordings", status=404, json=body)
        assert client.recordings("u1") is None


@pytest.mark.parametrize("url", [
    pytest.param("https://evil.example.com/rec/download/x", id="foreign-host"),
    pytest.param("https://zoom.us.evil.example.com/rec/download/x", id="lookalike-host"),
])
def test_download_never_sends_the_token_outside_zoom(url: str) -> None:
    client, stats = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True), \
            pytest.raises(ProtocolError):
        client.download(url)
    assert stats.calls["zoom"] == 0


def test_non_json_answer_is_a_protocol_error() -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(f"{API}/past_meetings/1/instances", body="<html>maintenance</html>")
        with pytest.raises(ProtocolError):
            client.instances("1")


@pytest.mark.parametrize(("answer", "started"), [
    pytest.param({"id": 81234567890, "uuid": "x==", "status": "started"}, True, id="started"),
    pytest.param({"id": 81234567890, "status": "waiting"}, False, id="waiting"),
    pytest.param({"id": 81234567890}, False, id="no-status"),
])
def test_meeting_details_status(answer: dict, started: bool) -> None:
    client, stats = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(f"{API}/meetings/81234567890", json=answer)
        details = client.meeting("81234567890")
    assert details is not None and details.started is started
    assert stats.calls["zoom"] == 2


def test_meeting_details_of_unknown_meeting_is_none() -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(f"{API}/meetings/1", status=404,
                 json={"code": 3001, "message": "Meeting does not exist: 1."})
        assert client.meeting("1") is None


def test_report_3001_carries_the_report_not_ready_gap() -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        mock.get(_report_url("u=="), status=404, json=fixture("error_3001.json"))
        with pytest.raises(NotReadyError) as caught:
            list(client.participants("u=="))
    assert caught.value.gap == "report_not_ready"
