"""End to end over loopback: the real Zoom connector against the Zoom stand-in.

Covers a restarted meeting (two instances merged), UUIDs with ``/``, ``//`` and a single
``/`` inside, 650 participants over 3 pages, rate limits hit and honoured, the Heavy daily
cap, a lesson whose own instance still runs while an earlier one of the same meeting has
ended (``meeting_running``), a report not ready yet (``report_not_ready``), token renewal,
webhooks delivered to the real receiver, and the call budget: 1 token + 1 instance list +
report pages per instance that may overlap the lesson + recordings (+ download) + one
``GET /meetings/{id}`` only when no ended instance reaches the lesson end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from connectors._http import LIMITERS, CallStats
from connectors.errors import NotReadyError, RateLimitedError
from connectors.zoom import ZoomSettings, build
from connectors.zoom.webhook import WebhookReceiver
from mappings.model import MeetingRef, Teacher
from sandbox.scenario import parse_scenario
from sandbox.world import World
from sandbox.zoom import ZoomSandbox
from tests.connectors.zoom.fakes import FakeLedger

pytestmark = pytest.mark.e2e

RIGA = dt.timezone(dt.timedelta(hours=2))
RESTARTED = "81234567890"
CROWD = "85550001111"
FIRST, SECOND, CROWD_UUID = "/9hQ2x//abc==", "Kx7+bQ2mR9sT1uV5wX8yZ0==", "ab//cd+ef=="
TEACHER = Teacher("t1", "Ilze Kalniņa", "ilze.kalnina@school.lv")
SECRET = "e2e-webhook-secret"


def _at(hh: int, mm: int) -> dt.datetime:
    return dt.datetime(2026, 11, 30, hh, mm, tzinfo=RIGA)


def _p(name: str, email: str, join: tuple[int, int], leave: tuple[int, int],
       **extra: Any) -> dict[str, Any]:
    return {"name": name, "email": email, "join": _at(*join).isoformat(),
            "leave": _at(*leave).isoformat(), **extra}


SCENARIO = {
    "version": 1,
    "school": {"name": "DTTT"},
    "teachers": [{"id": "t1", "name": TEACHER.name, "email": TEACHER.email}],
    "zoom": {"meetings": [
        {"id": RESTARTED, "host": "t1", "instances": [
            {"uuid": FIRST, "start": _at(8, 58).isoformat(), "end": _at(9, 20).isoformat(),
             "participants": [
                 _p("Ilze Kalniņa", TEACHER.email, (8, 58), (9, 20)),
                 _p("Jānis Bērziņš", "", (9, 0), (9, 2), status="in_waiting_room"),
                 _p("Jānis Bērziņš", "", (9, 2), (9, 20)),
                 _p("Pēteris Ozols", "", (9, 3), (9, 10), leave_reason="removed by host"),
                 _p("Anna Liepa", "anna.liepa@audzekni.school.lv", (9, 1), (9, 20)),
             ],
             "chat": [{"at": _at(9, 4).isoformat(), "name": "Anna Liepa",
                       "text": "Anna Liepa ET-22\nklātesoša"},
                      {"at": _at(9, 3).isoformat(), "name": "Jānis Bērziņš",
                       "text": "Jānis\tklātesošs"}]},
            {"uuid": SECOND, "start": _at(9, 22).isoformat(), "end": _at(9, 47).isoformat(),
             "participants": [
                 _p("Ilze Kalniņa", TEACHER.email, (9, 22), (9, 47)),
                 _p("Janis Berzins", "", (9, 23), (9, 45)),
                 _p("Anna Liepa", "anna.liepa@audzekni.school.lv", (9, 24), (9, 45)),
             ]},
            {"uuid": "late-lesson", "start": _at(17, 0).isoformat(),
             "end": _at(18, 30).isoformat(),
             "participants": [_p("Anna Liepa", "anna.liepa@audzekni.school.lv", (17, 1),
                                 (18, 29))]},
        ]},
        {"id": CROWD, "host": "t1", "instances": [
            {"uuid": CROWD_UUID, "start": _at(11, 0).isoformat(), "end": _at(11, 50).isoformat(),
             "participants": [_p(f"Viesis {i:03d}", "" if i % 3 else f"s{i}@x.lv",
                                 (11, 1), (11, 45)) for i in range(650)]},
        ]},
    ]},
}


@pytest.fixture
def world() -> World:
    return World(parse_scenario(SCENARIO), _at(12, 30))


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    LIMITERS.clear()  # each test is its own Zoom account's process
    yield
    LIMITERS.clear()


def _settings(sandbox: ZoomSandbox, plan: str = "pro") -> ZoomSettings:
    return ZoomSettings(enabled=True, account_id=sandbox.account_id,
                        client_id=sandbox.client_id, client_secret=sandbox.client_secret,
                        api_url=f"{sandbox.base_url}/v2",
                        oauth_url=f"{sandbox.base_url}/oauth/token", plan=plan,
                        webhook_secret=SECRET)


def _ref(meeting: str) -> MeetingRef:
    return MeetingRef("zoom", meeting, f"https://zoom.us/j/{meeting}")


def test_restarted_meeting_with_webhooks_and_call_budget(world: World) -> None:
    ledger = FakeLedger()
    receiver = WebhookReceiver(SECRET, ledger).serve("127.0.0.1:0").start()
    try:
        with ZoomSandbox(world, rate_limits=False) as sandbox:
            delivered = sandbox.deliver_webhooks(receiver.url, SECRET)
            stats = CallStats()
            source = build(_settings(sandbox), webhooks=ledger, stats=stats)
            evidence = source.fetch(_ref(RESTARTED), _at(9, 0), _at(9, 45), TEACHER)
            served = sandbox.stats()
    finally:
        receiver.stop()
    assert delivered == 2 * (4 + 3 + 650)  # joined + left of every in-meeting row by 12:30
    assert evidence.found and evidence.instances == 2
    people = {p.name: p for p in evidence.participants}
    assert set(people) == {"Ilze Kalniņa", "Jānis Bērziņš", "Pēteris Ozols", "Anna Liepa"}
    janis = people["Jānis Bērziņš"]  # guest; renamed on rejoin into the restarted instance
    assert [(s.start, s.end) for s in janis.segments] == [(_at(9, 2), _at(9, 20)),
                                                          (_at(9, 23), _at(9, 45))]
    assert people["Anna Liepa"].email == "anna.liepa@audzekni.school.lv"
    assert len(people["Anna Liepa"].segments) == 2
    assert people["Pēteris Ozols"].removed_by_host is True
    assert not any(p.removed_by_host for n, p in people.items() if n != "Pēteris Ozols")
    assert evidence.chat is not None
    assert [(c.at, c.name, c.text) for c in evidence.chat] == [
        (_at(9, 3), "Jānis Bērziņš", "Jānis\tklātesošs"),
        (_at(9, 4), "Anna Liepa", "Anna Liepa ET-22\nklātesoša")]
    budget = 1 + 1 + 1 + 1 + 2 + 1  # token, instances, a page each, 2 recordings, 1 download
    assert stats.calls["zoom"] == budget
    assert served["total"] == budget
    assert served["requests"] == {"token": 1, "instances": 1, "participants": 2,
                                  "recordings": 2, "download": 1}


def test_650_participants_come_in_three_pages(world: World) -> None:
    with ZoomSandbox(world, rate_limits=False) as sandbox:
        stats = CallStats()
        source = build(_settings(sandbox), stats=stats)
        evidence = source.fetch(_ref(CROWD), _at(11, 0), _at(11, 45), TEACHER, need_chat=False)
        served = sandbox.stats()
    assert len(evidence.participants) == 650
    assert served["requests"]["participants"] == 3
    assert stats.calls["zoom"] == 1 + 1 + 3


def test_rate_limits_are_hit_and_honoured(world: World) -> None:
    # The account is really on Pro with a tight Heavy limit, but kartiba was told "business":
    # its own pacing is too fast, so Zoom answers 429 and the client must wait Retry-After.
    with ZoomSandbox(world, plan="pro", qps={"Heavy": 4}, page_size_cap=50) as sandbox:
        stats = CallStats()
        source = build(_settings(sandbox, plan="business"), stats=stats)
        evidence = source.fetch(_ref(CROWD), _at(11, 0), _at(11, 45), TEACHER, need_chat=False)
        served = sandbox.stats()
    assert len(evidence.participants) == 650
    assert served["rate_limited"].get("Heavy", 0) >= 1
    assert stats.rate_limited["zoom"] == served["rate_limited"]["Heavy"]
    assert served["requests"]["participants"] == 13 + served["rate_limited"]["Heavy"]


def test_plan_pacing_avoids_429(world: World) -> None:
    with ZoomSandbox(world, plan="pro", page_size_cap=50) as sandbox:
        source = build(_settings(sandbox, plan="pro"), stats=CallStats())
        evidence = source.fetch(_ref(CROWD), _at(11, 0), _at(11, 45), TEACHER, need_chat=False)
        served = sandbox.stats()
    assert len(evidence.participants) == 650
    assert served["rate_limited"] == {}


def test_heavy_daily_cap_stops_the_run(world: World) -> None:
    with ZoomSandbox(world, rate_limits=True, daily_cap=1) as sandbox:
        source = build(_settings(sandbox), stats=CallStats())
        with pytest.raises(RateLimitedError) as info:
            source.fetch(_ref(RESTARTED), _at(9, 0), _at(9, 45), TEACHER, need_chat=False)
        with pytest.raises(RateLimitedError):  # refused locally, no more 429s spent
            source.fetch(_ref(CROWD), _at(11, 0), _at(11, 45), TEACHER, need_chat=False)
        served = sandbox.stats()
    assert info.value.retry_after > 120
    assert served["rate_limited"] == {"Heavy/daily": 1}
    assert served["requests"]["participants"] == 2


def test_meeting_not_ended_is_not_ready_then_served(world: World) -> None:
    """At 18:00 only the morning instances are past meetings; the lesson's own one runs."""
    world.set_now(_at(18, 0))
    with ZoomSandbox(world, rate_limits=False) as sandbox:
        with pytest.raises(NotReadyError) as caught:
            build(_settings(sandbox), stats=CallStats()).fetch(
                _ref(RESTARTED), _at(17, 0), _at(17, 45), TEACHER)
        running = sandbox.stats()["requests"]
        world.set_now(_at(19, 0))
        sandbox.reset_stats()
        evidence = build(_settings(sandbox), stats=CallStats()).fetch(
            _ref(RESTARTED), _at(17, 0), _at(17, 45), TEACHER)
        ended = sandbox.stats()["requests"]
    assert caught.value.gap == "meeting_running"
    assert running == {"token": 1, "instances": 1, "participants": 1, "meeting_details": 1}
    assert evidence.found
    assert evidence.instances == 1  # the morning instances are never judged for this lesson
    assert ended == {"token": 1, "instances": 1, "participants": 1, "recordings": 1}
    anna = next(p for p in evidence.participants if p.name == "Anna Liepa")
    assert [(s.start, s.end) for s in anna.segments] == [(_at(17, 1), _at(18, 29))]
    assert evidence.chat is None  # the instance has no chat data


