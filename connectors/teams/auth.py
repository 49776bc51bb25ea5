"""Microsoft identity platform client-credentials flow (app-only token for Graph).

``POST {login_url}/{tenant}/oauth2/v2.0/token`` with ``client_id``, ``client_secret``,
``scope=https://graph.microsoft.com/.default`` and ``grant_type=client_credentials`` returns
``{"token_type": "Bearer", "expires_in": ..., "access_token": ...}``. There is no refresh
token: a new token is requested shortly before the old one expires or after a 401.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from connectors._http import HttpClient
from connectors.errors import AuthError, ProtocolError, UpstreamError

log = logging.getLogger("kartiba.teams")

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
RENEW_BEFORE_S = 120.0  # renew this long before the token's announced expiry


class ClientCredentialsAuth:
    """An :class:`connectors._http.Auth` hook holding one app-only Graph token.

    Args:
        http: client for the login host (``login_url``); it sends the token request.
        tenant_id: the directory id or domain.
        client_id: the application id.
        client_secret: the application secret (never logged).
        clock: monotonic clock, for the token's lifetime.
    """

    def __init__(self, http: HttpClient, tenant_id: str, client_id: str,
                 client_secret: SecretStr, clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._secret = client_secret
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    @property
    def token_path(self) -> str:
        return f"{quote(self._tenant_id, safe='')}/oauth2/v2.0/token"

    def apply(self, request: Any) -> None:
        """Add ``Authorization: Bearer`` to a header dict, fetching a token when needed."""
        request["Authorization"] = f"Bearer {self.token()}"

    def invalidate(self) -> None:
        """Forget the token (after a 401) so the next request fetches a new one."""
        with self._lock:
            self._token = None

    def token(self) -> str:
        """The current access token, requested anew when missing or about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._token, lifetime = self._request_token()
                self._expires_at = self._clock() + max(0.0, lifetime - RENEW_BEFORE_S)
            return self._token

    def _request_token(self) -> tuple[str, float]:
        form = {
            "client_id": self._client_id,
            "client_secret": self._secret.get_secret_value(),
            "scope": GRAPH_SCOPE,
            "grant_type": "client_credentials",
        }
        try:
            response = self._http.request("POST", self.token_path, data=form, authenticate=False)
        except UpstreamError as exc:
            if exc.status in (400, 401):
                raise AuthError(
                    "teams: the Microsoft identity platform refused the app's credentials; "
                    "check teams.tenant_id, teams.client_id and teams.client_secret",
                    upstream="teams", status=exc.status, detail=exc.detail) from None
            raise
        return _parse_token(response.json())


def _parse_token(body: Any) -> tuple[str, float]:
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise ProtocolError("teams: token response without access_token", upstream="teams")
    try:
        lifetime = float(body.get("expires_in", 3599))
    except (TypeError, ValueError):
        raise ProtocolError("teams: token response with a bad expires_in",
                            upstream="teams") from None
    log.debug("teams: app-only token obtained (lifetime %.0f s)", lifetime)
    return body["access_token"], lifetime
