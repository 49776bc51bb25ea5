"""Wire calls to Microsoft Graph v1.0 for Teams attendance, through the shared HTTP client.

Calls used (application permissions, app-only token):

* ``GET /users/{upn}/onlineMeetings?$filter=JoinWebUrl eq '{joinUrl}'`` - the meeting id;
* ``GET /users/{upn}/onlineMeetings/{id}/attendanceReports`` - one report per session;
* ``GET /users/{upn}/onlineMeetings/{id}/attendanceReports/{rid}/attendanceRecords``.

Lists are paged with ``@odata.nextLink``; :class:`ODataPages` follows it to the end.
Retries, 429 ``Retry-After`` and token renewal after a 401 are the shared client's job.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import BaseModel, ValidationError

from connectors._http import HttpClient
from connectors.errors import PermissionDeniedError, ProtocolError, RecordError
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


class ODataPages:
    """Iterate over the ``value`` items of an OData collection, following ``@odata.nextLink``.

    Args:
        http: the Graph client.
        path: the first page, relative to the Graph base URL (or absolute).
        max_pages: a safety stop against a server that never stops paging.
    """

    def __init__(self, http: HttpClient, path: str, max_pages: int = 500) -> None:
        self._http = http
        self._path = path
        self._max_pages = max_pages
        self.pages = 0

    def __iter__(self) -> Iterator[Any]:
        url: str | None = self._path
        seen: set[str] = set()
        while url is not None:
            if url in seen or self.pages >= self._max_pages:
                raise ProtocolError("teams: @odata.nextLink paging does not end",
                                    upstream="teams")
            seen.add(url)
            try:
                body = self._http.get_json(url)
            except ValueError:  # requests' JSONDecodeError
                raise ProtocolError("teams: Graph answered something that is not JSON",
                                    upstream="teams") from None
            self.pages += 1
            items = body.get("value") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise ProtocolError("teams: collection answer without a 'value' list",
                                    upstream="teams")
            yield from items
            url = self._next(body.get("@odata.nextLink"))

    def _next(self, link: Any) -> str | None:
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
    """Validate each item; a malformed one is logged as a :class:`RecordError` and skipped."""
    out: list[M] = []
    for index, item in enumerate(items):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            ref = item.get("id") if isinstance(item, dict) else None
            error = RecordError(f"teams: malformed {what} skipped", system="teams",
                                record=str(ref or f"#{index}"),
                                detail=f"{exc.error_count()} validation error(s)")
            log.warning("%s (record %s: %s)", error.message, error.record, error.detail)
    return out


@contextlib.contextmanager
def _explain_denied() -> Iterator[None]:
    try:
        yield
    except PermissionDeniedError as exc:
        raise PermissionDeniedError(ACCESS_POLICY_HINT, upstream="teams", status=exc.status,
                                    detail=exc.detail) from None


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
        with _explain_denied():
            items = list(ODataPages(self.http, path))
        meetings = parse_items(OnlineMeeting, items, "online meeting")
        return meetings[0] if meetings else None

    def attendance_reports(self, organizer: str, meeting_id: str) -> list[AttendanceReport]:
        """The meeting's attendance reports (Graph keeps the 50 most recent)."""
        path = f"{self._meeting(organizer, meeting_id)}/attendanceReports"
        with _explain_denied():
            items = list(ODataPages(self.http, path))
        return parse_items(AttendanceReport, items, "attendance report")

    def attendance_records(self, organizer: str, meeting_id: str,
                           report_id: str) -> list[AttendanceRecord]:
        """Every attendance record of one report, all pages."""
        path = (f"{self._meeting(organizer, meeting_id)}/attendanceReports/"
                f"{quote(report_id, safe='')}/attendanceRecords")
        with _explain_denied():
            items = list(ODataPages(self.http, path))
        return parse_items(AttendanceRecord, items, "attendance record")

    @staticmethod
    def _meeting(organizer: str, meeting_id: str) -> str:
        return f"users/{user_segment(organizer)}/onlineMeetings/{quote(meeting_id, safe='')}"
