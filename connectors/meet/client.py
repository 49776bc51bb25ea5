"""Wire calls to the Google Meet REST API v2, through the shared HTTP client.

Calls used (scope ``meetings.space.readonly``, a token delegated by the lesson's teacher:
the API shows a conference only to its space owner or a participant):

* ``GET /conferenceRecords?filter=space.meeting_code = "abc-defg-hij" AND start_time>=...``;
* ``GET /{conferenceRecord}/participants``;
* ``GET /{participant}/participantSessions``.

Lists are paged with ``pageToken``/``nextPageToken``; :class:`PageTokenPages` follows them.
Retries, 429 (Google promises no ``Retry-After``: the shared client backs off exponentially
with jitter) and token renewal are the shared client's job.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from connectors import _models
from connectors._http import HttpClient
from connectors._paging import CursorPages
from connectors.errors import ProtocolError
from connectors.meet.models import ConferenceRecord, MeetParticipant, ParticipantSession

log = logging.getLogger("kartiba.meet")

M = TypeVar("M", bound=BaseModel)

RECORDS_PAGE = 100  # conferenceRecords.list maximum (larger sizes are coerced to 100)
PARTICIPANTS_PAGE = 250  # participants.list / participantSessions.list maximum

DENIED_HINT = (
    "meet: the Meet REST API refused access (HTTP 403). Enable the Google Meet REST API in "
    "the service account's Cloud project and delegate the scope "
    "https://www.googleapis.com/auth/meetings.space.readonly to its client id "
    "(Admin console, domain-wide delegation)."
)


def rfc3339(value: dt.datetime) -> str:
    """An aware datetime as an RFC 3339 UTC timestamp (``2026-11-30T07:00:00Z``)."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PageTokenPages(CursorPages):
    """Iterate over the items of a Google list method, following ``nextPageToken``.

    Args:
        http: the Meet API client.
        path: the list URL path (relative to the API root).
        items_key: the response field holding the items (absent when there are none).
        params: query parameters of the first call (kept on every page, as Google requires).
        max_pages: a safety stop against a server that never stops paging.
        denied_hint: the message of a 403 (see :class:`connectors._paging.CursorPages`).
    """

    upstream = "meet"
    not_json = "meet: the Meet API answered something that is not JSON"
    endless = "meet: nextPageToken paging does not end"

    def __init__(self, http: HttpClient, path: str, items_key: str,
                 params: dict[str, Any] | None = None, max_pages: int = 500, *,
                 denied_hint: str | None = None) -> None:
        super().__init__(http, max_pages=max_pages, denied_hint=denied_hint)
        self._path = path
        self._items_key = items_key
        self._params = dict(params or {})

    def _first(self) -> str:
        return ""  # no pageToken

    def _get(self, cursor: str) -> Any:
        params = dict(self._params)
        if cursor:
            params["pageToken"] = cursor
        return self._http.get_json(self._path, params=params)

    def _items(self, body: Any) -> list[Any]:
        if not isinstance(body, dict):
            raise ProtocolError("meet: list answer is not a JSON object", upstream="meet")
        items = body.get(self._items_key, [])
        if not isinstance(items, list):
            raise ProtocolError(f"meet: '{self._items_key}' is not a list", upstream="meet")
        return items

    def _next(self, body: Any) -> str | None:
        token = body.get("nextPageToken") or None
        if token is not None and not isinstance(token, str):
            raise ProtocolError(self.endless, upstream="meet")
        return token


def parse_items(model: type[M], items: Any, what: str) -> list[M]:
    """Validate each item; a malformed one is logged (by resource ``name``) and skipped."""
    return _models.parse_items(model, items, what, system="meet", id_field="name", log=log)


class MeetClient:
    """The Meet API calls the Meet source needs.

    Args:
        http: shared HTTP client with ``base_url`` = the API root (``.../v2``) and the
            delegated token hook.
    """

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def conference_records(self, meeting_code: str, started_from: dt.datetime,
                           started_to: dt.datetime) -> list[ConferenceRecord]:
        """Conferences held under a meeting code that started within [from, to]."""
        expr = (f'space.meeting_code = "{meeting_code}" AND '
                f'start_time>="{rfc3339(started_from)}" AND start_time<="{rfc3339(started_to)}"')
        pages = PageTokenPages(self.http, "conferenceRecords", "conferenceRecords",
                               {"filter": expr, "pageSize": RECORDS_PAGE},
                               denied_hint=DENIED_HINT)
        items = list(pages)
        return parse_items(ConferenceRecord, items, "conference record")

    def participants(self, record_name: str) -> list[MeetParticipant]:
        """Every participant of one conference record, all pages."""
        pages = PageTokenPages(self.http, f"{quote(record_name, safe='/')}/participants",
                               "participants", {"pageSize": PARTICIPANTS_PAGE},
                               denied_hint=DENIED_HINT)
        items = list(pages)
        return parse_items(MeetParticipant, items, "participant")

    def sessions(self, participant_name: str) -> list[ParticipantSession]:
        """Every session (join to leave) of one participant, all pages."""
        pages = PageTokenPages(self.http,
                               f"{quote(participant_name, safe='/')}/participantSessions",
                               "participantSessions", {"pageSize": PARTICIPANTS_PAGE},
                               denied_hint=DENIED_HINT)
        items = list(pages)
        return parse_items(ParticipantSession, items, "participant session")


class MeetClients:
    """One :class:`MeetClient` per impersonated user, sharing session, limiter and retries.

    Args:
        http_for: makes the HTTP client acting as a user ("" = the service account itself).
    """

    def __init__(self, http_for: Callable[[str], HttpClient]) -> None:
        self._http_for = http_for
        self._lock = threading.Lock()
        self._clients: dict[str, MeetClient] = {}

    def as_user(self, subject: str) -> MeetClient:
        """The client whose calls act as ``subject``."""
        key = subject.strip().casefold()
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = MeetClient(self._http_for(subject.strip()))
            return client
