"""The shared HTTP client: the error table, Retry-After, rate limiter, scrubbing, cut bodies."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
import responses

from connectors._http import (
    Action,
    CallStats,
    HttpClient,
    HttpSettings,
    RateLimiter,
    action_for,
    jittered,
    parse_retry_after,
    scrub,
)
from connectors.errors import (
    AuthError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UpstreamError,
)

URL = "https://api.example.lv/v1/thing"


class FakeAuth:
    def __init__(self) -> None:
        self.token = "t1"
        self.invalidated = 0

    def apply(self, headers) -> None:
        headers["Authorization"] = f"Bearer {self.token}"

    def invalidate(self) -> None:
        self.invalidated += 1
        self.token = "t2"


def client(**kw) -> HttpClient:
    waits: list[float] = []
    c = HttpClient("test", "https://api.example.lv/v1", stats=CallStats(),
                   settings=HttpSettings(max_attempts=4), sleep=waits.append, **kw)
    c.waits = waits  # type: ignore[attr-defined]
    return c


@pytest.mark.parametrize(("status", "action"), [
    pytest.param(200, Action.OK, id="200"),
    pytest.param(401, Action.REAUTH, id="401"),
    pytest.param(403, Action.DENIED, id="403"),
    pytest.param(404, Action.NOT_FOUND, id="404"),
    pytest.param(429, Action.RATE_LIMITED, id="429"),
    pytest.param(502, Action.RETRY, id="502"),
    pytest.param(599, Action.RETRY, id="unknown-5xx"),
    pytest.param(418, Action.FAIL, id="other-4xx"),
])
def test_error_table(status, action):
    assert action_for(status) is action


NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    pytest.param("7", 7.0, id="delta-seconds"),
    pytest.param("Mon, 30 Nov 2026 08:00:30 GMT", 30.0, id="http-date"),
    pytest.param("2026-11-30T08:01:00Z", 60.0, id="iso-date"),
    pytest.param("2026-11-30T07:00:00Z", 0.0, id="past-date"),
    pytest.param("soon", None, id="garbage"),
    pytest.param(None, None, id="absent"),
])
def test_retry_after_forms(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


@pytest.mark.parametrize(("status", "error"), [
    pytest.param(403, PermissionDeniedError, id="403"),
    pytest.param(404, NotFoundError, id="404"),
    pytest.param(400, UpstreamError, id="400"),
])
def test_final_errors(status, error):
    c = client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, status=status, body="nope")
        with pytest.raises(error):
            c.request("GET", "thing")


def test_transient_errors_are_retried_with_backoff():
    c = client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, status=503)
        rsps.get(URL, body=requests.ConnectionError("reset"))
        rsps.get(URL, json={"ok": True})
        assert c.get_json("thing") == {"ok": True}
    assert c.waits == [0.5, 1.0]
    assert c.stats.calls["test"] == 3


def test_429_waits_retry_after_and_counts():
    c = client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, status=429, headers={"Retry-After": "3"})
        rsps.get(URL, json={})
        c.get_json("thing")
    assert c.waits == [3.0]
    assert c.stats.rate_limited["test"] == 1


def test_429_without_retry_after_backs_off_exponentially_with_jitter():
    """Google promises no Retry-After: each wait doubles, its second half drawn at random."""
    draws = iter([0.0, 1.0, 0.5])
    c = client(draw=lambda: next(draws))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        for _ in range(3):
            rsps.get(URL, status=429)
        rsps.get(URL, json={})
        c.get_json("thing")
    # steps 0.5, 1.0, 2.0 s: half fixed, half jitter (draws 0, 1, 0.5)
    assert c.waits == [0.25, 1.0, 1.5]
    assert c.stats.rate_limited["test"] == 3


def test_429_without_retry_after_gives_up_as_rate_limited():
    c = client(draw=lambda: 0.0)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        for _ in range(4):
            rsps.get(URL, status=429)
        with pytest.raises(RateLimitedError):
            c.get_json("thing")
    assert len(c.waits) == 3


def test_jitter_spreads_the_waits_of_throttled_clients():
    waits = {jittered(8.0) for _ in range(50)}
    assert len(waits) > 1 and all(4.0 <= w <= 8.0 for w in waits)


def test_429_with_a_long_wait_fails_as_rate_limited():
    c = client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, status=429, headers={"Retry-After": "86400"})
        with pytest.raises(RateLimitedError) as err:
            c.get_json("thing")
    assert err.value.retry_after == 86400


def test_401_renews_the_token_once():
    auth = FakeAuth()
    c = client(auth=auth)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, status=401)
        rsps.get(URL, status=401)
        with pytest.raises(AuthError):
            c.get_json("thing")
        assert [r.request.headers["Authorization"] for r in rsps.calls] == [
            "Bearer t1", "Bearer t2"]
    assert auth.invalidated == 1


@pytest.mark.parametrize(("content_type", "body"), [
    pytest.param("application/json", b'{"participants": [', id="cut-json"),
    pytest.param("text/xml; charset=utf-8", b"<Envelope><Body>", id="cut-xml"),
])
def test_cut_off_bodies_are_retried(content_type, body):
    c = client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, body=body, content_type=content_type)
        rsps.get(URL, body=b'{"ok": 1}', content_type="application/json")
        assert c.get_json("thing") == {"ok": 1}


def test_a_body_cut_by_the_connection_is_retried():
    c = client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, body=requests.exceptions.ChunkedEncodingError("cut"))
        rsps.get(URL, json={"ok": 2})
        assert c.get_json("thing") == {"ok": 2}


def test_errors_are_scrubbed():
    c = client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL + "?wstoken=abc123", status=400,
                 body="user janis.berzins@audzekni.school.lv token=abc123")
        with pytest.raises(UpstreamError) as err:
            c.request("GET", "thing", params={"wstoken": "abc123"})
    text = f"{err.value.message} {err.value.detail}"
    assert "abc123" not in text and "janis" not in text


@pytest.mark.parametrize(("text", "clean"), [
    pytest.param("?wstoken=s3&x=1", "?wstoken=***&x=1", id="query-token"),
    pytest.param("Authorization: Bearer abc.def", "Authorization: Bearer ***", id="bearer"),
    pytest.param("to anna.liepa@school.lv", "to <email>", id="email"),
])
def test_scrub(text, clean):
    assert scrub(text) == clean


def test_rate_limiter_paces_requests():
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(10, burst=1, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        limiter.acquire()
    assert sum(slept) == pytest.approx(0.4)


# ----------------------------------------------------------------------------- retries logged


def test_retries_are_logged_at_info_and_counted(caplog: pytest.LogCaptureFixture):
    """Issue 11: every retry (429, 5xx, no answer, 401 renewal) is one INFO line and counted."""
    caplog.set_level("INFO", logger="kartiba.http")
    auth = FakeAuth()
    c = client(auth=auth)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, status=429, headers={"Retry-After": "2"})
        rsps.get(URL, status=503)
        rsps.get(URL, status=401)
        rsps.get(URL, json={"ok": True})
        assert c.get_json("thing", params={"wstoken": "secret-s3"}) == {"ok": True}
    lines = [r for r in caplog.records if r.name == "kartiba.http"]
    assert [r.levelname for r in lines] == ["INFO"] * 3
    text = "\n".join(r.getMessage() for r in lines)
    assert "attempt 1 of 4 failed (rate limited, HTTP 429); retrying in 2.0 s" in text
    assert "attempt 2 of 4 failed (HTTP 503)" in text
    assert "attempt 3 of 4 failed (token refused, HTTP 401; renewed); retrying in 0.0 s" in text
    assert "secret-s3" not in text and "api.example.lv" not in text
    assert c.stats.retries["test"] == 3 and c.stats.total_retries() == 3
    assert c.stats.snapshot()["retries"] == {"test": 3}
    assert c.stats.calls["test"] == 4


def test_no_retry_no_count(caplog: pytest.LogCaptureFixture):
    caplog.set_level("INFO", logger="kartiba.http")
    c = client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, json={})
        rsps.get(URL, status=404)
        c.get_json("thing")
        with pytest.raises(NotFoundError):
            c.get_json("thing")
    assert c.stats.total_retries() == 0
    assert not [r for r in caplog.records if r.name == "kartiba.http"]


class RenewingAuth(FakeAuth):
    """A token hook whose token another thread renews while this request waits its turn."""

    def renew(self) -> None:
        self.token = "renewed"


def test_token_is_attached_after_the_rate_limiter_wait():
    """Issue 11: a request queued during a renewal goes out with the new token."""
    auth = RenewingAuth()
    waited: list[float] = []

    def wait_while_renewed(seconds: float) -> None:
        waited.append(seconds)
        auth.renew()  # meanwhile another thread got a new token

    clock = iter([0.0, 0.0, 0.0, 0.0])
    limiter = RateLimiter(1.0, burst=1.0, clock=lambda: next(clock), sleep=wait_while_renewed)
    c = client(auth=auth, limiter=limiter)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(URL, json={})
        rsps.get(URL, json={})
        c.get_json("thing")  # the bucket's one token: no wait
        c.get_json("thing")  # waits 1 s for the limiter; the token changes meanwhile
        sent = [r.request.headers["Authorization"] for r in rsps.calls]
    assert waited == [1.0]
    assert sent == ["Bearer t1", "Bearer renewed"]
