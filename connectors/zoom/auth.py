"""Zoom Server-to-Server OAuth: one account-level access token, cached and shared by threads.

``POST {oauth_url}?grant_type=account_credentials&account_id=...`` with HTTP Basic
``client_id:client_secret`` returns ``{"access_token", "token_type": "bearer",
"expires_in": 3600, "scope"}``. There is no refresh token: the token is reused until shortly
before it expires and renewed once after a 401 (the shared client calls :meth:`invalidate`
and retries).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests
from pydantic import SecretStr, ValidationError

from connectors._http import Action, HttpClient
from connectors._oauth import RENEW_BEFORE_S as RENEW_BEFORE_S  # re-exported
from connectors._oauth import BearerTokenAuth
from connectors.errors import AuthError, ProtocolError
from connectors.zoom.models import TokenResponse

log = logging.getLogger("kartiba.zoom")


def classify_token_response(response: requests.Response) -> Action | None:
    """The OAuth server answers refused credentials with 400/401: a configuration error."""
    if response.status_code in (400, 401):
        return Action.CONFIG
    return None


class ZoomAuth(BearerTokenAuth):
    """An :class:`connectors._http.Auth` hook holding the account's access token.

    Caching, renewal before expiry, the 401 renew-once and thread safety come from
    :class:`connectors._oauth.BearerTokenAuth`; this class only requests the token.

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
        super().__init__(clock=clock)
        self._http = http
        self._oauth_url = oauth_url
        self._account_id = account_id
        self._client_id = client_id
        self._secret = client_secret

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
        log.info("zoom: access token obtained (valid %d s)", body.expires_in)
        return body.access_token.get_secret_value(), float(body.expires_in)
