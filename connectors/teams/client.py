"""Wire calls to Microsoft Graph v1.0 for Teams attendance, through the shared HTTP client.

Calls used (application permissions, app-only token):

* ``GET /users/{upn}/onlineMeetings?$filter=JoinWebUrl eq '{joinUrl}'`` - the meeting id;
* ``GET /users/{upn}/onlineMeetings/{id}/attendanceReports`` - one report per session;
* ``GET /users/{upn}/onlineMeetings/{id}/attendanceReports/{rid}/attendanceRecords``.

Lists are paged with ``@odata.nextLink``; :class:`ODataPages` follows it to the end.
Retries, 429 ``Retry-After`` and token renewal after a 401 are the shared client's job.
"""

from __future__ import annotations

import logging
import re
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import BaseModel

from connectors import _models
from connectors._http import HttpClient
from connectors._paging import CursorPages
from connectors.errors import ProtocolError
from connectors.teams.models import AttendanceRecord, AttendanceReport, OnlineMeeting

log = logging.getLogger("kartiba.teams")

M = TypeVar("M", bound=BaseModel)

ACCESS_POLICY_HINT = (
    "teams: Graph refused to read the organizer's online meetings (HTTP 403). The app needs "
    "the application permissions OnlineMeetings.Read.All and OnlineMeetingArtifact.Read.All "
    "with admin consent, and a Teams application access policy that allows this app "
    "(New-CsApplicationAccessPolicy, then Grant-CsApplicationAccessPolicy for the teachers "
    "or -Global)."
)


def odata_quote(value: str) -> str:
    """An OData string literal: single quotes around, each ``'`` inside doubled."""
    return "'" + value.replace("'", "''") + "'"


_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def teams_encoded(url: str) -> str:
    """A join URL in the percent-encoded form Teams issues and Graph stores as joinWebUrl
    (``19%3ameeting_...%40thread.v2/0?context=%7b%22Tid%22...``, lower-case escapes)."""
    parts = urlsplit(url)
    path = quote(unquote(parts.path), safe="/")
    pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        name, sep, value = pair.partition("=")
        pairs.append(name + sep + quote(unquote(value), safe=""))
    encoded = urlunsplit((parts.scheme, parts.netloc, path, "&".join(pairs), ""))
    return _ESCAPE.sub(lambda m: m.group(0).lower(), encoded)


def user_segment(upn: str) -> str:
    """The ``{id | userPrincipalName}`` path segment (``@`` kept as is, the rest escaped)."""
    return quote(upn.strip(), safe="@")


class ODataPages(CursorPages):
    """Iterate over the ``value`` items of an OData collection, following ``@odata.nextLink``.

    Args:
        http: the Graph client.
        path: the first page, relative to the Graph base URL (or absolute).
        max_pages: a safety stop against a server that never stops paging.
        denied_hint: the message of a 403 (see :class:`connectors._paging.CursorPages`).
    """

    upstream = "teams"
    not_json = "teams: Graph answered something that is not JSON"
    endless = "teams: @odata.nextLink paging does not end"

    def __init__(self, http: HttpClient, path: str, max_pages: int = 500, *,
                 denied_hint: str | None = None) -> None:
        super().__init__(http, max_pages=max_pages, denied_hint=denied_hint)
        self._path = path

    def _first(self) -> str:
        return self._path

    def _get(self, cursor: str) -> Any:
        return self._http.get_json(cursor)

    def _items(self, body: Any) -> list[Any]:
        items = body.get("value") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ProtocolError("teams: collection answer without a 'value' list",
                                upstream="teams")
        return items

    def _next(self, body: Any) -> str | None:
        link = body.get("@odata.nextLink")
        if link is None:
            return None
        if not isinstance(link, str) or not _same_origin(link, self._http.base_url):
            # never send the bearer token anywhere but the configured Graph host
            raise ProtocolError("teams: @odata.nextLink points outside the Graph base URL",
                                upstream="teams")
        return link


def _same_origin(link: str, base_url: str) -> bool:
    a, b = urlsplit(link), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def parse_items(model: type[M], items: Any, what: str) -> list[M]:
    """Validate each item; a malformed one is logged (by ``id``) and skipped."""
    return _models.parse_items(model, items, what, system="teams", id_field="id", log=log)


class GraphClient:
    """The Graph calls the Teams source needs.

    Args:
        http: shared HTTP client with ``base_url`` = the Graph v1.0 root and the app-only
            token hook.
    """

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def find_meeting(self, organizer: str, join_url: str) -> OnlineMeeting | None:
        """The organizer's online meeting with this join URL, or None."""
        expr = f"JoinWebUrl eq {odata_quote(join_url)}"
        path = f"users/{user_segment(organizer)}/onlineMeetings?$filter={quote(expr, safe=chr(39))}"
        items = list(ODataPages(self.http, path, denied_hint=ACCESS_POLICY_HINT))
        meetings = parse_items(OnlineMeeting, items, "online meeting")
        return meetings[0] if meetings else None

    def attendance_reports(self, organizer: str, meeting_id: str) -> list[AttendanceReport]:
        """The meeting's attendance reports (Graph keeps the 50 most recent)."""
        path = f"{self._meeting(organizer, meeting_id)}/attendanceReports"
        items = list(ODataPages(self.http, path, denied_hint=ACCESS_POLICY_HINT))
        return parse_items(AttendanceReport, items, "attendance report")

    def attendance_records(self, organizer: str, meeting_id: str,
                           report_id: str) -> list[AttendanceRecord]:
        """Every attendance record of one report, all pages."""
        path = (f"{self._meeting(organizer, meeting_id)}/attendanceReports/"
                f"{quote(report_id, safe='')}/attendanceRecords")
        items = list(ODataPages(self.http, path, denied_hint=ACCESS_POLICY_HINT))
        return parse_items(AttendanceRecord, items, "attendance record")

    @staticmethod
    def _meeting(organizer: str, meeting_id: str) -> str:
        return f"users/{user_segment(organizer)}/onlineMeetings/{quote(meeting_id, safe='')}"
