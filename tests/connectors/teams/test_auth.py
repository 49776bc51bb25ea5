"""Client-credentials token: request form, caching, renewal, refusal."""

from __future__ import annotations

import pytest
import responses
from pydantic import SecretStr
from responses import matchers

from connectors._http import CallStats, HttpClient
from connectors.errors import AuthError, ProtocolError
from connectors.teams.auth import GRAPH_SCOPE, ClientCredentialsAuth
from tests.connectors.teams.conftest import SECRET, TOKEN_URL, load


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_auth(clock: FakeClock) -> ClientCredentialsAuth:
    http = HttpClient(upstream="teams", base_url="https://login.microsoftonline.com",
                      stats=CallStats(), sleep=lambda s: None)
    return ClientCredentialsAuth(http, "contoso-tenant", "app-client-id", SecretStr(SECRET),
                                 clock=clock)


def test_token_request_is_the_documented_form():
    form = {"client_id": "app-client-id", "client_secret": SECRET, "scope": GRAPH_SCOPE,
            "grant_type": "client_credentials"}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"),
                  match=[matchers.urlencoded_params_matcher(form)])
        headers: dict[str, str] = {}
        make_auth(FakeClock()).apply(headers)
    assert headers == {"Authorization": f"Bearer {load('token.json')['access_token']}"}


@pytest.mark.parametrize(
    ("advance", "token_calls"),
    [
        pytest.param(0.0, 1, id="fresh-token-reused"),
        pytest.param(3000.0, 1, id="still-valid-before-renewal-margin"),
        pytest.param(3599.0 - 60, 2, id="renewed-within-margin-of-expiry"),
        pytest.param(4000.0, 2, id="renewed-after-expiry"),
    ],
)
def test_token_is_cached_until_shortly_before_expiry(advance, token_calls):
    clock = FakeClock()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(TOKEN_URL, json={"access_token": "t1", "expires_in": 3599})
        auth = make_auth(clock)
        auth.token()
        clock.now += advance
        auth.token()
        assert len(rsps.calls) == token_calls


def test_invalidate_forces_a_new_token():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json={"access_token": "first", "expires_in": 3599})
        rsps.post(TOKEN_URL, json={"access_token": "second", "expires_in": 3599})
        auth = make_auth(FakeClock())
        assert auth.token() == "first"
        auth.invalidate()
        assert auth.token() == "second"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(401, {"error": "invalid_client",
                           "error_description": "AADSTS7000215: Invalid client secret provided."},
                     id="bad-secret"),
        pytest.param(400, {"error": "invalid_request",
                           "error_description": "AADSTS90002: Tenant not found."},
                     id="bad-tenant"),
    ],
)
def test_refused_credentials_raise_auth_error_without_the_secret(status, body):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, status=status, json=body)
        with pytest.raises(AuthError) as err:
            make_auth(FakeClock()).token()
    assert "teams.client_secret" in err.value.message
    assert err.value.status == status
    assert SECRET not in str(err.value) + err.value.detail


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"token_type": "Bearer"}, id="no-access-token"),
        pytest.param({"access_token": "x", "expires_in": "soon"}, id="bad-expires-in"),
        pytest.param([1, 2], id="not-an-object"),
    ],
)
def test_malformed_token_answer_is_a_protocol_error(body):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=body)
        with pytest.raises(ProtocolError):
            make_auth(FakeClock()).token()
