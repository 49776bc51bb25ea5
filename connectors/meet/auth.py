"""Google service-account auth with domain-wide delegation, through ``google-auth``.

``google-auth`` builds and signs the JWT bearer assertion (RS256, ``iss`` = the service
account, ``sub`` = the impersonated user, ``scope``, ``aud`` = the token URL, ``iat``/``exp``
one hour apart, its own clock-skew handling) and posts it to the token URL. kartiba keeps
one thing of its own: :class:`DelegatedAuth` is a :class:`connectors._oauth.BearerTokenAuth`,
so the Meet API calls themselves still go through kartiba's one HTTP client (one rate
limiter, one retry table), with the token cache and the renewal after a 401 shared by every
connector.

The Meet REST API shows a conference only to its space owner or a participant, so the
connector impersonates the lesson's teacher: :class:`DelegatedAuths` keeps one
:class:`DelegatedAuth` per impersonated user.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import google.auth.exceptions
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import service_account

from connectors._oauth import RENEW_BEFORE_S as RENEW_BEFORE_S  # re-exported
from connectors._oauth import BearerTokenAuth
from connectors.errors import AuthError, ConfigError, ProtocolError, TransientError
from connectors.meet.settings import MeetSettings

log = logging.getLogger("kartiba.meet")

MEET_SCOPE = "https://www.googleapis.com/auth/meetings.space.readonly"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


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


def _key_setting(settings: MeetSettings) -> str:
    if settings.service_account_json is not None \
            and settings.service_account_json.get_secret_value().strip():
        return "meet.service_account_json"
    return "meet.service_account_file"


def load_service_account(settings: MeetSettings) -> service_account.Credentials:
    """Read and check the service account key (file or inline JSON).

    The key's own ``token_uri`` is replaced by ``meet.token_url`` (the sandbox's token
    endpoint in tests; Google's by default).

    Returns:
        google-auth credentials scoped to :data:`MEET_SCOPE`, not yet delegated.

    Raises:
        ConfigError: missing, unreadable or not a service account RSA key (the message never
            contains the key).
    """
    setting = _key_setting(settings)
    try:
        data = json.loads(_read_key_text(settings))
    except ValueError:
        raise ConfigError("meet: the service account key is not valid JSON",
                          setting=setting) from None
    if not isinstance(data, dict) or not data.get("client_email") or not data.get("private_key"):
        raise ConfigError("meet: the service account key lacks client_email or private_key",
                          setting=setting)
    if not _is_rsa_pem(str(data["private_key"])):
        raise ConfigError("meet: the service account private_key is not a PEM RSA private key",
                          setting=setting)
    info = {**data, "token_uri": settings.token_url}
    try:
        return service_account.Credentials.from_service_account_info(info, scopes=[MEET_SCOPE])
    except (ValueError, TypeError):
        raise ConfigError("meet: the service account private_key is not a PEM RSA private key",
                          setting=setting) from None


def _is_rsa_pem(text: str) -> bool:
    """Whether a PEM text holds an RSA private key (Google signs with RS256 only)."""
    try:
        key = serialization.load_pem_private_key(text.encode(), None)
    except (ValueError, TypeError):
        return False
    return isinstance(key, rsa.RSAPrivateKey)


class _TimedRequest(GoogleRequest):
    """google-auth's requests transport with kartiba's timeouts instead of its 120 s."""

    def __init__(self, session: requests.Session, timeout: tuple[float, float]) -> None:
        super().__init__(session)
        self._timeout = timeout

    def __call__(self, url: str, method: str = "GET", body: Any = None,
                 headers: Any = None, timeout: Any = None, **kwargs: Any) -> Any:
        return super().__call__(url, method=method, body=body, headers=headers,
                                timeout=self._timeout, **kwargs)


class DelegatedAuth(BearerTokenAuth):
    """An :class:`connectors._http.Auth` hook: a token for the Meet API acting as one user.

    Args:
        credentials: the service account's credentials, already delegated
            (``with_subject``) or not (a health check of the key alone).
        session: the requests session the token request goes through.
        timeout: (connect, read) seconds for the token request.
        clock: monotonic clock, for the token's lifetime.
    """

    def __init__(self, credentials: service_account.Credentials, session: requests.Session,
                 timeout: tuple[float, float] = (5.0, 30.0),
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        self._credentials = credentials
        self._request = _TimedRequest(session, timeout)

    @property
    def subject(self) -> str:
        """The impersonated user ("" = the service account itself)."""
        return getattr(self._credentials, "_subject", None) or ""

    def _request_token(self) -> tuple[str, float]:
        try:
            self._credentials.refresh(self._request)
        except google.auth.exceptions.RefreshError as exc:
            raise _refused(exc, self.subject != "") from None
        except google.auth.exceptions.TransportError as exc:
            raise TransientError("meet: no answer from Google's token endpoint",
                                 upstream="meet", detail=type(exc).__name__) from None
        token = self._credentials.token
        if not isinstance(token, str) or not token:
            raise ProtocolError("meet: token response without access_token", upstream="meet")
        log.debug("meet: delegated token obtained")
        return token, _lifetime(self._credentials.expiry)


def _lifetime(expiry: dt.datetime | None) -> float:
    """Seconds until google-auth's ``expiry`` (a naive UTC datetime; None = one hour)."""
    if expiry is None:
        return 3600.0
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return max(0.0, (expiry.replace(tzinfo=None) - now).total_seconds())


def oauth_error(exc: google.auth.exceptions.RefreshError) -> str:
    """The OAuth ``error`` code Google answered (``invalid_grant``...), else "refused"."""
    for arg in exc.args[1:]:
        if isinstance(arg, dict) and isinstance(arg.get("error"), str) \
                and arg["error"].isidentifier():
            return arg["error"]
    text = str(exc.args[0]) if exc.args else ""
    code = text.split(":", 1)[0].strip()
    return code if code.isidentifier() else "refused"


def _refused(exc: google.auth.exceptions.RefreshError, delegated: bool) -> AuthError:
    code = oauth_error(exc)
    who = "the impersonated user (the lesson's teacher)" if delegated else "the key"
    return AuthError(
        f"meet: Google refused the service account token ({code}); check {who}, and the "
        f"domain-wide delegation of the service account's client id for {MEET_SCOPE}",
        upstream="meet", status=400, detail=code)


class DelegatedAuths:
    """One :class:`DelegatedAuth` per impersonated user, created on first use; thread-safe.

    Args:
        credentials: the service account's scoped credentials (not delegated).
        session: the requests session token requests go through.
        timeout: (connect, read) seconds for token requests.
    """

    def __init__(self, credentials: service_account.Credentials, session: requests.Session,
                 timeout: tuple[float, float] = (5.0, 30.0)) -> None:
        self._credentials = credentials
        self._session = session
        self._timeout = timeout
        self._lock = threading.Lock()
        self._by_subject: dict[str, DelegatedAuth] = {}

    @property
    def client_email(self) -> str:
        """The service account's e-mail (the ``iss`` of its assertions)."""
        return self._credentials.service_account_email

    def for_subject(self, subject: str) -> DelegatedAuth:
        """The token hook acting as ``subject`` ("" = the service account itself)."""
        key = subject.strip().casefold()
        with self._lock:
            auth = self._by_subject.get(key)
            if auth is None:
                creds = self._credentials.with_subject(subject.strip()) if key \
                    else self._credentials
                auth = self._by_subject[key] = DelegatedAuth(creds, self._session,
                                                             self._timeout)
            return auth
