"""Wire calls to Microsoft Graph v1.0 for Teams attendance, through the shared HTTP client.

Calls used (application permissions, app-only token):

* ``GET /users/{upn}?$select=id`` - the organizer's object ID (``User.Read.All``): the
  online meeting calls take the object ID only, a user principal name there gives 404;
* ``GET /users/{id}/onlineMeetings?$filter=JoinWebUrl eq '{joinUrl}'`` - the meeting id;
* ``GET /users/{id}/onlineMeetings/{mid}/attendanceReports`` - one report per ended session
  (the 50 most recent);
* ``GET /users/{id}/onlineMeetings/{mid}/attendanceReports/{rid}/attendanceRecords``.

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
from connectors.errors import PermissionDeniedError, ProtocolError
from connectors.teams.models import AttendanceRecord, AttendanceReport, GraphUser, OnlineMeeting

log = logging.getLogger("kartiba.teams")

M = TypeVar("M", bound=BaseModel)

MAX_REPORTS = 50  # Graph lists only the 50 most recent attendance reports of a meeting
USER_READ_HINT = (
    "teams: Graph refused to look up the organizer's object ID (HTTP 403). The app needs "
    "the application permission User.Read.All with admin consent."
)
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


def user_segment(user: str) -> str:
    """A ``/users/{id | userPrincipalName}`` path segment (``@`` kept, the rest escaped)."""
    return quote(user.strip(), safe="@")


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

    def user_id(self, upn: str) -> str:
        """The object ID of the user with this principal name (or e-mail).

        Raises:
            NotFoundError: no such user in the tenant.
            PermissionDeniedError: the app lacks ``User.Read.All``.
            ProtocolError: an answer without an id.
        """
        try:
            body = self.http.get_json(f"users/{user_segment(upn)}?$select=id")
        except ValueError:  # requests' JSONDecodeError
            raise ProtocolError("teams: Graph answered something that is not JSON",
                                upstream="teams") from None
        except PermissionDeniedError as exc:
            raise PermissionDeniedError(USER_READ_HINT, upstream="teams", status=exc.status,
                                        detail=exc.detail) from None
        users = parse_items(GraphUser, [body], "user")
        if not users:
            raise ProtocolError("teams: user answer without an id", upstream="teams")
        return users[0].id

    def find_meeting(self, organizer: str, join_url: str) -> OnlineMeeting | None:
        """The online meeting with this join URL under the organizer's object ID, or None.

        Raises:
            PermissionDeniedError: 403 - the application access policy does not cover the
                user, or the user is not the meeting's organizer (see :func:`policy_denied`).
        """
        expr = f"JoinWebUrl eq {odata_quote(join_url)}"
        path = f"users/{user_segment(organizer)}/onlineMeetings?$filter={quote(expr, safe=chr(39))}"
        items = list(ODataPages(self.http, path))
        meetings = parse_items(OnlineMeeting, items, "online meeting")
        return meetings[0] if meetings else None

    def attendance_reports(self, organizer: str, meeting_id: str) -> list[AttendanceReport]:
        """The meeting's attendance reports: one per ended session, the 50 most recent."""
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


_POLICY_WORDS = ("application access policy", "application is not allowed to perform")


def policy_denied(exc: PermissionDeniedError) -> bool:
    """Whether a 403 is the missing application access policy (or permission), rather than
    a user who may not read this meeting (not its organizer or co-organizer)."""
    return any(word in exc.detail.casefold() for word in _POLICY_WORDS)
