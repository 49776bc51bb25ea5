"""Service account key loading and the RS256 JWT bearer grant."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest
import responses
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from pydantic import SecretStr

from connectors._http import CallStats, HttpClient
from connectors.errors import AuthError, ConfigError
from connectors.meet.auth import (
    JWT_BEARER,
    MEET_SCOPE,
    JwtBearerAuth,
    load_service_account,
    sign_assertion,
)
from tests.connectors.meet.conftest import (
    CLIENT_EMAIL,
    SUBJECT,
    TOKEN_URL,
    load,
    service_account_json,
    settings,
)


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def make_auth(rsa_key, wall=1_800_000_000.0) -> JwtBearerAuth:
    http = HttpClient(upstream="meet", base_url=TOKEN_URL, stats=CallStats(),
                      sleep=lambda s: None)
    key = load_service_account(settings(rsa_key))
    return JwtBearerAuth(http, key, SUBJECT, TOKEN_URL, wall_clock=lambda: wall)


def test_assertion_is_rs256_signed_with_the_documented_claims(rsa_key):
    key = load_service_account(settings(rsa_key))
    jwt = sign_assertion(key, SUBJECT, MEET_SCOPE, TOKEN_URL, 1_800_000_000)
    head, body, signature = jwt.split(".")
    assert "=" not in jwt
    assert json.loads(b64decode(head)) == {"alg": "RS256", "typ": "JWT",
                                           "kid": "0123456789abcdef"}
    assert json.loads(b64decode(body)) == {
        "iss": CLIENT_EMAIL, "sub": SUBJECT, "scope": MEET_SCOPE, "aud": TOKEN_URL,
        "iat": 1_800_000_000, "exp": 1_800_003_600}
    # raises InvalidSignature if the signature is not the key's over header.payload
    rsa_key.public_key().verify(b64decode(signature), f"{head}.{body}".encode(),
                                padding.PKCS1v15(), hashes.SHA256())


def test_token_request_posts_the_jwt_bearer_grant(rsa_key):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        auth = make_auth(rsa_key)
        headers: dict[str, str] = {}
        auth.apply(headers)
        auth.apply(headers)  # cached: one token request
        assert len(rsps.calls) == 1
        sent = {k: v[0] for k, v in parse_qs(rsps.calls[0].request.body).items()}
    assert headers["Authorization"] == "Bearer ya29.c.sandbox-access-token"
    assert set(sent) == {"grant_type", "assertion"}
    assert sent["grant_type"] == JWT_BEARER
    claims = json.loads(b64decode(sent["assertion"].split(".")[1]))
    assert claims["iat"] == 1_800_000_000 and claims["sub"] == SUBJECT


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, "invalid_grant", id="bad-signature-or-subject"),
        pytest.param(401, "unauthorized_client", id="delegation-missing"),
    ],
)
def test_refused_grant_names_the_oauth_error_and_delegation(rsa_key, status, error):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, status=status, json={"error": error, "error_description": "x"})
        with pytest.raises(AuthError) as err:
            make_auth(rsa_key).token()
    assert error in err.value.message
    assert "domain-wide delegation" in err.value.message
    assert "PRIVATE KEY" not in err.value.message + err.value.detail


def test_key_from_file(rsa_key, tmp_path):
    path = tmp_path / "sa.json"
    path.write_text(service_account_json(rsa_key), encoding="utf-8")
    key = load_service_account(settings(rsa_key, service_account_json=None,
                                        service_account_file=str(path)))
    assert key.client_email == CLIENT_EMAIL
    assert "PRIVATE" not in repr(key)


def _ec_pem() -> str:
    from cryptography.hazmat.primitives import serialization

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize(
    ("inline", "file", "words"),
    [
        pytest.param("{not json", None, "not valid JSON", id="bad-json"),
        pytest.param('{"client_email": "x@y"}', None, "lacks", id="no-private-key"),
        pytest.param(json.dumps({"client_email": "x@y", "private_key": "-----BEGIN nonsense"}),
                     None, "not a PEM", id="bad-pem"),
        pytest.param(json.dumps({"client_email": "x@y", "private_key": "EC"}), None,
                     "not an RSA key", id="ec-key"),
        pytest.param(None, "/nonexistent/sa.json", "cannot read", id="missing-file"),
        pytest.param(None, None, "set meet.service_account_file", id="nothing"),
    ],
)
def test_unusable_keys_are_config_errors(rsa_key, inline, file, words):
    if inline and '"EC"' in inline:
        inline = json.dumps({"client_email": "x@y", "private_key": _ec_pem()})
    conf = settings(rsa_key, service_account_json=SecretStr(inline) if inline else None,
                    service_account_file=file)
    with pytest.raises(ConfigError) as err:
        load_service_account(conf)
    assert words in err.value.message
    assert "BEGIN" not in err.value.message
