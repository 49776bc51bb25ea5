"""Google service-account auth with domain-wide delegation (OAuth 2.0 JWT bearer grant).

The service account signs a JWT (RS256) with ``iss`` = its ``client_email``, ``sub`` = the
user it acts as, ``scope``, ``aud`` = the token URL, ``iat`` and ``exp`` (at most one hour
later) and posts it to the token URL with
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``; the answer is
``{"access_token": ..., "expires_in": 3599, "token_type": "Bearer"}``.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connectors._http import HttpClient
from connectors._oauth import RENEW_BEFORE_S as RENEW_BEFORE_S  # re-exported
from connectors._oauth import BearerTokenAuth, parse_token_response
from connectors.errors import AuthError, ConfigError, UpstreamError
from connectors.meet.settings import MeetSettings

log = logging.getLogger("kartiba.meet")

MEET_SCOPE = "https://www.googleapis.com/auth/meetings.space.readonly"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_S = 3600  # Google accepts at most one hour


@dataclass(frozen=True)
class ServiceAccountKey:
    """The parts of a service account JSON key file kartiba uses."""

    client_email: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    private_key_id: str = ""


def _read_key_text(settings: MeetSettings) -> str:
    if settings.service_account_json is not None:
        text = settings.service_account_json.get_secret_value()
        if text.strip():
            return text
    if settings.service_account_file:
        try:
            return Path(settings.service_account_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"meet: cannot read the service account file ({exc.strerror})",
                              setting="meet.service_account_file") from None
    raise ConfigError("meet: set meet.service_account_file or meet.service_account_json",
                      setting="meet.service_account_file")


def load_service_account(settings: MeetSettings) -> ServiceAccountKey:
    """Read and check the service account key (file or inline JSON).

    Raises:
        ConfigError: missing, unreadable or not a service account RSA key (the message never
            contains the key).
    """
    setting = "meet.service_account_json" if settings.service_account_json else \
        "meet.service_account_file"
    try:
        data = json.loads(_read_key_text(settings))
    except ValueError:
        raise ConfigError("meet: the service account key is not valid JSON",
                          setting=setting) from None
    if not isinstance(data, dict) or not data.get("client_email") or not data.get("private_key"):
        raise ConfigError("meet: the service account key lacks client_email or private_key",
                          setting=setting)
    try:
        key = serialization.load_pem_private_key(str(data["private_key"]).encode(), None)
    except (ValueError, TypeError):
        raise ConfigError("meet: the service account private_key is not a PEM private key",
                          setting=setting) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("meet: the service account private_key is not an RSA key",
                          setting=setting)
    return ServiceAccountKey(str(data["client_email"]), key, str(data.get("private_key_id", "")))


def b64url(data: bytes) -> str:
    """Base64url without padding (JWS compact serialisation)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_assertion(key: ServiceAccountKey, subject: str, scope: str, audience: str,
                   issued_at: int) -> str:
    """The RS256-signed JWT assertion for the JWT bearer grant."""
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if key.private_key_id:
        header["kid"] = key.private_key_id
    claims = {"iss": key.client_email, "sub": subject, "scope": scope, "aud": audience,
              "iat": issued_at, "exp": issued_at + ASSERTION_LIFETIME_S}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    signature = key.private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(),
                                     hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


class JwtBearerAuth(BearerTokenAuth):
    """An :class:`connectors._http.Auth` hook: a delegated access token for the Meet API.

    Args:
        http: client that posts to the token URL (no auth of its own).
        key: the service account key.
        subject: the user to impersonate.
        token_url: the OAuth token endpoint, also the JWT audience.
        scope: the scope requested.
        wall_clock: seconds since the epoch, for ``iat``/``exp``.
        clock: monotonic clock, for the token's lifetime.
    """

    def __init__(self, http: HttpClient, key: ServiceAccountKey, subject: str, token_url: str,
                 scope: str = MEET_SCOPE, wall_clock: Callable[[], float] = time.time,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        self._http = http
        self._key = key
        self._subject = subject
        self._token_url = token_url
        self._scope = scope
        self._wall_clock = wall_clock

    def _request_token(self) -> tuple[str, float]:
        assertion = sign_assertion(self._key, self._subject, self._scope, self._token_url,
                                   int(self._wall_clock()))
        form = {"grant_type": JWT_BEARER, "assertion": assertion}
        try:
            response = self._http.request("POST", self._token_url, data=form,
                                          authenticate=False)
        except UpstreamError as exc:
            if exc.status in (400, 401, 403):
                raise AuthError(
                    f"meet: Google refused the service account token ({_oauth_error(exc)}); "
                    "check meet.subject, the key, and the domain-wide delegation of the "
                    f"service account's client id for {self._scope}",
                    upstream="meet", status=exc.status, detail=exc.detail) from None
            raise
        token, lifetime = parse_token_response(response.json(), "meet")
        log.debug("meet: delegated token obtained (lifetime %.0f s)", lifetime)
        return token, lifetime


def _oauth_error(exc: UpstreamError) -> str:
    try:
        code = json.loads(exc.detail).get("error")
    except (ValueError, AttributeError):
        code = None
    return code if isinstance(code, str) and code.isidentifier() else f"HTTP {exc.status}"