@pytest.mark.parametrize("uuid", [
    pytest.param("Md5dW2c/N4nR6xF9sU3zV7==", id="single-slash-in-the-middle"),
    pytest.param("/Xq3pT7wQ2iZ+eK9vR4hUg==", id="leading-slash"),
    pytest.param("Ab1//Cd2Ef3Gh4Ij5Kl6M==", id="double-slash"),
])
def test_report_not_ready_then_served_whatever_the_uuid(uuid: str) -> None:
    doc = {**SCENARIO, "zoom": {"meetings": [{"id": RESTARTED, "host": "t1", "instances": [
        {"uuid": uuid, "start": _at(9, 0).isoformat(), "end": _at(9, 50).isoformat(),
         "report_ready": _at(11, 0).isoformat(),
         "participants": [_p("Anna Liepa", "anna.liepa@audzekni.school.lv", (9, 1), (9, 49))]},
    ]}]}}
    world = World(parse_scenario(doc), _at(10, 30))
    with ZoomSandbox(world, rate_limits=False) as sandbox:
        with pytest.raises(NotReadyError) as caught:
            build(_settings(sandbox), stats=CallStats()).fetch(
                _ref(RESTARTED), _at(9, 0), _at(9, 45), TEACHER, need_chat=False)
        world.set_now(_at(11, 0))
        evidence = build(_settings(sandbox), stats=CallStats()).fetch(
            _ref(RESTARTED), _at(9, 0), _at(9, 45), TEACHER, need_chat=False)
        served = sandbox.stats()["requests"]
    assert caught.value.gap == "report_not_ready"
    assert evidence.found and [p.name for p in evidence.participants] == ["Anna Liepa"]
    assert "meeting_details" not in served  # the listed instance reaches the lesson end


def test_expired_token_is_renewed_once(world: World) -> None:
    with ZoomSandbox(world, rate_limits=False) as sandbox:
        stats = CallStats()
        source = build(_settings(sandbox), stats=stats)
        source.fetch(_ref(RESTARTED), _at(9, 0), _at(9, 45), TEACHER, need_chat=False)
        sandbox.expire_tokens()
        evidence = source.fetch(_ref(CROWD), _at(11, 0), _at(11, 45), TEACHER, need_chat=False)
        served = sandbox.stats()
    assert len(evidence.participants) == 650
    assert served["requests"]["token"] == 2
    assert served["unauthorized"] == 1
    assert stats.calls["zoom"] == (1 + 1 + 2) + (1 + 1 + 1 + 3)


def test_unknown_meeting_is_not_found(world: World) -> None:
    with ZoomSandbox(world, rate_limits=False) as sandbox:
        evidence = build(_settings(sandbox), stats=CallStats()).fetch(
            _ref("99999999999"), _at(9, 0), _at(9, 45), TEACHER)
    assert evidence.found is False
    assert evidence.host_email == TEACHER.email
