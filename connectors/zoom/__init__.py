"""Zoom connector: participants and chat of Zoom meetings, and the webhook receiver.

* :func:`build` makes the :class:`ZoomMeetingSource` a run uses (``MeetingSource``).
* :func:`build_receiver` makes the :class:`WebhookReceiver` (``kartiba zoom-webhook serve``).

API calls: Server-to-Server OAuth token, ``GET /past_meetings/{id}/instances``,
``GET /report/meetings/{uuid}/participants`` (paged), ``GET /meetings/{uuid}/recordings`` and
the CHAT file download. Budget per run: 1 token + per meeting 1 instance list + the report
pages of each relevant instance (+ 1 recordings call and 1 download per relevant instance
when chat is needed).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from connectors._http import CALLS, LIMITERS, CallStats, HttpClient, HttpSettings, LimiterRegistry
from connectors.base import WebhookLedger
from connectors.errors import ConfigError
from connectors.zoom.auth import ZoomAuth, classify_token_response
from connectors.zoom.client import Category, ZoomClient, encode_uuid, plan_limiters
from connectors.zoom.settings import ZoomSettings
from connectors.zoom.source import ZoomMeetingSource
from connectors.zoom.webhook import WebhookReceiver

__all__ = [
    "Category",
    "WebhookReceiver",
    "ZoomClient",
    "ZoomMeetingSource",
    "ZoomSettings",
    "build",
    "build_client",
    "build_receiver",
    "encode_uuid",
]

UPSTREAM = "zoom"


def build_client(settings: ZoomSettings, *, session: requests.Session | None = None,
                 stats: CallStats = CALLS, registry: LimiterRegistry = LIMITERS) -> ZoomClient:
    """The API client: shared HTTP client, S2S OAuth hook and the plan's category limiters.

    Raises:
        ConfigError: a required credential is empty (the message names the settings).
    """
    missing = settings.missing()
    if missing:
        names = ", ".join(f"zoom.{name}" for name in missing)
        raise ConfigError(f"zoom: missing settings: {names}", setting=missing[0])
    transport = HttpSettings(connect_timeout=settings.connect_timeout,
                             total_timeout=settings.total_timeout,
                             max_body_bytes=int(settings.max_answer_mb * 1_000_000),
                             read_timeout=settings.read_timeout, ca_bundle=settings.ca_bundle)
    session = session or requests.Session()
    token_http = HttpClient(UPSTREAM, settings=transport, session=session, stats=stats,
                            classify=classify_token_response)
    auth = ZoomAuth(token_http, settings.oauth_url, settings.account_id, settings.client_id,
                    settings.client_secret)
    api_http = HttpClient(UPSTREAM, base_url=settings.api_url, auth=auth, settings=transport,
                          session=session, stats=stats)
    oauth_host = (urlsplit(settings.oauth_url).hostname or "").lower()
    limiters = plan_limiters(settings.account_id, settings.plan, registry,
                             share=settings.rate_share)
    return ZoomClient(api_http, auth, limiters, plan=settings.plan,
                      download_hosts=frozenset({oauth_host}))


def build(settings: ZoomSettings, webhooks: WebhookLedger | None = None, *,
          policy_before_min: int = 30, policy_after_min: int = 120,
          session: requests.Session | None = None, stats: CallStats = CALLS) -> ZoomMeetingSource:
    """The meeting source a run uses (create one per run: it caches what it fetched)."""
    client = build_client(settings, session=session, stats=stats)
    return ZoomMeetingSource(client, webhooks=webhooks, policy_before_min=policy_before_min,
                             policy_after_min=policy_after_min, max_workers=settings.max_workers)


def build_receiver(settings: ZoomSettings, ledger: WebhookLedger) -> WebhookReceiver:
    """The webhook receiver: ``build_receiver(...).serve(settings.webhook_bind).serve_forever()``.

    Raises:
        ConfigError: ``zoom.webhook_secret`` is not set.
    """
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        raise ConfigError("zoom: webhook_secret is required to receive webhooks",
                          setting="webhook_secret")
    return WebhookReceiver(settings.webhook_secret, ledger, max_age_s=settings.webhook_max_age_s)
