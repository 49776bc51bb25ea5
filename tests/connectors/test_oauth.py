"""The shared bearer-token cache: reuse, renewal margin, invalidation, token answers."""

from __future__ import annotations

import threading

import pytest
import requests

from connectors._oauth import (
    RENEW_BEFORE_S,
    BearerTokenAuth,
    parse_token_response,
    token_health,
)
from connectors.errors import ProtocolError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingAuth(BearerTokenAuth):
    """Hands out ``tok-1``, ``tok-2``... each valid ``lifetime`` seconds."""

    def __init__(self, clock: FakeClock, lifetime: float = 3600.0) -> None:
        super().__init__(clock=clock)
        self.lifetime = lifetime
        self.requested = 0

    def _request_token(self) -> tuple[str, float]:
        self.requested += 1
        return f"tok-{self.requested}", self.lifetime


@pytest.mark.parametrize(
    ("advance", "token", "fetches"),
    [
        pytest.param(0.0, "tok-1", 1, id="fresh-token-reused"),
        pytest.param(3600.0 - RENEW_BEFORE_S - 1, "tok-1", 1, id="valid-before-margin"),
        pytest.param(3600.0 - RENEW_BEFORE_S, "tok-2", 2, id="renewed-at-margin"),
        pytest.param(5000.0, "tok-2", 2, id="renewed-after-expiry"),
    ],
)
def test_token_is_reused_until_the_renewal_margin(advance, token, fetches):
    clock = FakeClock()
    auth = CountingAuth(clock)
    assert auth.token() == "tok-1"
    clock.now += advance
    assert auth.token() == token
    assert auth.fetches == auth.requested == fetches


def test_seconds_left_counts_down_to_the_renewal():
    clock = FakeClock()
    auth = CountingAuth(clock)
    assert auth.seconds_left() == 0.0
    auth.token()
    clock.now += 100
    assert auth.seconds_left() == 3600.0 - RENEW_BEFORE_S - 100


def test_apply_sets_the_header_on_a_mapping_and_on_a_prepared_request():
    auth = CountingAuth(FakeClock())
    headers: dict[str, str] = {}
    auth.apply(headers)
    prepared = requests.Request("GET", "https://graph.example/v1.0/me").prepare()
    auth.apply(prepared)
    assert headers == {"Authorization": "Bearer tok-1"}
    assert prepared.headers["Authorization"] == "Bearer tok-1"


def test_invalidate_after_a_401_fetches_a_new_token():
    auth = CountingAuth(FakeClock())
    auth.apply({})
    auth.invalidate()
    assert auth.token() == "tok-2"


def test_a_late_401_from_another_thread_keeps_the_newer_token():
    auth = CountingAuth(FakeClock())
    auth.apply({})  # this thread sent tok-1
    auth.invalidate()  # ...and saw a 401
    thread = threading.Thread(target=lambda: auth.apply({}))
    thread.start()
    thread.join(5)  # another thread fetched tok-2
    auth.invalidate()  # a second, late 401 for tok-1 must not drop tok-2
    assert auth.token() == "tok-2"
    assert auth.fetches == 2


def test_renew_always_requests_a_new_token():
    auth = CountingAuth(FakeClock())
    auth.apply({})
    assert auth.renew() == "tok-2"
    assert auth.renew() == "tok-3"


@pytest.mark.parametrize(
    ("auth", "message", "fetches"),
    [
        pytest.param(None, "graph: no credentials configured", 0, id="no-credentials"),
        pytest.param(CountingAuth(FakeClock()), "graph: ok (app-only token obtained)", 1,
                     id="token-obtained"),
    ],
)
def test_token_health(auth, message, fetches):
    assert token_health(auth, "graph", "app-only") == message
    assert (auth.fetches if auth else 0) == fetches


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"access_token": "a", "expires_in": 3599, "token_type": "Bearer"},
                     ("a", 3599.0), id="documented"),
        pytest.param({"access_token": "a", "expires_in": "3600"}, ("a", 3600.0),
                     id="expires-in-as-string"),
        pytest.param({"access_token": "a"}, ("a", 3599.0), id="no-expires-in"),
    ],
)
def test_parse_token_response(body, expected):
    assert parse_token_response(body, "teams") == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"token_type": "Bearer"}, id="no-access-token"),
        pytest.param({"access_token": 7}, id="access-token-not-a-string"),
        pytest.param({"access_token": "a", "expires_in": "soon"}, id="bad-expires-in"),
        pytest.param(["a"], id="not-an-object"),
    ],
)
def test_malformed_token_answers_are_protocol_errors(body):
    with pytest.raises(ProtocolError) as err:
        parse_token_response(body, "meet")
    assert err.value.upstream == "meet"
