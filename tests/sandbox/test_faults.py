"""Seeded fault injection in the loopback stand-ins, observed over real sockets."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import requests

from sandbox.faults import GENERIC_KINDS, FaultPlan, Outcome
from sandbox.httpserver import LoopbackServer, Request, Response
from sandbox.scenario import parse_scenario
from sandbox.smtp import SmtpSink
from sandbox.world import World
from sandbox.zoom import ZoomSandbox

NOW = dt.datetime(2026, 11, 30, 16, 0, 0, tzinfo=dt.UTC)
DOCUMENT = {"items": [{"id": i, "name": f"row {i}"} for i in range(40)]}


class Echo(LoopbackServer):
    """Answers every request with the same JSON document and counts what it served."""

    def __init__(self) -> None:
        super().__init__()
        self.served: list[str] = []

    def handle(self, request: Request) -> Response:
        self.served.append(request.raw_path)
        return Response(200, DOCUMENT)


class Hooked(Echo):
    """A server with a server-specific fault kind, applicable to /special only."""

    def fault_special(self, request: Request) -> Response | None:
        if request.raw_path != "/special":
            return None
        return Response(418, {"code": 418, "message": "special fault"})


@pytest.fixture
def echo() -> Iterator[Echo]:
    with Echo() as server:
        yield server


def _plan(kind: str, **kwargs: Any) -> FaultPlan:
    return FaultPlan(7, {kind: 1.0}, max_faults=1, clock=lambda: NOW, **kwargs)


def _request(path: str, body: bytes = b"", query: dict[str, list[str]] | None = None
             ) -> Request:
    request = Request.__new__(Request)
    request.method, request.raw_path, request.query = "GET", path, query or {}
    request.headers, request.body = {}, body
    return request


# --------------------------------------------------------------------------- each kind


@pytest.mark.parametrize(("kind", "status", "retry_after"), [
    pytest.param("rate_limit_seconds", 429, "1", id="429-seconds"),
    pytest.param("rate_limit_http_date", 429, "Mon, 30 Nov 2026 16:00:02 GMT", id="429-http-date"),
    pytest.param("rate_limit_iso_date", 429, "2026-11-30T16:00:02Z", id="429-iso-date"),
    pytest.param("http_500", 500, None, id="500"),
    pytest.param("http_502", 502, None, id="502"),
    pytest.param("http_503", 503, None, id="503"),
])
def test_status_faults_answer_without_serving(echo: Echo, kind: str, status: int,
                                              retry_after: str | None) -> None:
    echo.faults = _plan(kind)
    first = requests.get(echo.base_url + "/a", timeout=5)
    assert first.status_code == status
    assert first.headers.get("Retry-After") == retry_after
    assert echo.served == []  # the upstream did nothing
    second = requests.get(echo.base_url + "/a", timeout=5)  # budget spent: a normal answer
    assert second.status_code == 200 and second.json() == DOCUMENT
    assert echo.faults.snapshot() == {kind: 1}


def test_http_date_is_a_few_seconds_ahead(echo: Echo) -> None:
    echo.faults = FaultPlan(1, {"rate_limit_http_date": 1.0}, retry_after_s=3)
    answer = requests.get(echo.base_url + "/a", timeout=5)
    when = email.utils.parsedate_to_datetime(answer.headers["Retry-After"])
    ahead = (when - dt.datetime.now(dt.UTC)).total_seconds()
    assert 2.0 <= ahead <= 5.0


def test_reset_drops_the_connection_unserved(echo: Echo) -> None:
    echo.faults = _plan("reset")
    with pytest.raises(requests.ConnectionError):
        requests.get(echo.base_url + "/a", timeout=5)
    assert echo.served == []
    assert requests.get(echo.base_url + "/a", timeout=5).json() == DOCUMENT


def test_read_timeout_serves_but_answers_too_late(echo: Echo) -> None:
    echo.faults = _plan("read_timeout", timeout_s=1.0)
    with pytest.raises(requests.ReadTimeout):
        requests.get(echo.base_url + "/write", timeout=(2, 0.3))
    assert echo.served == ["/write"]  # the effect happened; only the answer was lost


def test_truncated_declares_the_full_length_then_closes(echo: Echo) -> None:
    echo.faults = _plan("truncated")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(echo.base_url + "/a", timeout=5)
    assert echo.served == ["/a"]


def test_malformed_is_a_complete_answer_with_half_the_document(echo: Echo) -> None:
    echo.faults = _plan("malformed")
    answer = requests.get(echo.base_url + "/a", timeout=5)
    full = json.dumps(DOCUMENT).encode()
    assert answer.status_code == 200
    assert answer.content == full[:len(full) // 2]
    with pytest.raises(ValueError):
        answer.json()


def test_slow_answers_late_but_whole(echo: Echo) -> None:
    echo.faults = _plan("slow", slow_s=(0.3, 0.4))
    started = time.monotonic()
    answer = requests.get(echo.base_url + "/a", timeout=5)
    assert time.monotonic() - started >= 0.3
    assert answer.json() == DOCUMENT


@pytest.mark.parametrize("kind", [
    pytest.param("truncated", id="truncated"),
    pytest.param("malformed", id="malformed"),
])
def test_error_answers_are_never_cut(kind: str) -> None:
    class Missing(Echo):
        def handle(self, request: Request) -> Response:
            return Response(404, {"code": 404, "message": "Not Found"})

    with Missing() as server:
        server.faults = _plan(kind)
        answer = requests.get(server.base_url + "/a", timeout=5)
        assert answer.json() == {"code": 404, "message": "Not Found"}
        assert server.faults.snapshot() == {}


# --------------------------------------------------------------------------- drawing


def test_the_same_request_meets_the_same_fate_in_any_order() -> None:
    paths = [f"/p{i}" for i in range(60)]
    rates = {"http_503": 0.3, "reset": 0.3}
    forward, backward = FaultPlan(11, rates), FaultPlan(11, rates)
    server = Echo()
    ahead = {p: forward.draw(server, _request(p))[0] for p in paths}
    behind = {p: backward.draw(server, _request(p))[0] for p in reversed(paths)}
    other = {p: FaultPlan(12, rates).draw(server, _request(p))[0] for p in paths}
    assert ahead == behind
    assert ahead != other
    assert set(ahead.values()) == {None, "http_503", "reset"}


def test_a_retry_gets_a_fresh_draw() -> None:
    plan, server = FaultPlan(3, {"http_503": 0.5}), Echo()
    fates = [plan.draw(server, _request("/same"))[0] for _ in range(40)]
    assert set(fates) == {None, "http_503"}


def test_ignored_values_and_tokens_do_not_change_the_identity() -> None:
    server = Echo()

    def fates(secret: str, page_token: str) -> list[str | None]:
        plan = FaultPlan(5, {"http_500": 0.5})
        plan.ignore(secret)
        return [plan.draw(server, _request(f"/p{i}", b"<pw>" + secret.encode() + b"</pw>",
                                           {"next_page_token": [page_token], "n": [str(i)]}))[0]
                for i in range(30)]

    assert fates("first-secret", "abc") == fates("second-secret", "xyz")


@pytest.mark.parametrize("rate", [
    pytest.param(0.05, id="5%"),
    pytest.param(0.2, id="20%"),
    pytest.param(0.6, id="60%"),
])
def test_rates_are_per_request_probabilities(rate: float) -> None:
    plan, server = FaultPlan(99, {"http_502": rate}), Echo()
    hits = sum(plan.draw(server, _request(f"/r{i}"))[0] is not None for i in range(4000))
    assert abs(hits / 4000 - rate) < 0.03


@pytest.mark.parametrize(("rates", "message"), [
    pytest.param({"http_500": -0.1}, "negative", id="negative"),
    pytest.param({"http_500": 0.7, "reset": 0.4}, "at most 1", id="sum-above-1"),
])
def test_invalid_rates_are_refused(rates: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultPlan(1, rates)


# --------------------------------------------------------------------------- budgets


@pytest.mark.parametrize(("max_faults", "per_kind", "expected"), [
    pytest.param(3, None, {"http_503": 3}, id="total"),
    pytest.param(None, {"http_503": 2}, {"http_503": 2}, id="per-kind"),
    pytest.param(5, {"http_503": 1}, {"http_503": 1}, id="both"),
])
def test_budgets_stop_injection(echo: Echo, max_faults: int | None,
                                per_kind: dict[str, int] | None, expected: dict) -> None:
    echo.faults = FaultPlan(2, {"http_503": 1.0}, max_faults, max_per_kind=per_kind)
    statuses = [requests.get(echo.base_url + "/b", timeout=5).status_code for _ in range(8)]
    assert echo.faults.snapshot() == expected
    assert statuses.count(503) == sum(expected.values())
    assert echo.faults.total == sum(expected.values())


def test_disabled_plan_and_exempt_requests_inject_nothing(echo: Echo) -> None:
    echo.faults = FaultPlan(2, {"http_503": 1.0}, exempt=lambda r: r.raw_path == "/free")
    assert requests.get(echo.base_url + "/free", timeout=5).status_code == 200
    echo.faults.enabled = False
    assert requests.get(echo.base_url + "/other", timeout=5).status_code == 200
    assert echo.faults.snapshot() == {}


# --------------------------------------------------------------------------- server hooks


def test_a_kind_without_a_hook_never_hits_that_server(echo: Echo) -> None:
    echo.faults = FaultPlan(4, {"special": 1.0})
    assert all(requests.get(echo.base_url + "/special", timeout=5).status_code == 200
               for _ in range(5))
    assert echo.faults.snapshot() == {}


@pytest.mark.parametrize(("path", "status", "counted"), [
    pytest.param("/special", 418, {"special": 1}, id="hook-applies"),
    pytest.param("/plain", 200, {}, id="hook-declines"),
])
def test_server_hooks_answer_their_own_kinds(path: str, status: int, counted: dict) -> None:
    with Hooked() as server:
        server.faults = FaultPlan(4, {"special": 1.0})
        assert requests.get(server.base_url + path, timeout=5).status_code == status
        assert server.faults.snapshot() == counted


def test_observers_see_the_outcome_before_the_client(echo: Echo) -> None:
    seen: list[tuple[str, str | None, int | None]] = []

    def observe(server: LoopbackServer, request: Request, outcome: Outcome) -> None:
        status = outcome.response.status if outcome.response is not None else None
        seen.append((request.raw_path, outcome.kind, status))

    echo.observers.append(observe)
    echo.faults = _plan("http_502")
    requests.get(echo.base_url + "/x", timeout=5)
    requests.get(echo.base_url + "/y", timeout=5)
    assert seen == [("/x", "http_502", 502), ("/y", None, 200)]


def test_generic_kinds_are_the_documented_ones() -> None:
    assert set(GENERIC_KINDS) == {
        "rate_limit_seconds", "rate_limit_http_date", "rate_limit_iso_date", "http_500",
        "http_502", "http_503", "reset", "read_timeout", "truncated", "malformed", "slow",
        "trickle"}


# --------------------------------------------------------------------------- Zoom's own faults


def _zoom_world(people: int) -> World:
    riga = dt.timezone(dt.timedelta(hours=2))
    at = lambda hh, mm: dt.datetime(2026, 11, 30, hh, mm, tzinfo=riga).isoformat()  # noqa: E731
    scenario = parse_scenario({
        "version": 1, "school": {"name": "DTTT"},
        "teachers": [{"id": "t1", "name": "Ilze Kalniņa", "email": "ilze@school.lv"}],
        "zoom": {"meetings": [{"id": "81234567890", "host": "t1", "instances": [
            {"uuid": "Kx7+bQ2mR9sT1uV5wX8yZ0==", "start": at(10, 0), "end": at(10, 45),
             "participants": [{"name": f"Viesis {i:02d}", "email": "", "join": at(10, 1),
                               "leave": at(10, 40)} for i in range(people)]}]}]},
    })
    return World(scenario, dt.datetime(2026, 11, 30, 18, 0, tzinfo=riga))


def _zoom_token(zoom: ZoomSandbox) -> str:
    answer = requests.post(zoom.base_url + "/oauth/token", timeout=5,
                           params={"grant_type": "account_credentials",
                                   "account_id": zoom.account_id},
                           auth=(zoom.client_id, zoom.client_secret))
    return answer.json()["access_token"]


def test_zoom_token_expires_mid_run() -> None:
    with ZoomSandbox(_zoom_world(2), rate_limits=False) as zoom:
        zoom.faults = FaultPlan(1, {"token_expired": 1.0}, max_faults=1)
        token = _zoom_token(zoom)  # the token endpoint itself is not affected
        url = zoom.base_url + "/v2/past_meetings/81234567890/instances"
        expired = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert (expired.status_code, expired.json()["code"]) == (401, 124)
        again = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert again.status_code == 401  # the old token stays invalid
        fresh = requests.get(url, headers={"Authorization": f"Bearer {_zoom_token(zoom)}"},
                             timeout=5)
        assert fresh.status_code == 200
        assert zoom.faults.snapshot() == {"token_expired": 1}


def test_zoom_paging_token_expires() -> None:
    with ZoomSandbox(_zoom_world(5), rate_limits=False, page_size_cap=2) as zoom:
        zoom.faults = FaultPlan(1, {"page_token_expired": 1.0}, max_faults=1)
        headers = {"Authorization": f"Bearer {_zoom_token(zoom)}"}
        url = zoom.base_url + "/v2/report/meetings/Kx7%2BbQ2mR9sT1uV5wX8yZ0%3D%3D/participants"
        first = requests.get(url, params={"page_size": 2}, headers=headers, timeout=5).json()
        assert first["next_page_token"]  # the first page has no token to expire
        gone = requests.get(url, params={"page_size": 2, "next_page_token":
                                         first["next_page_token"]}, headers=headers, timeout=5)
        assert (gone.status_code, gone.json()["code"]) == (400, 300)
        restart = requests.get(url, params={"page_size": 2}, headers=headers, timeout=5).json()
        following = requests.get(url, params={"page_size": 2, "next_page_token":
                                              restart["next_page_token"]},
                                 headers=headers, timeout=5)
        assert following.status_code == 200 and len(following.json()["participants"]) == 2
        assert zoom.faults.snapshot() == {"page_token_expired": 1}


# --------------------------------------------------------------------------- non-HTTP draws


@pytest.mark.parametrize(("rate", "budget", "low", "high"), [
    pytest.param(0.5, None, 1, 39, id="half"),
    pytest.param(1.0, 2, 2, 2, id="budget"),
    pytest.param(0.0, None, 0, 0, id="off"),
])
def test_hit_draws_each_occurrence_and_counts_it(rate: float, budget: int | None, low: int,
                                                 high: int) -> None:
    def plan() -> FaultPlan:
        return FaultPlan(3, {"smtp_451": rate},
                         max_per_kind={"smtp_451": budget} if budget else None)

    first, second = plan(), plan()
    fates = [first.hit("smtp_451", "to:a@school.lv") for _ in range(40)]
    assert fates == [second.hit("smtp_451", "to:a@school.lv") for _ in range(40)]  # seeded
    assert low <= sum(fates) <= high
    assert first.snapshot() == ({"smtp_451": sum(fates)} if any(fates) else {})


def test_smtp_sink_answers_451_and_keeps_nothing_when_told() -> None:
    answers = iter([True, False])
    with SmtpSink() as sink:
        sink.tempfail = lambda mail_from, rcpt_tos, raw: next(answers)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "k@school.lv", "t@school.lv", "x"
        message.set_content("body")
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.send_message(message)
            assert refused.value.smtp_code == 451
            assert sink.messages == [] and sink.refused == 1
            client.send_message(message)  # tried again later: accepted
        assert [m.rcpt_tos for m in sink.messages] == [["t@school.lv"]]
