"""Microsoft identity platform client-credentials flow (app-only token for Graph).

``POST {login_url}/{tenant}/oauth2/v2.0/token`` with ``client_id``, ``client_secret``,
``scope=https://graph.microsoft.com/.default`` and ``grant_type=client_credentials`` returns
``{"token_type": "Bearer", "expires_in": ..., "access_token": ...}``. There is no refresh
token: a new token is requested shortly before the old one expires or after a 401.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from pydantic import SecretStr

from connectors._http import HttpClient
from connectors._oauth import RENEW_BEFORE_S as RENEW_BEFORE_S  # re-exported
from connectors._oauth import BearerTokenAuth, parse_token_response
from connectors.errors import AuthError, UpstreamError

log = logging.getLogger("kartiba.teams")

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class ClientCredentialsAuth(BearerTokenAuth):
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
        super().__init__(clock=clock)
        self._http = http
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._secret = client_secret

    @property
    def token_path(self) -> str:
        return f"{quote(self._tenant_id, safe='')}/oauth2/v2.0/token"

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
        token, lifetime = parse_token_response(response.json(), "teams")
        log.debug("teams: app-only token obtained (lifetime %.0f s)", lifetime)
        return token, lifetime
