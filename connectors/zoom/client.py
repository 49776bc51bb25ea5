"""Wire calls to the Zoom REST API (v2) through the shared :class:`connectors._http.HttpClient`.

Zoom limits requests per account and *rate-limit category* ("Light", "Medium", "Heavy"),
so each call draws from the limiter of its category, sized from the account's plan:

=========  ======  ==========
category   Pro     Business
=========  ======  ==========
Light      30/s    80/s
Medium     20/s    60/s
Heavy      10/s    40/s (daily cap 30 000 Pro / 60 000 Business)
=========  ======  ==========

A 429 carries ``Retry-After`` (seconds, or for the daily cap an ISO date of the reset): the
shared client waits and retries when the wait is short; a long wait (the daily cap) fails the
call with :class:`RateLimitedError`, and this client then refuses further calls of that
category until the reset instead of spending requests on more 429s.

Meeting UUIDs go into paths URL-encoded; a UUID that starts with ``/`` or contains ``//``
must be encoded twice (Zoom answers a single-encoded one with 404 "Meeting does not exist").
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import ValidationError

from connectors._http import LIMITERS, HttpClient, LimiterRegistry, RateLimiter
from connectors.errors import (
    NotFoundError,
    NotReadyError,
    ProtocolError,
    RateLimitedError,
    RecordError,
    TransientError,
    UpstreamError,
)
from connectors.zoom.auth import ZoomAuth
from connectors.zoom.models import (
    InstancesResponse,
    MeetingDetails,
    MeetingRecordings,
    ParticipantsPage,
    PastMeetingInstance,
    RecordingFile,
    ReportParticipant,
)

log = logging.getLogger("kartiba.zoom")

PAGE_SIZE = 300  # the largest page the participant report allows
CODE_MEETING_NOT_FOUND = 3001  # "Meeting does not exist" / not ended yet (no report yet)
CODE_RECORDING_NOT_FOUND = 3301  # "This recording does not exist."
CODE_INVALID_REQUEST = 300  # e.g. "The next page token is invalid or expired."
GAP_MEETING_RUNNING = "meeting_running"  # mappings.model.EvidenceGap values
GAP_REPORT_NOT_READY = "report_not_ready"


class Category(StrEnum):
    """Zoom's rate-limit categories ("Rate Limit Label" of each endpoint)."""

    LIGHT = "Light"
    MEDIUM = "Medium"
    HEAVY = "Heavy"


PLAN_RATES: Mapping[str, Mapping[Category, float]] = {
    "pro": {Category.LIGHT: 30, Category.MEDIUM: 20, Category.HEAVY: 10},
    "business": {Category.LIGHT: 80, Category.MEDIUM: 60, Category.HEAVY: 40},
}
HEAVY_DAILY_CAP: Mapping[str, int] = {"pro": 30_000, "business": 60_000}
HEADROOM = 0.9  # default share of the plan's limits this app paces at (zoom.rate_share)


def encode_uuid(uuid: str) -> str:
    """A meeting UUID as a path segment: encoded twice when it starts with ``/`` or has ``//``.

    >>> encode_uuid("4444AAAiAAAAAiAiAiiAii==")
    '4444AAAiAAAAAiAiAiiAii%3D%3D'
    >>> encode_uuid("/ajXp112QmuoKj4854875==")
    '%252FajXp112QmuoKj4854875%253D%253D'
    """
    once = quote(uuid, safe="")
    if uuid.startswith("/") or "//" in uuid:
        return quote(once, safe="")
    return once


_CODE = re.compile(r'"code"\s*:\s*(\d+)')


def not_ready(message: str, gap: str, *, status: int | None = None,
              detail: str = "") -> NotReadyError:
    """A :class:`NotReadyError` carrying the evidence gap (``meeting_running``...) as ``gap``."""
    error = NotReadyError(message, upstream="zoom", status=status, detail=detail)
    error.gap = gap
    return error


def error_code(exc: UpstreamError) -> int | None:
    """Zoom's numeric error code from an error's (scrubbed) body, e.g. 3001."""
    text = exc.detail or ""
    try:
        code = json.loads(text).get("code")
        return int(code) if code is not None else None
    except (ValueError, AttributeError, TypeError):
        match = _CODE.search(text)
        return int(match.group(1)) if match else None


