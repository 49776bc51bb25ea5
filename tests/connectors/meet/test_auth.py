"""Service account key loading and the delegated token through google-auth."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest
import requests
import responses
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from pydantic import SecretStr

from connectors.errors import AuthError, ConfigError
from connectors.meet.auth import (
    JWT_BEARER,
    MEET_SCOPE,
    DelegatedAuths,
    load_service_account,
)
from tests.connectors.meet.conftest import (
    CLIENT_EMAIL,
    SUBJECT,
    TOKEN_URL,
    load,
    service_account_json,
    settings,
)

GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"  # always, wherever the grant goes
TEACHER = "ruta.ozola@school.lv"


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def auths(rsa_key, **overrides) -> DelegatedAuths:
    return DelegatedAuths(load_service_account(settings(rsa_key, **overrides)),
                          requests.Session())


def sent_form(call) -> dict[str, str]:
    body = call.request.body
    body = body.decode() if isinstance(body, bytes) else body
    return {k: v[0] for k, v in parse_qs(body).items()}


def test_token_request_posts_a_signed_jwt_bearer_grant_as_the_teacher(rsa_key):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        auth = auths(rsa_key).for_subject(TEACHER)
        headers: dict[str, str] = {}
        auth.apply(headers)
        auth.apply(headers)  # cached: one token request
        assert len(rsps.calls) == 1
        sent = sent_form(rsps.calls[0])
    assert headers["Authorization"] == "Bearer ya29.c.sandbox-access-token"
    assert set(sent) == {"grant_type", "assertion"} and sent["grant_type"] == JWT_BEARER
    head, body, signature = sent["assertion"].split(".")
    assert json.loads(b64decode(head))["alg"] == "RS256"
    claims = json.loads(b64decode(body))
    assert {k: claims[k] for k in ("iss", "sub", "scope", "aud")} == {
        "iss": CLIENT_EMAIL, "sub": TEACHER, "scope": MEET_SCOPE, "aud": GOOGLE_AUDIENCE}
    assert claims["exp"] - claims["iat"] == 3600
    # raises InvalidSignature if the signature is not the key's over header.payload
    rsa_key.public_key().verify(b64decode(signature), f"{head}.{body}".encode(),
                                padding.PKCS1v15(), hashes.SHA256())


def test_each_teacher_gets_a_token_of_their_own(rsa_key):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.post(TOKEN_URL, json=load("token.json"))
        pool = auths(rsa_key)
        pool.for_subject(TEACHER).token()
        pool.for_subject(SUBJECT).token()
        pool.for_subject(TEACHER.upper()).token()  # the same user: cached
        subs = [json.loads(b64decode(sent_form(c)["assertion"].split(".")[1]))["sub"]
                for c in rsps.calls]
    assert subs == [TEACHER, SUBJECT]
    assert pool.for_subject(TEACHER).subject == TEACHER


def test_the_configured_token_url_replaces_the_keys(rsa_key):
    other = "http://127.0.0.1:9/token"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(other, json=load("token.json"))
        auths(rsa_key, token_url=other).for_subject(TEACHER).token()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, "invalid_grant", id="not-a-user-of-the-domain"),
        pytest.param(401, "unauthorized_client", id="delegation-missing"),
    ],
)
def test_refused_grant_names_the_oauth_error_and_delegation(rsa_key, status, error):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, status=status, json={"error": error, "error_description": "x"})
        with pytest.raises(AuthError) as err:
            auths(rsa_key).for_subject(TEACHER).token()
    assert error in err.value.message and err.value.detail == error
    assert "domain-wide delegation" in err.value.message
    assert "PRIVATE KEY" not in err.value.message + err.value.detail


def test_key_from_file(rsa_key, tmp_path):
    path = tmp_path / "sa.json"
    path.write_text(service_account_json(rsa_key), encoding="utf-8")
    creds = load_service_account(settings(rsa_key, service_account_json=None,
                                          service_account_file=str(path)))
    assert creds.service_account_email == CLIENT_EMAIL
    assert "PRIVATE" not in repr(creds)


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
                     None, "not a PEM RSA", id="bad-pem"),
        pytest.param(json.dumps({"client_email": "x@y", "private_key": "EC"}), None,
                     "not a PEM RSA", id="ec-key"),
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
