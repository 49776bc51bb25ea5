"""The Zoom stand-in over loopback, spoken to with plain HTTP as Zoom's docs describe it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from sandbox.httpserver import LoopbackServer, Request, Response
from sandbox.scenario import parse_scenario
from sandbox.world import World
from sandbox.zoom import ZoomSandbox

RIGA = dt.timezone(dt.timedelta(hours=2))
SLASHY = "/9hQ2x//abc=="
PLAIN = "Kx7+bQ2mR9sT1uV5wX8yZ0=="
RUNNING = "Rn4cV1bN3mQ5wE8rT2yU6i=="
MIDDLE = "Md5dW2c/N4nR6xF9sU3zV7=="  # a single "/" in the middle: encoded once


def _riga(hh: int, mm: int) -> str:
    return dt.datetime(2026, 11, 30, hh, mm, tzinfo=RIGA).isoformat()


def _people(n: int, hh: int, mm: int) -> list[dict[str, Any]]:
    return [{"name": f"Viesis {i:03d}", "email": "" if i % 2 else f"s{i}@audzekni.school.lv",
             "join": _riga(hh, mm), "leave": _riga(hh, mm + 30)} for i in range(n)]


def _scenario(chat: list | None = None, crowd: int = 0) -> dict[str, Any]:
    return {
        "version": 1, "school": {"name": "DTTT"},
        "teachers": [{"id": "t1", "name": "Ilze Kalniņa", "email": "ilze@school.lv"}],
        "zoom": {"meetings": [{"id": "81234567890", "host": "t1", "instances": [
            {"uuid": SLASHY, "start": _riga(8, 58), "end": _riga(9, 47),
             "participants": [
                 {"name": "Jānis Bērziņš", "email": "", "join": _riga(9, 0),
                  "leave": _riga(9, 1), "status": "in_waiting_room"},
                 {"name": "Jānis Bērziņš", "email": "", "join": _riga(9, 1),
                  "leave": _riga(9, 20), "leave_reason": "removed by host"},
                 {"name": "Anna Liepa", "email": "anna@audzekni.school.lv",
                  "join": _riga(9, 2), "leave": _riga(9, 46)},
             ],
             "chat": [{"at": _riga(9, 2), "name": "Anna Liepa", "text": "klātesoša\nET-22"},
                      {"at": _riga(9, 1), "name": "Jānis Bērziņš", "text": "sveiki"}]},
            {"uuid": PLAIN, "start": _riga(10, 0), "end": _riga(10, 45),
             "participants": _people(crowd, 10, 1), "chat": chat},
            {"uuid": MIDDLE, "start": _riga(11, 0), "end": _riga(11, 45),
             "participants": [{"name": "Solo", "join": _riga(11, 1), "leave": _riga(11, 44)}]},
            {"uuid": RUNNING, "start": _riga(17, 0), "end": _riga(19, 0),
             "participants": [{"name": "Late", "join": _riga(17, 5), "leave": _riga(18, 55)}]},
        ]}]},
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _start(world: World, clock: Clock, **kw: Any) -> ZoomSandbox:
    sandbox = ZoomSandbox(world, clock=clock, **kw)
    sandbox.start()
    return sandbox


@pytest.fixture
def zoom(clock: Clock) -> Iterator[tuple[ZoomSandbox, World]]:
    world = World(parse_scenario(_scenario(chat=[], crowd=650)),
                  dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA))
    sandbox = _start(world, clock, rate_limits=False)
    yield sandbox, world
    sandbox.stop()


def _token(sandbox: ZoomSandbox) -> str:
    answer = requests.post(f"{sandbox.base_url}/oauth/token", timeout=5,
                           params={"grant_type": "account_credentials",
                                   "account_id": sandbox.account_id},
                           auth=(sandbox.client_id, sandbox.client_secret))
    assert answer.status_code == 200
    return answer.json()["access_token"]


def _get(sandbox: ZoomSandbox, path: str, token: str, **params: Any) -> requests.Response:
    return requests.get(f"{sandbox.base_url}{path}", params=params, timeout=5,
                        headers={"Authorization": f"Bearer {token}"})


def _report(sandbox: ZoomSandbox, segment: str, token: str, **params: Any) -> requests.Response:
    return _get(sandbox, f"/v2/report/meetings/{segment}/participants", token, **params)


def _twice(uuid: str) -> str:
    return quote(quote(uuid, safe=""), safe="")


# ----------------------------------------------------------------------------- OAuth


@pytest.mark.parametrize(("auth", "params", "status", "error"), [
    pytest.param(("sandbox-client", "wrong"), {}, 401, "invalid_client", id="wrong-secret"),
    pytest.param(None, {}, 401, "invalid_client", id="no-basic-auth"),
    pytest.param(("sandbox-client", "sandbox-secret"), {"grant_type": "client_credentials"}, 400,
                 "unsupported_grant_type", id="wrong-grant"),
    pytest.param(("sandbox-client", "sandbox-secret"), {"account_id": "other"}, 400,
                 "invalid_request", id="wrong-account"),
])
def test_token_refusals(zoom, auth, params, status, error) -> None:
    sandbox, _ = zoom
    query = {"grant_type": "account_credentials", "account_id": "sandbox-account", **params}
    answer = requests.post(f"{sandbox.base_url}/oauth/token", params=query, auth=auth, timeout=5)
    assert answer.status_code == status
    assert answer.json()["error"] == error


def test_token_shape_and_expiry(zoom, clock: Clock) -> None:
    sandbox, _ = zoom
    answer = requests.post(f"{sandbox.base_url}/oauth/token", timeout=5,
                           params={"grant_type": "account_credentials",
                                   "account_id": "sandbox-account"},
                           auth=("sandbox-client", "sandbox-secret")).json()
    assert answer["token_type"] == "bearer" and answer["expires_in"] == 3600
    token = answer["access_token"]
    assert _get(sandbox, "/v2/past_meetings/81234567890/instances", token).status_code == 200
    clock.now += 3601
    expired = _get(sandbox, "/v2/past_meetings/81234567890/instances", token)
    assert expired.status_code == 401
    assert expired.json() == {"code": 124, "message": "Invalid access token."}
    assert _get(sandbox, "/v2/past_meetings/81234567890/instances", "made-up").status_code == 401
    fresh = _token(sandbox)
    sandbox.expire_tokens()
    assert _get(sandbox, "/v2/past_meetings/81234567890/instances", fresh).status_code == 401
    assert sandbox.stats()["unauthorized"] == 3


# ----------------------------------------------------------------------------- time


def test_instances_lists_only_ended_ones_and_unknown_meeting_is_3001(zoom) -> None:
    sandbox, world = zoom
    token = _token(sandbox)
    world.set_now(dt.datetime(2026, 11, 30, 9, 30, tzinfo=RIGA))
    listed = _get(sandbox, "/v2/past_meetings/81234567890/instances", token).json()
    assert listed == {"meetings": []}  # the first instance is still running
    world.set_now(dt.datetime(2026, 11, 30, 9, 47, tzinfo=RIGA))
    listed = _get(sandbox, "/v2/past_meetings/81234567890/instances", token).json()
    assert listed == {"meetings": [{"uuid": SLASHY, "start_time": "2026-11-30T06:58:00Z"}]}
    world.set_now(dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA))
    uuids = [m["uuid"] for m in _get(sandbox, "/v2/past_meetings/81234567890/instances",
                                     token).json()["meetings"]]
    assert uuids == [SLASHY, PLAIN, MIDDLE]  # RUNNING (17:00-19:00) is not a past meeting yet
    missing = _get(sandbox, "/v2/past_meetings/1/instances", token)
    assert missing.status_code == 404 and missing.json()["code"] == 3001


@pytest.mark.parametrize(("hh", "mm", "status", "uuid"), [
    pytest.param(8, 0, "waiting", None, id="before-any-instance"),
    pytest.param(9, 0, "started", SLASHY, id="first-running"),
    pytest.param(9, 47, "waiting", None, id="first-just-ended"),
    pytest.param(18, 0, "started", RUNNING, id="evening-running"),
    pytest.param(19, 0, "waiting", None, id="all-ended"),
])
def test_meeting_status_started_while_an_instance_runs(zoom, hh, mm, status, uuid) -> None:
    sandbox, world = zoom
    token = _token(sandbox)
    world.set_now(dt.datetime(2026, 11, 30, hh, mm, tzinfo=RIGA))
    body = _get(sandbox, "/v2/meetings/81234567890", token).json()
    assert body["status"] == status and body["id"] == 81234567890
    assert body["host_email"] == "ilze@school.lv"
    if uuid is not None:
        assert body["uuid"] == uuid
    assert sandbox.stats()["requests"]["meeting_details"] == 1


def test_meeting_status_of_an_unknown_meeting_is_3001(zoom) -> None:
    sandbox, _ = zoom
    missing = _get(sandbox, "/v2/meetings/99", _token(sandbox))
    assert missing.status_code == 404
    assert missing.json() == {"code": 3001, "message": "Meeting does not exist: 99."}


def test_report_of_a_running_instance_is_3001_until_it_ends(zoom) -> None:
    sandbox, world = zoom
    token = _token(sandbox)
    running = _report(sandbox, quote(RUNNING, safe=""), token)
    assert running.status_code == 404
    assert running.json() == {"code": 3001, "message": f"Meeting does not exist: {RUNNING}."}
    world.set_now(dt.datetime(2026, 11, 30, 19, 0, tzinfo=RIGA))
    ended = _report(sandbox, quote(RUNNING, safe=""), token)
    assert ended.status_code == 200
    assert [p["name"] for p in ended.json()["participants"]] == ["Late"]


def test_report_not_ready_after_the_end_is_3001_while_listed(clock: Clock) -> None:
    doc = _scenario()
    doc["zoom"]["meetings"][0]["instances"][1]["report_ready"] = _riga(12, 0)
    world = World(parse_scenario(doc), dt.datetime(2026, 11, 30, 11, 0, tzinfo=RIGA))
    sandbox = _start(world, clock, rate_limits=False)
    try:
        token = _token(sandbox)
        listed = _get(sandbox, "/v2/past_meetings/81234567890/instances", token).json()
        assert PLAIN in [m["uuid"] for m in listed["meetings"]]
        assert _report(sandbox, quote(PLAIN, safe=""), token).json()["code"] == 3001
        world.set_now(dt.datetime(2026, 11, 30, 12, 0, tzinfo=RIGA))
        assert _report(sandbox, quote(PLAIN, safe=""), token).status_code == 200
    finally:
        sandbox.stop()


# ----------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(("segment", "status"), [
    pytest.param(quote(SLASHY, safe=""), 404, id="slashy-single-encoded-404"),
    pytest.param(_twice(SLASHY), 200, id="slashy-double-encoded"),
    pytest.param(quote(PLAIN, safe=""), 200, id="plain-single-encoded"),
    pytest.param(_twice(PLAIN), 200, id="plain-double-encoded-also-fine"),
    pytest.param(quote(MIDDLE, safe=""), 200, id="middle-slash-single-encoded"),
    pytest.param(_twice(MIDDLE), 200, id="middle-slash-double-encoded"),
])
def test_uuid_path_encoding(zoom, segment: str, status: int) -> None:
    sandbox, _ = zoom
    answer = _report(sandbox, segment, _token(sandbox), page_size=300)
    assert answer.status_code == status
    if status == 404:
        assert answer.json()["code"] == 3001


@pytest.mark.parametrize("segment", [
    pytest.param(MIDDLE, id="middle-slash-unencoded"),
    pytest.param(SLASHY, id="slashy-unencoded"),
])
def test_unencoded_slash_matches_no_endpoint(zoom, segment: str) -> None:
    sandbox, _ = zoom
    answer = _report(sandbox, segment, _token(sandbox))
    assert answer.status_code == 404
    assert answer.json()["code"] != 3001


def test_report_rows_in_zoom_shape(zoom) -> None:
    sandbox, _ = zoom
    body = _report(sandbox, _twice(SLASHY), _token(sandbox), page_size=300).json()
    assert body["total_records"] == 3 and body["next_page_token"] == ""
    waiting, guest, member = body["participants"]
    assert waiting["status"] == "in_waiting_room"
    assert guest["id"] == guest["participant_user_id"] == guest["user_email"] == ""
    assert member["id"] and member["id"] == member["participant_user_id"]
    assert member["user_email"] == "anna@audzekni.school.lv"
    assert member["join_time"] == "2026-11-30T07:02:00Z"
    assert member["duration"] == 44 * 60
    assert set(member) >= {"user_id", "name", "registrant_id", "customer_key", "failover"}


# ----------------------------------------------------------------------------- paging


def _all_pages(sandbox: ZoomSandbox, token: str, uuid: str, size: int) -> list[dict]:
    pages, next_token = [], ""
    while True:
        params = {"page_size": size, **({"next_page_token": next_token} if next_token else {})}
        body = _report(sandbox, quote(uuid, safe=""), token, **params).json()
        pages.append(body)
        next_token = body["next_page_token"]
        if not next_token:
            return pages


@pytest.mark.parametrize(("cap", "asked", "pages"), [
    pytest.param(300, 300, 3, id="650-rows-300-per-page"),
    pytest.param(300, 1000, 3, id="oversized-page-capped"),
    pytest.param(100, 300, 7, id="server-cap-100"),
    pytest.param(300, 30, 22, id="default-sized-pages"),
])
def test_paging(clock: Clock, cap: int, asked: int, pages: int) -> None:
    world = World(parse_scenario(_scenario(crowd=650)), dt.datetime(2026, 11, 30, 18, 0,
                                                                    tzinfo=RIGA))
    with ZoomSandbox(world, clock=clock, rate_limits=False, page_size_cap=cap) as sandbox:
        got = _all_pages(sandbox, _token(sandbox), PLAIN, asked)
    assert len(got) == pages
    names = [p["name"] for page in got for p in page["participants"]]
    assert names == [f"Viesis {i:03d}" for i in range(650)]
    assert {page["page_count"] for page in got} == {pages}


@pytest.mark.parametrize("misuse", [
    pytest.param("other-instance", id="token-of-another-query"),
    pytest.param("other-size", id="token-with-another-page-size"),
    pytest.param("world-later", id="expired-in-world-time"),
    pytest.param("wall-later", id="expired-in-wall-time"),
    pytest.param("made-up", id="unknown-token"),
])
def test_page_token_misuse_is_zoom_invalid_token(zoom, clock: Clock, misuse: str) -> None:
    sandbox, world = zoom
    token = _token(sandbox)
    page_token = _report(sandbox, quote(PLAIN, safe=""), token,
                         page_size=300).json()["next_page_token"]
    segment, size = quote(PLAIN, safe=""), 300
    if misuse == "other-instance":
        segment = _twice(SLASHY)
    elif misuse == "other-size":
        size = 100
    elif misuse == "world-later":
        world.set_now(world.now + dt.timedelta(minutes=16))
    elif misuse == "wall-later":
        clock.now += 16 * 60
        token = _token(sandbox)
    elif misuse == "made-up":
        page_token = "not-a-token"
    answer = _report(sandbox, segment, token, page_size=size, next_page_token=page_token)
    assert answer.status_code == 400
    assert answer.json() == {"code": 300, "message": "The next page token is invalid or expired."}


# ----------------------------------------------------------------------------- recordings


@pytest.mark.parametrize(("chat", "expected"), [
    pytest.param(None, None, id="no-chat-data-no-recording"),
    pytest.param([], b"", id="empty-chat-file"),
    pytest.param([{"at": _riga(10, 5), "name": "Anna", "text": "a\tb"},
                  {"at": _riga(10, 1, ), "name": "Jānis", "text": "x\ny"}],
                 "00:01:00\tJānis:\tx\ny\n00:05:00\tAnna:\ta\tb\n".encode(), id="lines"),
])
def test_recording_chat_file(clock: Clock, chat, expected) -> None:
    world = World(parse_scenario(_scenario(chat=chat)),
                  dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA))
    with ZoomSandbox(world, clock=clock, rate_limits=False) as sandbox:
        token = _token(sandbox)
        answer = _get(sandbox, f"/v2/meetings/{quote(PLAIN, safe='')}/recordings", token)
        if expected is None:
            assert answer.status_code == 404 and answer.json()["code"] == 3301
            return
        files = {f["file_type"]: f for f in answer.json()["recording_files"]}
        assert set(files) == {"MP4", "CHAT"}
        chat_file = files["CHAT"]
        assert chat_file["recording_start"] == "2026-11-30T08:00:00Z"
        assert chat_file["download_url"].startswith(sandbox.base_url)
        assert requests.get(chat_file["download_url"], timeout=5).status_code == 401
        assert _get(sandbox, chat_file["download_url"].removeprefix(sandbox.base_url),
                    token).content == expected


def test_recordings_need_double_encoding_too(zoom) -> None:
    sandbox, _ = zoom
    token = _token(sandbox)
    assert _get(sandbox, f"/v2/meetings/{quote(SLASHY, safe='')}/recordings",
                token).status_code == 404
    answer = _get(sandbox, f"/v2/meetings/{_twice(SLASHY)}/recordings", token)
    assert answer.status_code == 200
    assert answer.json()["uuid"] == SLASHY


# ----------------------------------------------------------------------------- rate limits


def test_qps_limit_answers_429_with_zoom_headers(clock: Clock) -> None:
    world = World(parse_scenario(_scenario()), dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA))
    with ZoomSandbox(world, clock=clock, qps={"Heavy": 2}) as sandbox:
        token = _token(sandbox)
        answers = [_report(sandbox, _twice(SLASHY), token).status_code for _ in range(3)]
        limited = _report(sandbox, _twice(SLASHY), token)
        medium = _get(sandbox, "/v2/past_meetings/81234567890/instances", token)
        clock.now += 1.0
        after = _report(sandbox, _twice(SLASHY), token)
        stats = sandbox.stats()
    assert answers == [200, 200, 429]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["X-RateLimit-Category"] == "Heavy"
    assert limited.headers["X-RateLimit-Type"] == "QPS"
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.json()["code"] == 429
    assert medium.status_code == 200  # categories are separate
    assert after.status_code == 200
    assert stats["rate_limited"] == {"Heavy": 2}
    assert stats["requests"] == {"token": 1, "participants": 5, "instances": 1}


def test_heavy_daily_cap_answers_iso_reset(clock: Clock) -> None:
    world = World(parse_scenario(_scenario()), dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA))
    with ZoomSandbox(world, clock=clock, daily_cap=2) as sandbox:
        token = _token(sandbox)
        for _ in range(2):
            assert _report(sandbox, _twice(SLASHY), token).status_code == 200
            clock.now += 1
        capped = _report(sandbox, _twice(SLASHY), token)
        assert _get(sandbox, "/v2/past_meetings/81234567890/instances", token).status_code == 200
        day = dt.datetime.fromtimestamp(clock.now, dt.UTC).date()
        clock.now = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0, 1),
                                        tzinfo=dt.UTC).timestamp()
        token = _token(sandbox)
        assert _report(sandbox, _twice(SLASHY), token).status_code == 200
    assert capped.status_code == 429
    assert capped.headers["X-RateLimit-Type"] == "Daily-limit"
    assert capped.headers["X-RateLimit-Limit"] == "2"
    assert capped.headers["Retry-After"] == f"{day + dt.timedelta(days=1)}T00:00:00Z"


# ----------------------------------------------------------------------------- webhooks


def test_webhook_events_in_zoom_shape(zoom) -> None:
    sandbox, _ = zoom
    events = [e for e in sandbox.webhook_events() if e["payload"]["object"]["uuid"] == SLASHY]
    kinds = [(e["event"], e["payload"]["object"]["participant"]["user_name"]) for e in events]
    assert kinds == [("meeting.participant_joined", "Jānis Bērziņš"),
                     ("meeting.participant_joined", "Anna Liepa"),
                     ("meeting.participant_left", "Jānis Bērziņš"),
                     ("meeting.participant_left", "Anna Liepa")]  # waiting room: no events
    left = events[2]
    assert left["payload"]["object"]["id"] == "81234567890"
    assert left["payload"]["object"]["participant"]["leave_reason"] == "removed by host"
    assert left["payload"]["object"]["participant"]["leave_time"] == "2026-11-30T07:20:00Z"
    assert left["event_ts"] == int(dt.datetime(2026, 11, 30, 7, 20, tzinfo=dt.UTC).timestamp()
                                   * 1000)
    assert events[3]["payload"]["object"]["participant"]["leave_reason"] == "left the meeting"


class _Collector(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[dict[str, str], bytes]] = []

    def handle(self, request: Request) -> Response:
        self.received.append(({k.lower(): v for k, v in request.headers.items()}, request.body))
        return Response(200, {"status": "ok"})


def test_deliver_webhooks_posts_due_events_once_signed(zoom, clock: Clock) -> None:
    sandbox, world = zoom
    world.set_now(dt.datetime(2026, 11, 30, 9, 10, tzinfo=RIGA))
    with _Collector() as sink:
        first = sandbox.deliver_webhooks(sink.base_url + "/zoom", "whsec")
        again = sandbox.deliver_webhooks(sink.base_url + "/zoom", "whsec")
        world.set_now(dt.datetime(2026, 11, 30, 23, 0, tzinfo=RIGA))
        rest = sandbox.deliver_webhooks(sink.base_url + "/zoom", "whsec")
    assert (first, again) == (2, 0)  # Jānis and Anna joined before 09:10
    total = len([e for e in sandbox.webhook_events()])
    assert first + rest == total
    assert len(sink.received) == total
    for headers, body in sink.received:
        assert headers["x-zm-request-timestamp"] == str(int(clock.now))
        expected = hmac.new(b"whsec", f"v0:{int(clock.now)}:".encode() + body,
                            hashlib.sha256).hexdigest()
        assert headers["x-zm-signature"] == f"v0={expected}"
        assert json.loads(body)["event"].startswith("meeting.participant_")


def test_deliver_webhooks_to_nobody_delivers_nothing(zoom) -> None:
    sandbox, _ = zoom
    with _Collector() as sink:
        url = sink.base_url
    assert sandbox.deliver_webhooks(url, "whsec") == 0
