"""Microsoft Teams connector: attendance reports through Microsoft Graph (app-only).

``build(settings)`` returns a :class:`TeamsMeetingSource` (a ``MeetingSource``); create one
per run, it caches what it fetched.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import requests

from connectors._http import CALLS, LIMITERS, CallStats, HttpClient, HttpSettings, LimiterRegistry
from connectors.errors import ConfigError
from connectors.teams.auth import ClientCredentialsAuth
from connectors.teams.client import GraphClient
from connectors.teams.settings import TeamsSettings
from connectors.teams.source import TeamsMeetingSource

__all__ = ["TeamsMeetingSource", "TeamsSettings", "build"]


def build(settings: TeamsSettings, *, now: dt.datetime | None = None,
          policy_before_min: int = 30, policy_after_min: int = 120,
          session: requests.Session | None = None,
          sleep: Callable[[float], None] = time.sleep, stats: CallStats = CALLS,
          registry: LimiterRegistry = LIMITERS) -> TeamsMeetingSource:
    """Wire the Teams source from its settings.

    Args:
        settings: the ``[teams]`` section.
        now: the run's instant (until the policy's window after a lesson has passed, a
            session may still run and its report be missing); None = the current time.
        policy_before_min, policy_after_min: the lesson window [start - before, end + after].
        session: a requests session to share (a new one by default).
        sleep: how retries wait (tests pass a recorder).
        stats: where calls are counted.
        registry: process-wide rate limiters (Graph throttles per app and tenant).

    Raises:
        ConfigError: a required setting is empty.
    """
    missing = settings.missing()
    if missing:
        raise ConfigError(f"teams: missing setting(s) {', '.join('teams.' + m for m in missing)}",
                          setting=f"teams.{missing[0]}")
    session = session or requests.Session()
    http_settings = HttpSettings(connect_timeout=settings.connect_timeout,
                                 total_timeout=settings.total_timeout,
                                 max_body_bytes=int(settings.max_answer_mb * 1_000_000),
                                 read_timeout=settings.read_timeout,
                                 ca_bundle=settings.ca_bundle)
    login = HttpClient(upstream="teams", base_url=settings.login_url, settings=http_settings,
                       session=session, sleep=sleep, stats=stats)
    auth = ClientCredentialsAuth(login, settings.tenant_id, settings.client_id,
                                 settings.client_secret)
    limiter = registry.get(("teams", settings.tenant_id, settings.client_id),
                           settings.rate_per_s)
    graph = HttpClient(upstream="teams", base_url=settings.graph_url, auth=auth,
                       limiter=limiter, settings=http_settings, session=session, sleep=sleep,
                       stats=stats)
    return TeamsMeetingSource(GraphClient(graph), auth, now=now,
                              before=dt.timedelta(minutes=policy_before_min),
                              after=dt.timedelta(minutes=policy_after_min))
