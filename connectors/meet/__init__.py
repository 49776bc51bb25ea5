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
from connectors.meet.auth import DelegatedAuths, load_service_account
from connectors.meet.client import MeetClients
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
        registry: process-wide rate limiters (one bucket per service account, whichever
            teacher it acts as).

    Raises:
        ConfigError: a required setting is empty or the service account key is unusable.
    """
    missing = settings.missing()
    if missing:
        raise ConfigError(f"meet: missing setting(s) {', '.join('meet.' + m for m in missing)}",
                          setting=f"meet.{missing[0]}")
    credentials = load_service_account(settings)
    session = session or requests.Session()
    http_settings = HttpSettings(connect_timeout=settings.connect_timeout,
                                 total_timeout=settings.total_timeout,
                                 max_body_bytes=int(settings.max_answer_mb * 1_000_000),
                                 read_timeout=settings.read_timeout,
                                 ca_bundle=settings.ca_bundle)
    if settings.ca_bundle:
        session.verify = settings.ca_bundle
    auths = DelegatedAuths(credentials, session,
                           (settings.connect_timeout, settings.read_timeout))
    limiter = registry.get(("meet", auths.client_email), settings.rate_per_s)
    clients = MeetClients(
        lambda subject: HttpClient(upstream="meet", base_url=settings.api_url,
                                   auth=auths.for_subject(subject), limiter=limiter,
                                   settings=http_settings, session=session, sleep=sleep,
                                   stats=stats))
    return MeetMeetingSource(clients, auths, fallback_subject=settings.subject.strip(),
                             retention_days=settings.retention_days, now=now,
                             before=dt.timedelta(minutes=policy_before_min),
                             after=dt.timedelta(minutes=policy_after_min))
