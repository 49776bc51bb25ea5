"""OAuth 2.0 bearer tokens for the shared HTTP client: one cached token per credential.

A token endpoint answers ``{"access_token": ..., "token_type": "Bearer", "expires_in": ...}``
(RFC 6749, section 5.1). :class:`BearerTokenAuth` keeps that token, shared by every thread,
until shortly before it expires, and implements the :class:`connectors._http.Auth` hooks:
:meth:`~BearerTokenAuth.apply` adds ``Authorization: Bearer``, and
:meth:`~BearerTokenAuth.invalidate` drops the token after a 401 so the shared client's one
retry gets a new one. How a token is requested (client credentials, a signed JWT, HTTP
Basic...) is each connector's :meth:`~BearerTokenAuth._request_token`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from connectors.errors import ProtocolError

RENEW_BEFORE_S = 120.0  # renew this long before the token's announced expiry
DEFAULT_LIFETIME_S = 3599.0  # when a token answer leaves out expires_in


class BearerTokenAuth(ABC):
    """An :class:`connectors._http.Auth` hook holding one bearer token; thread-safe.

    Concurrent callers wait for one token request instead of each making their own.

    Args:
        clock: monotonic clock, for the token's lifetime.
        renew_before: seconds before the announced expiry at which the token is renewed.

    Attributes:
        fetches: how many tokens were requested (for health messages and tests).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 renew_before: float = RENEW_BEFORE_S) -> None:
        self._clock = clock
        self._renew_before = renew_before
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._applied = threading.local()  # the token this thread last sent
        self.fetches = 0

    def apply(self, request: Any) -> None:
        """Add ``Authorization: Bearer`` to a header mapping (or a prepared request),
        fetching a token when needed."""
        token = self.token()
        headers = getattr(request, "headers", request)
        headers["Authorization"] = f"Bearer {token}"
        self._applied.token = token

    def invalidate(self) -> None:
        """Forget the token (after a 401) so the next request fetches a new one; a late 401
        for a token another thread has already replaced keeps the newer token."""
        sent = getattr(self._applied, "token", None)
        with self._lock:
            if sent is None or sent == self._token:
                self._token = None

    def renew(self) -> str:
        """Request a new token now, whatever the cached one (a health check)."""
        with self._lock:
            self._token = None
        return self.token()

    def token(self) -> str:
        """The current access token, requested anew when missing or about to expire.

        Raises:
            AuthError, ProtocolError, UpstreamError: from :meth:`_request_token`.
        """
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                token, lifetime = self._request_token()
                self.fetches += 1
                self._token = token
                self._expires_at = self._clock() + max(0.0, lifetime - self._renew_before)
            return self._token

    def seconds_left(self) -> float:
        """Seconds until the cached token is renewed (0 when there is none)."""
        with self._lock:
            return max(0.0, self._expires_at - self._clock()) if self._token else 0.0

    @abstractmethod
    def _request_token(self) -> tuple[str, float]:
        """Ask the token endpoint for a token: ``(access_token, lifetime in seconds)``.

        Called with the lock held, so at most one request is in flight.
        """


def token_health(auth: BearerTokenAuth | None, upstream: str, kind: str) -> str:
    """A health check for an upstream without a cheap ping: obtain a new token.

    Args:
        auth: the token hook, None when no credentials are configured.
        upstream: the upstream's name.
        kind: the kind of token for the message ("app-only").

    Raises:
        AuthError, ProtocolError, UpstreamError: the token could not be obtained.
    """
    if auth is None:
        return f"{upstream}: no credentials configured"
    auth.renew()
    return f"{upstream}: ok ({kind} token obtained)"


def parse_token_response(body: Any, upstream: str) -> tuple[str, float]:
    """``(access_token, expires_in)`` from a token endpoint's JSON answer.

    Raises:
        ProtocolError: no ``access_token`` string, or an ``expires_in`` that is not a number.
    """
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise ProtocolError(f"{upstream}: token response without access_token",
                            upstream=upstream)
    try:
        lifetime = float(body.get("expires_in", DEFAULT_LIFETIME_S))
    except (TypeError, ValueError):
        raise ProtocolError(f"{upstream}: token response with a bad expires_in",
                            upstream=upstream) from None
    return body["access_token"], lifetime
