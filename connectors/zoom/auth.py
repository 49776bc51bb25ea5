"""Zoom Server-to-Server OAuth: one account-level access token, cached and shared by threads.

``POST {oauth_url}?grant_type=account_credentials&account_id=...`` with HTTP Basic
``client_id:client_secret`` returns ``{"access_token", "token_type": "bearer",
"expires_in": 3600, "scope"}``. There is no refresh token: the token is reused until shortly
before it expires and renewed once after a 401 (the shared client calls :meth:`invalidate`
and retries).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import requests
from pydantic import SecretStr, ValidationError

from connectors._http import Action, HttpClient
from connectors.errors import AuthError, ProtocolError
from connectors.zoom.models import TokenResponse

log = logging.getLogger("kartiba.zoom")

RENEW_BEFORE_S = 120.0  # renew this long before the announced expiry


def classify_token_response(response: requests.Response) -> Action | None:
    """The OAuth server answers refused credentials with 400/401: a configuration error."""
    if response.status_code in (400, 401):
        return Action.CONFIG
    return None


class ZoomAuth:
    """An :class:`connectors._http.Auth` hook holding the account's access token.

    Args:
        http: a client for the OAuth host, without an auth hook of its own.
        oauth_url: the token endpoint (``https://zoom.us/oauth/token``).
        account_id: the Zoom account id of the S2S OAuth app.
        client_id: the app's client id.
        client_secret: the app's client secret (never logged).
        clock: monotonic clock, for the token's lifetime.
    """

    def __init__(self, http: HttpClient, oauth_url: str, account_id: str, client_id: str,
                 client_secret: SecretStr, clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._oauth_url = oauth_url
        self._account_id = account_id
        self._client_id = client_id
        self._secret = client_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._applied = threading.local()  # the token this thread last sent
        self.fetches = 0

    def apply(self, request: MutableMapping[str, str] | Any) -> None:
        """Add ``Authorization: Bearer <token>`` to a header mapping (or a prepared request)."""
        token = self.token()
        headers = getattr(request, "headers", request)
        headers["Authorization"] = f"Bearer {token}"
        self._applied.token = token

    def invalidate(self) -> None:
        """Forget the token after a 401, unless another thread already replaced it."""
        sent = getattr(self._applied, "token", None)
        with self._lock:
            if sent is None or sent == self._token:
                self._token = None

    def token(self) -> str:
        """The current access token; requested when missing or about to expire.

        Raises:
            AuthError: the credentials were refused.
            ProtocolError: the answer is not a token response.
        """
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                token, lifetime = self._request_token()
                self._token = token
                self._expires_at = self._clock() + max(0.0, lifetime - RENEW_BEFORE_S)
            return self._token

    def seconds_left(self) -> float:
        """Seconds until the cached token is renewed (0 when there is none)."""
        with self._lock:
            return max(0.0, self._expires_at - self._clock()) if self._token else 0.0

    def _request_token(self) -> tuple[str, float]:
        params = {"grant_type": "account_credentials", "account_id": self._account_id}
        try:
            response = self._http.request(
                "POST", self._oauth_url, params=params, authenticate=False,
                auth=(self._client_id, self._secret.get_secret_value()))
        except AuthError as exc:
            raise AuthError(
                "zoom: the OAuth server refused the credentials; check zoom.account_id, "
                "zoom.client_id and zoom.client_secret", upstream="zoom", status=exc.status,
                detail=exc.detail) from None
        try:
            body = TokenResponse.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise ProtocolError("zoom: the token endpoint answered something else than a token",
                                upstream="zoom", detail=type(exc).__name__) from None
        self.fetches += 1
        log.info("zoom: access token obtained (valid %d s)", body.expires_in)
        return body.access_token.get_secret_value(), float(body.expires_in)
