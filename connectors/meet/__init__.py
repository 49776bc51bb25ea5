"""Google Meet connector: conference records through the Meet REST API v2.

``build(settings)`` returns a :class:`MeetMeetingSource` (a ``MeetingSource``); create one
per run, it caches what it fetched.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import requests

from connectors._http import CALLS, LIMITERS, CallStats, HttpClient, HttpSettings, LimiterRegistry
from connectors.errors import ConfigError
from connectors.meet.auth import JwtBearerAuth, load_service_account
from connectors.meet.client import MeetClient
from connectors.meet.settings import MeetSettings
from connectors.meet.source import MeetMeetingSource

__all__ = ["MeetMeetingSource", "MeetSettings", "build"]


def build(settings: MeetSettings, *, now: dt.datetime | None = None,
          policy_before_min: int = 30, policy_after_min: int = 120,
          session: requests.Session | None = None,
          sleep: Callable[[float], None] = time.sleep, stats: CallStats = CALLS,
          registry: LimiterRegistry = LIMITERS) -> MeetMeetingSource:
    """Wire the Meet source from its settings.

    Args:
        settings: the ``[meet]`` section.
        now: the run's instant, for the 30-day retention check (None = the current time).
        policy_before_min, policy_after_min: the lesson window [start - before, end + after].
        session: a requests session to share (a new one by default).
        sleep: how retries wait (tests pass a recorder).
        stats: where calls are counted.
        registry: process-wide rate limiters (Meet limits per project and user).

    Raises:
        ConfigError: a required setting is empty or the service account key is unusable.
    """
    missing = settings.missing()
    if missing:
        raise ConfigError(f"meet: missing setting(s) {', '.join('meet.' + m for m in missing)}",
                          setting=f"meet.{missing[0]}")
    key = load_service_account(settings)
    session = session or requests.Session()
    http_settings = HttpSettings(connect_timeout=settings.connect_timeout,
                                 read_timeout=settings.read_timeout,
                                 ca_bundle=settings.ca_bundle)
    token_http = HttpClient(upstream="meet", base_url=settings.token_url,
                            settings=http_settings, session=session, sleep=sleep, stats=stats)
    auth = JwtBearerAuth(token_http, key, settings.subject, settings.token_url)
    limiter = registry.get(("meet", key.client_email, settings.subject), settings.rate_per_s)
    api = HttpClient(upstream="meet", base_url=settings.api_url, auth=auth, limiter=limiter,
                     settings=http_settings, session=session, sleep=sleep, stats=stats)
    return MeetMeetingSource(MeetClient(api), auth, retention_days=settings.retention_days,
                             now=now, before=dt.timedelta(minutes=policy_before_min),
                             after=dt.timedelta(minutes=policy_after_min))