def plan_limiters(account_id: str, plan: str, registry: LimiterRegistry = LIMITERS,
                  share: float = HEADROOM) -> dict[Category, RateLimiter]:
    """One process-wide limiter per category for this account, sized from the plan.

    The bucket holds a single token, so requests are spaced evenly at ``share`` of the plan's
    rate. Zoom counts a category's requests per second: at 0.9 of the limit, eleven evenly
    spaced requests span 1.1 s, so a request must arrive over 100 ms late before a
    one-second window holds one too many; and the account's other apps keep a tenth of the
    quota (lower ``zoom.rate_share`` when they need more).
    """
    if not 0 < share <= 1:
        raise ValueError("share must be in (0, 1]")
    rates = PLAN_RATES[plan]
    return {cat: registry.get(("zoom", account_id, cat.value), rate * share, burst=1.0)
            for cat, rate in rates.items()}


class ZoomClient:
    """The Zoom endpoints kartiba reads. Thread-safe; every call goes through ``http``.

    Args:
        http: the shared client for ``api_url`` (with the :class:`ZoomAuth` hook).
        auth: the token hook (also used by :meth:`health`).
        limiters: the limiter of each rate-limit category.
        plan: the account's plan (for messages).
        download_hosts: extra hosts the bearer token may be sent to for file downloads
            (besides the API host and ``*.zoom.us``).
        page_size: rows per participant-report page (at most 300).
        clock: monotonic clock, for the daily-cap block.
    """

    def __init__(self, http: HttpClient, auth: ZoomAuth,
                 limiters: Mapping[Category, RateLimiter], *, plan: str = "pro",
                 download_hosts: frozenset[str] = frozenset(), page_size: int = PAGE_SIZE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.http = http
        self.auth = auth
        self.plan = plan
        self._limiters = dict(limiters)
        self._page_size = max(1, min(PAGE_SIZE, page_size))
        self._clock = clock
        api_host = (urlsplit(http.base_url).hostname or "").lower()
        self._download_hosts = frozenset({api_host, *(h.lower() for h in download_hosts)})
        self._blocked: dict[Category, float] = {}
        self._lock = threading.Lock()
        self.record_errors: list[RecordError] = []

    # -- endpoints

    def health(self) -> str:
        """Fetch (or reuse) the access token; raises on bad credentials."""
        self.auth.token()
        return f"zoom: ok (token valid {self.auth.seconds_left():.0f} s, plan {self.plan})"

    def instances(self, meeting_id: str) -> list[PastMeetingInstance]:
        """Instances of a meeting id (``GET /past_meetings/{id}/instances``, Medium).

        Raises:
            NotFoundError: Zoom has no meeting with this id.
        """
        path = f"past_meetings/{quote(meeting_id, safe='')}/instances"
        body = self._get(path, Category.MEDIUM)
        page = self._parse(InstancesResponse, body, path)
        out: list[PastMeetingInstance] = []
        for i, row in enumerate(page.meetings):
            try:
                out.append(PastMeetingInstance.model_validate(row))
            except ValidationError as exc:
                self._bad_record(f"meeting {meeting_id} instance #{i}", exc)
        return out

    def meeting(self, meeting_id: str) -> MeetingDetails | None:
        """The meeting's details, e.g. whether it runs now (``GET /meetings/{id}``, Light).

        Returns None when Zoom has no such meeting (3001, e.g. an ended instant meeting).
        """
        path = f"meetings/{quote(meeting_id, safe='')}"
        try:
            body = self._get(path, Category.LIGHT)
        except NotFoundError:
            return None
        return self._parse(MeetingDetails, body, path)

    def participants(self, uuid: str) -> Iterator[ReportParticipant]:
        """Every row of an instance's participant report, page after page (Heavy).

        Raises:
            NotReadyError: Zoom has no report yet (error 3001 for a listed, ended instance:
                the report is still being processed); ``gap`` is ``report_not_ready``.
        """
        path = f"report/meetings/{encode_uuid(uuid)}/participants"
        token, page_no = "", 0
        while True:
            params: dict[str, Any] = {"page_size": self._page_size}
            if token:
                params["next_page_token"] = token
            body = self._report_page(path, uuid, params)
            page = self._parse(ParticipantsPage, body, path)
            page_no += 1
            for i, row in enumerate(page.participants):
                try:
                    yield ReportParticipant.model_validate(row)
                except ValidationError as exc:
                    self._bad_record(f"instance {uuid} page {page_no} row {i}", exc)
            if not page.next_page_token:
                return
            if page.next_page_token == token:
                raise ProtocolError(f"zoom: participant report of {uuid} repeats its page token",
                                    upstream="zoom")
            token = page.next_page_token

    def recordings(self, uuid: str) -> MeetingRecordings | None:
        """The cloud recording of an instance (``GET /meetings/{uuid}/recordings``, Light).

        Returns None when the instance has no cloud recording (error 3301, or 3001).
        """
        path = f"meetings/{encode_uuid(uuid)}/recordings"
        try:
            body = self._get(path, Category.LIGHT)
        except NotFoundError as exc:
            if error_code(exc) in (CODE_RECORDING_NOT_FOUND, CODE_MEETING_NOT_FOUND, None):
                return None
            raise
        return self._parse(MeetingRecordings, body, path)

    def chat_files(self, recordings: MeetingRecordings) -> list[RecordingFile]:
        """The CHAT files of a recording that can be downloaded (malformed entries reported)."""
        out: list[RecordingFile] = []
        for i, row in enumerate(recordings.recording_files):
            try:
                item = RecordingFile.model_validate(row)
            except ValidationError as exc:
                self._bad_record(f"instance {recordings.uuid} recording file #{i}", exc)
                continue
            if item.is_chat and item.download_url and item.recording_start is not None:
                out.append(item)
        return out

    def download(self, url: str) -> bytes:
        """A recording file's content, downloaded with the bearer token.

        Raises:
            ProtocolError: the URL points at a host the token must not be sent to.
        """
        host = (urlsplit(url).hostname or "").lower()
        if not (host in self._download_hosts or host == "zoom.us" or host.endswith(".zoom.us")):
            raise ProtocolError("zoom: a recording download URL points outside Zoom; skipped",
                                upstream="zoom", detail=host)
        self._check_block(Category.LIGHT)
        return self.http.request("GET", url).content

    # -- internals

    def _report_page(self, path: str, uuid: str, params: dict[str, Any]) -> Any:
        try:
            return self._get(path, Category.HEAVY, params=params)
        except UpstreamError as exc:
            code = error_code(exc)
            if code == CODE_MEETING_NOT_FOUND and exc.status in (400, 404):
                raise not_ready(
                    f"zoom: no participant report for instance {uuid} yet (3001)",
                    GAP_REPORT_NOT_READY, status=exc.status, detail=exc.detail) from None
            if code == CODE_INVALID_REQUEST and "next_page_token" in params:
                raise TransientError(
                    f"zoom: the page token of instance {uuid}'s report expired; try again",
                    upstream="zoom", status=exc.status, detail=exc.detail) from None
            raise

    def _get(self, path: str, category: Category, **kwargs: Any) -> Any:
        self._check_block(category)
        try:
            response = self.http.request("GET", path, limiter=self._limiters.get(category),
                                         **kwargs)
        except RateLimitedError as exc:
            self._block(category, exc.retry_after)
            raise
        try:
            return response.json()
        except ValueError:
            raise ProtocolError(f"zoom: GET {path.split('?')[0]} did not answer JSON",
                                upstream="zoom", status=response.status_code) from None

    def _check_block(self, category: Category) -> None:
        with self._lock:
            until = self._blocked.get(category, 0.0)
        left = until - self._clock()
        if left > 0:
            raise RateLimitedError(
                f"zoom: {category.value} requests are over the account's limit for "
                f"{left:.0f} s more; not calling", retry_after=left, upstream="zoom", status=429)

    def _block(self, category: Category, seconds: float | None) -> None:
        if seconds is None or seconds <= 0:
            return
        with self._lock:
            self._blocked[category] = self._clock() + seconds
        log.warning("zoom: %s rate limit reached; further %s calls refused for %.0f s",
                    category.value, category.value, seconds)

    def _parse(self, model, body: Any, path: str):
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise ProtocolError(f"zoom: unexpected answer shape from {path}", upstream="zoom",
                                detail=_fields(exc)) from None

    def _bad_record(self, record: str, exc: ValidationError) -> None:
        error = RecordError(f"zoom: malformed record skipped ({record})", system="zoom",
                            record=record, detail=_fields(exc))
        with self._lock:
            self.record_errors.append(error)
        log.warning("zoom: malformed record skipped: %s (fields: %s)", record, error.detail)


def _fields(exc: ValidationError) -> str:
    """Which fields failed validation, without the values (they may be personal data)."""
    return ", ".join(sorted({".".join(str(p) for p in e["loc"]) or "(root)"
                             for e in exc.errors()}))
