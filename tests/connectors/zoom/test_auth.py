"""Server-to-Server OAuth: token request shape, caching, renewal, 401 handling, thread safety."""

from __future__ import annotations

import base64
import threading

import pytest
import responses
from responses import matchers

from connectors.errors import AuthError, ProtocolError
from connectors.zoom.auth import RENEW_BEFORE_S
from tests.connectors.zoom.fakes import (
    ACCOUNT,
    API,
    CLIENT_ID,
    CLIENT_SECRET,
    OAUTH,
    FakeClock,
    fixture,
    make_client,
)

INSTANCES = f"{API}/past_meetings/81234567890/instances"
TOKEN_QUERY = matchers.query_param_matcher(
    {"grant_type": "account_credentials", "account_id": ACCOUNT})


def _token(mock: responses.RequestsMock, value: str = "tok-1", expires_in: int = 3600) -> None:
    mock.post(OAUTH, json={**fixture("token.json"), "access_token": value,
                           "expires_in": expires_in}, match=[TOKEN_QUERY])


def _instances(mock: responses.RequestsMock, token: str) -> None:
    mock.get(INSTANCES, json=fixture("instances_pmi.json"),
             match=[matchers.header_matcher({"Authorization": f"Bearer {token}"})])


def test_token_request_uses_basic_auth_and_account_credentials_grant() -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock)
        _instances(mock, "tok-1")
        client.instances("81234567890")
        sent = mock.calls[0].request
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {expected}"
    assert sent.method == "POST"


def test_token_is_cached_until_shortly_before_expiry() -> None:
    clock = FakeClock()
    client, stats = make_client(clock=clock)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock, "tok-1")
        _instances(mock, "tok-1")
        _instances(mock, "tok-1")
        client.instances("81234567890")
        clock.now += 3600 - RENEW_BEFORE_S - 1  # still valid
        client.instances("81234567890")
        assert stats.calls["zoom"] == 3
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        clock.now += 2  # inside the renewal margin
        _token(mock, "tok-2")
        _instances(mock, "tok-2")
        client.instances("81234567890")
    assert client.auth.fetches == 2


def test_a_401_renews_the_token_once_and_retries() -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock, "tok-1")
        mock.get(INSTANCES, status=401, json=fixture("error_124.json"),
                 match=[matchers.header_matcher({"Authorization": "Bearer tok-1"})])
        _token(mock, "tok-2")
        _instances(mock, "tok-2")
        instances = client.instances("81234567890")
    assert len(instances) == 4
    assert client.auth.fetches == 2


def test_a_second_401_is_an_auth_error() -> None:
    client, stats = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock, "tok-1")
        mock.get(INSTANCES, status=401, json=fixture("error_124.json"))
        _token(mock, "tok-2")
        with pytest.raises(AuthError):
            client.instances("81234567890")
    assert stats.calls["zoom"] == 4  # token, 401, token, 401: no endless loop


@pytest.mark.parametrize("status", [pytest.param(400, id="400"), pytest.param(401, id="401")])
def test_refused_credentials_are_an_auth_error_without_the_secret(status: int) -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, status=status, json=fixture("oauth_invalid_client.json"))
        with pytest.raises(AuthError) as info:
            client.health()
    text = f"{info.value} {info.value.detail}"
    assert "zoom.client_secret" in text
    assert CLIENT_SECRET not in text
    assert base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode() not in text


@pytest.mark.parametrize("body", [
    pytest.param({"token_type": "bearer", "expires_in": 3600}, id="no-access-token"),
    pytest.param({"access_token": "x", "expires_in": 0}, id="zero-lifetime"),
    pytest.param(["not", "an", "object"], id="array"),
])
def test_malformed_token_answer_is_a_protocol_error(body) -> None:
    client, _ = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(OAUTH, json=body)
        with pytest.raises(ProtocolError):
            client.health()


def test_concurrent_requests_fetch_one_token() -> None:
    client, _ = make_client(plan="business")
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            client.instances("81234567890")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock, "tok-1")
        for _ in range(6):
            _instances(mock, "tok-1")
        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert client.auth.fetches == 1


def test_invalidate_from_a_stale_thread_keeps_the_newer_token() -> None:
    client, _ = make_client()
    auth = client.auth
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        _token(mock, "tok-1")
        _token(mock, "tok-2")
        headers: dict[str, str] = {}
        auth.apply(headers)  # this thread sent tok-1
        auth.invalidate()  # ...and saw a 401: tok-1 dropped
        other: dict[str, str] = {}
        result: list[str] = []
        thread = threading.Thread(target=lambda: (auth.apply(other), result.append("ok")))
        thread.start()
        thread.join()  # another thread fetched tok-2
        assert other["Authorization"] == "Bearer tok-2"
        auth.invalidate()  # a late 401 for tok-1 must not drop tok-2
        assert auth.token() == "tok-2"
    assert auth.fetches == 2
