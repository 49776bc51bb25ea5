"""Moodle web-service authentication: a token in the form body, never in a header or the URL.

Moodle's REST server reads the token from the ``wstoken`` request parameter. It is added to
the form-encoded body when the request is prepared (a ``requests`` auth hook), so it never
appears in a URL, a log line or an exception (the shared client scrubs ``wstoken=`` too).

Two sources of the token: a static one from the settings, or a login with username and
password at ``/login/token.php`` (done lazily once per run, renewed once after ``invalidtoken``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from pydantic import SecretStr

from connectors.errors import ConfigError

log = logging.getLogger("kartiba.moodle")

REST_PATH = "/webservice/rest/server.php"


class TokenAuth(requests.auth.AuthBase):
    """Adds ``wstoken`` to REST requests; implements the shared client's ``Auth`` hooks.

    Args:
        token: a fixed token (settings), or None when ``login`` provides one.
        login: called without arguments to obtain a fresh token (password login).
    """

    def __init__(self, token: SecretStr | None = None,
                 login: Callable[[], SecretStr] | None = None) -> None:
        if token is None and login is None:
            raise ConfigError("moodle: set moodle.token or moodle.username + moodle.password",
                              setting="moodle.token")
        self._token = token
        self._login = login
        self._lock = threading.Lock()

    @property
    def renewable(self) -> bool:
        """Whether a refused token can be replaced (password login) rather than being fatal."""
        return self._login is not None

    # -- the shared client's Auth protocol

    def apply(self, request: Any) -> None:
        """Make sure a token exists before the request is sent (logs in when needed)."""
        self._current()

    def invalidate(self) -> None:
        """Forget a renewable token so that the next request logs in again."""
        if self._login is not None:
            with self._lock:
                self._token = None

    # -- requests' auth hook

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        if not urlsplit(prepared.url or "").path.endswith(REST_PATH):
            return prepared  # /login/token.php and anything else: no token
        body = prepared.body or ""
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        pairs = [(k, v) for k, v in parse_qsl(body, keep_blank_values=True) if k != "wstoken"]
        pairs.insert(0, ("wstoken", self._current().get_secret_value()))
        prepared.prepare_body(urlencode(pairs), None)
        return prepared

    def _current(self) -> SecretStr:
        with self._lock:
            if self._token is None:
                assert self._login is not None
                log.info("moodle: obtaining a web-service token by login")
                self._token = self._login()
            return self._token
