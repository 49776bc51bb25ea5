"""skolo.lv (Moodle) connector: asynchronous-work evidence from Moodle web services (point 31).

Use :func:`build` to get a :class:`~connectors.moodle.source.MoodleActivitySource`.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from connectors._http import CALLS, CallStats, HttpClient, HttpSettings, RateLimiter
from connectors.errors import ConfigError
from connectors.moodle.auth import TokenAuth
from connectors.moodle.client import UPSTREAM, MoodleClient, login
from connectors.moodle.settings import MoodleSettings
from connectors.moodle.source import MoodleActivitySource

__all__ = ["MoodleActivitySource", "MoodleClient", "MoodleSettings", "build"]


def build(settings: MoodleSettings, *, session: requests.Session | None = None,
          stats: CallStats | None = None,
          sleep: Callable[[float], None] | None = None) -> MoodleActivitySource:
    """The Moodle activity source for one run, wired through the shared HTTP client.

    Args:
        settings: the ``[moodle]`` settings.
        session: optional ``requests`` session (tests); a new one otherwise.
        stats: call counters (default: the process-wide :data:`connectors._http.CALLS`).
        sleep: how the client waits between retries (tests pass a no-op).

    Raises:
        ConfigError: credentials are missing.
    """
    missing = settings.missing()
    if missing:
        raise ConfigError("moodle: missing settings: " + ", ".join(f"moodle.{m}" for m in missing),
                          setting=f"moodle.{missing[0]}")
    http = HttpClient(
        upstream=UPSTREAM,
        base_url=settings.base_url,
        limiter=RateLimiter(settings.rate_per_s),
        settings=HttpSettings(connect_timeout=settings.connect_timeout,
                              total_timeout=settings.total_timeout,
                              max_body_bytes=int(settings.max_answer_mb * 1_000_000),
                              read_timeout=settings.read_timeout,
                              ca_bundle=settings.ca_bundle),
        session=session or requests.Session(),
        stats=stats or CALLS,
        **({"sleep": sleep} if sleep is not None else {}),
    )
    token = settings.token if settings.token and settings.token.get_secret_value().strip() else None
    if token is not None:
        auth = TokenAuth(token=token)
    else:
        password = settings.password
        assert password is not None  # settings.missing() checked it
        auth = TokenAuth(login=lambda: login(http, settings.username, password, settings.service))
    return MoodleActivitySource(MoodleClient(http, auth), settings)
