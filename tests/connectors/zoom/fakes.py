"""Test helpers for the Zoom connector: fixtures, an in-memory webhook ledger, client factory."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from connectors._http import CallStats, HttpClient, HttpSettings, RateLimiter
from connectors.zoom.auth import ZoomAuth, classify_token_response
from connectors.zoom.client import HEADROOM, PLAN_RATES, ZoomClient

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "zoom"
API = "https://api.zoom.us/v2"
OAUTH = "https://zoom.us/oauth/token"
ACCOUNT = "Cx3wERazSgup7ZWRHQM8-w"
CLIENT_ID = "fixture-client-id"
CLIENT_SECRET = "fixture-client-secret-do-not-log"
WEBHOOK_SECRET = "wh-secret-token-fixture"
NOW = 1_764_486_100.0  # wall clock of the webhook tests (2026-11-30T07:01:40Z)


def signed_headers(body: bytes, ts: str, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """Headers as Zoom sends them, computed here from Zoom's documented recipe."""
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-zm-request-timestamp": ts, "x-zm-signature": f"v0={digest}",
            "Content-Type": "application/json"}


def fixture(name: str) -> Any:
    """A JSON fixture, decoded."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class FakeLedger:
    """An in-memory :class:`connectors.base.WebhookLedger` (tests only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    def add_event(self, system: str, event_id: str, meeting_key: str, kind: str,
                  at: dt.datetime, payload: dict) -> bool:
        with self._lock:
            if (system, event_id) in self.rows:
                return False
            self.rows[(system, event_id)] = {"meeting_key": meeting_key, "kind": kind, "at": at,
                                             "payload": payload}
            return True

    def events(self, system: str, meeting_key: str) -> list[dict]:
        with self._lock:
            return [row["payload"] for (sys_, _), row in self.rows.items()
                    if sys_ == system and row["meeting_key"] == meeting_key]


class FakeClock:
    """A settable monotonic clock."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_client(*, plan: str = "pro", api: str = API, oauth: str = OAUTH,
                sleeps: list[float] | None = None, clock: FakeClock | None = None,
                page_size: int = 300, max_retry_after: float = 120.0,
                limiter_sleeps: list[float] | None = None) -> tuple[ZoomClient, CallStats]:
    """A ZoomClient wired like ``connectors.zoom.build_client``, with fake sleeps and clock.

    ``sleeps`` records the shared client's retry waits (Retry-After); ``limiter_sleeps`` the
    category limiters' pacing waits (real waits when None).
    """
    stats = CallStats()
    record = sleeps.append if sleeps is not None else (lambda _s: None)
    transport = HttpSettings(max_retry_after=max_retry_after)
    session = requests.Session()
    token_http = HttpClient("zoom", settings=transport, session=session, stats=stats,
                            sleep=record, classify=classify_token_response)
    auth = ZoomAuth(token_http, oauth, ACCOUNT, CLIENT_ID, SecretStr(CLIENT_SECRET),
                    clock=clock or FakeClock())
    http = HttpClient("zoom", base_url=api, auth=auth, settings=transport, session=session,
                      stats=stats, sleep=record)
    pace = {"sleep": limiter_sleeps.append} if limiter_sleeps is not None else {}
    limiters = {cat: RateLimiter(rate * HEADROOM, burst=1.0, **pace)
                for cat, rate in PLAN_RATES[plan].items()}
    client = ZoomClient(http, auth, limiters, plan=plan, page_size=page_size,
                        clock=clock or FakeClock())
    return client, stats
