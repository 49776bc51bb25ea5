"""A loopback stand-in for Microsoft Graph v1.0 (Teams attendance) and its token endpoint.

Written from Microsoft's documentation, independently of ``connectors.teams``:

* ``POST /{tenant}/oauth2/v2.0/token`` - client-credentials grant (form ``client_id``,
  ``client_secret``, ``scope=https://graph.microsoft.com/.default``,
  ``grant_type=client_credentials``) -> ``{"token_type", "expires_in", "access_token"}``;
  Entra-style errors ``{"error": "invalid_client", "error_description": "AADSTS..."}``.
* ``GET /v1.0/users/{id|upn}[?$select=id]`` - a teacher of the scenario as an Entra user
  (``User.Read.All``); an unknown user is 404.
* ``GET /v1.0/users/{id}/onlineMeetings?$filter=JoinWebUrl eq '...'`` (OData string literal,
  ``''`` inside = ``'``): the **object ID** only - a user principal name in this path is 404,
  as at Graph. Only the meeting's organizer may read it (the scenario meeting's teacher):
  the same join URL asked under anyone else is 403; no meeting with that URL is an empty
  ``value``.
* ``GET .../onlineMeetings/{id}/attendanceReports[/{reportId}[/attendanceRecords]]`` - a
  report exists only once its session has ended (by ``world.now``): a running session has
  none; at most the 50 most recent are listed.

Times carry Graph's 7-digit fractional seconds. Collections are paged with
``@odata.nextLink`` (``page_size`` items a page). A per-second request limit answers 429
with ``Retry-After``; a missing, unknown or expired bearer token gets 401; a user outside
the application access policy gets 403 "No application access policy found for this app."
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from sandbox.httpserver import LoopbackServer, Request, Response
from sandbox.scenario import TeacherRow, TeamsMeetingRow, TeamsReportRow
from sandbox.world import World

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MAX_REPORTS = 50  # Graph lists only the 50 most recent attendance reports
_NS = uuid.UUID("6f1c9a52-3d7e-4f0b-9a51-0c2b7d3e8f10")  # namespace of the sandbox's ids
_FILTER = re.compile(r"^\s*joinweburl\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)


# --------------------------------------------------------------------------- shared helpers


class TokenStore:
    """Bearer tokens issued by a stand-in, valid for ``ttl`` seconds of real time."""

    def __init__(self, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._tokens: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def issue(self, subject: str = "") -> str:
        """A new token acting as ``subject`` ("" = the application itself)."""
        token = f"sbx.{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = (self._clock() + self.ttl, subject)
            self.issued += 1
        return token

    def valid(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries a live token of ours."""
        return self.subject_of(authorization) is not None

    def subject_of(self, authorization: str | None) -> str | None:
        """Whom a live token acts as ("" = the application); None for no live token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with self._lock:
            entry = self._tokens.get(token.strip())
        if entry is None or self._clock() >= entry[0]:
            return None
        return entry[1]

    def expire_all(self) -> None:
        """Make every issued token expire now (clients must fetch a new one)."""
        with self._lock:
            self._tokens.clear()


class Throttle:
    """A per-second request limit (sliding one-second window) plus forced 429s for tests."""

    def __init__(self, per_second: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._clock = clock
        self._stamps: collections.deque[float] = collections.deque()
        self._forced = 0
        self._lock = threading.Lock()
        self.refused = 0

    def force(self, count: int) -> None:
        """Refuse the next ``count`` requests whatever the rate."""
        with self._lock:
            self._forced += count

    def allow(self) -> bool:
        with self._lock:
            if self._forced > 0:
                self._forced -= 1
                self.refused += 1
                return False
            if self.per_second is None:
                return True
            now = self._clock()
            while self._stamps and now - self._stamps[0] >= 1.0:
                self._stamps.popleft()
            if len(self._stamps) >= self.per_second:
                self.refused += 1
                return False
            self._stamps.append(now)
            return True


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def page_offset(token: str | None) -> int | None:
    """The offset in a page token; 0 for none; None for a token we never issued."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError):
        return None
    return offset if offset >= 0 else None


def utc(value: dt.datetime) -> str:
    """Google style UTC timestamp with microseconds."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def graph_time(value: dt.datetime) -> str:
    """Graph style UTC timestamp: seven fractional digits (100 ns ticks)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


# --------------------------------------------------------------------------- Graph


def _graph_error(status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": message,
                      "innerError": {"request-id": str(uuid.uuid4()),
                                     "date": dt.datetime.now(dt.UTC).strftime(
                                         "%Y-%m-%dT%H:%M:%S")}}}
    return Response(status, body, headers=headers)


def _token_error(status: int, error: str, description: str) -> Response:
    code = re.match(r"AADSTS(\d+)", description)
    return Response(status, {"error": error, "error_description": description,
                             "error_codes": [int(code.group(1))] if code else []})


@dataclass(frozen=True)
class _Meeting:
    row: TeamsMeetingRow
    organizer: TeacherRow
    id: str


class GraphSandbox(LoopbackServer):
    """Microsoft Graph (Teams attendance) and Entra token endpoint over loopback.

    Args:
        world: the scenario and the sandbox clock.
        tenant: the tenant name expected in the token URL.
        client_id, client_secret: the app credentials accepted.
        page_size: items per page of every collection.
        rate_per_s: requests a second to Graph before 429 (None = unlimited).
        retry_after: the ``Retry-After`` seconds sent with a 429.
        token_ttl: lifetime of issued tokens, real seconds.
        access_policy: organizer e-mails the application access policy covers
            (None = every teacher).
    """

    def __init__(self, world: World, tenant: str = "sandbox-tenant",
                 client_id: str = "sandbox-client-id",
                 client_secret: str = "sandbox-client-secret", *, page_size: int = 100,
                 rate_per_s: float | None = None, retry_after: int = 1,
                 token_ttl: float = 3600.0, access_policy: Iterable[str] | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.world = world
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_size = page_size
        self.retry_after = retry_after
        self.tokens = TokenStore(token_ttl)
        self.throttle = Throttle(rate_per_s)
        self.access_policy = None if access_policy is None else {
            e.casefold() for e in access_policy}
        self.hits: collections.Counter[str] = collections.Counter()

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    @property
    def login_url(self) -> str:
        return self.base_url

    # -- fault hooks (server-specific kinds of ``sandbox.faults.FaultPlan``; None = n/a)

    def fault_token_expired(self, request: Request) -> Response | None:
        """Every access token expires now (as an hour after issue): this Graph call gets
        ``401 InvalidAuthenticationToken`` and the client must fetch a new token."""
        if not request.raw_path.startswith("/v1.0/") or not request.headers.get("Authorization"):
            return None
        self.tokens.expire_all()
        self.hits["unauthorized"] += 1
        return _graph_error(401, "InvalidAuthenticationToken",
                            "Lifetime validation failed, the token is expired.",
                            {"WWW-Authenticate": 'Bearer realm="", error="invalid_token", '
                                                 'error_description="The access token expired"'})

    def fault_page_token_expired(self, request: Request) -> Response | None:
        """The ``$skiptoken`` of this ``@odata.nextLink`` has expired: ``400`` and the paging
        must start again from the first page (the request is not served)."""
        if not request.raw_path.startswith("/v1.0/") or not request.arg("$skiptoken"):
            return None
        return _graph_error(400, "BadRequest", "The specified page token value has expired "
                            "and can no longer be included in your request.")

    # -- routing

    def handle(self, request: Request) -> Response:
        parts = [unquote(p) for p in request.raw_path.split("/") if p]
        if parts[1:] == ["oauth2", "v2.0", "token"] and len(parts) == 4:
            self.hits["token"] += 1
            return self._token(request, parts[0])
        if len(parts) == 3 and parts[:2] == ["v1.0", "users"]:
            return self._guarded(request, lambda: self._get_user(request, parts[2]))
        if len(parts) >= 4 and parts[0] == "v1.0" and parts[1] == "users" \
                and parts[3] == "onlineMeetings":
            return self._guarded(request, lambda: self._graph(request, parts[2], parts[4:]))
        return _graph_error(404, "UnknownError", "No HTTP resource was found that matches "
                            "the request URI.")

    def _guarded(self, request: Request, serve: Callable[[], Response]) -> Response:
        """Method, bearer token and rate limit, then ``serve``."""
        if request.method != "GET":
            return _graph_error(405, "BadRequest", "Only GET is supported here.")
        if not self.tokens.valid(request.headers.get("Authorization")):
            self.hits["unauthorized"] += 1
            return _graph_error(401, "InvalidAuthenticationToken",
                                "Access token is empty, invalid or has expired.",
                                {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'})
        if not self.throttle.allow():
            self.hits["throttled"] += 1
            return _graph_error(429, "TooManyRequests", "Too many requests.",
                                {"Retry-After": str(self.retry_after)})
        return serve()

    def _get_user(self, request: Request, key: str) -> Response:
        self.hits["users"] += 1
        teacher = self._user(key)
        if teacher is None:
            return _graph_error(404, "Request_ResourceNotFound",
                                f"Resource '{key}' does not exist or one of its queried "
                                "reference-property objects are not present.")
        body = {"@odata.context": f"{self.graph_url}/$metadata#users/$entity",
                "id": self.user_id(teacher), "userPrincipalName": teacher.email,
                "displayName": teacher.name, "mail": teacher.email}
        if request.arg("$select") == "id":
            body = {"@odata.context": f"{self.graph_url}/$metadata#users(id)/$entity",
                    "id": body["id"]}
        return Response(200, body)

    def _graph(self, request: Request, user: str, rest: list[str]) -> Response:
        organizer = self._user_by_id(user)
        if organizer is None:  # a user principal name here is not found, as at Graph
            return _graph_error(404, "UnknownError", "")
        if self.access_policy is not None and organizer.email.casefold() not in \
                self.access_policy:
            self.hits["denied"] += 1
            return _graph_error(403, "Forbidden",
                                "No application access policy found for this app.")
        if not rest:
            self.hits["onlineMeetings"] += 1
            return self._find_meeting(request, organizer)
        meeting = self._meeting(organizer, rest[0])
        if meeting is None or rest[1:2] != ["attendanceReports"]:
            return _graph_error(404, "NotFound", "The online meeting was not found.")
        return self._reports(request, meeting, rest[2:])

    # -- token endpoint

    def _token(self, request: Request, tenant: str) -> Response:
        if request.method != "POST":
            return _token_error(405, "invalid_request", "AADSTS900561: POST required.")
        if tenant != self.tenant:
            return _token_error(400, "invalid_request",
                                f"AADSTS9000200: Tenant '{tenant}' not found.")
        form = {k: v[0] for k, v in request.form().items()}
        if form.get("grant_type") != "client_credentials":
            return _token_error(400, "unsupported_grant_type",
                                "AADSTS7000002: The grant type is not supported.")
        if form.get("client_id") != self.client_id:
            return _token_error(400, "unauthorized_client",
                                "AADSTS7000016: Application not found in the directory.")
        if not secrets.compare_digest(form.get("client_secret", ""), self.client_secret):
            return _token_error(401, "invalid_client",
                                "AADSTS7000215: Invalid client secret provided.")
        if form.get("scope") != GRAPH_SCOPE:
            return _token_error(400, "invalid_scope",
                                "AADSTS1002012: The provided value for scope is not valid.")
        ttl = int(self.tokens.ttl)
        return Response(200, {"token_type": "Bearer", "expires_in": ttl - 1,
                              "ext_expires_in": ttl - 1,
                              "access_token": self.tokens.issue(self.client_id)})

    # -- users and meetings

    def _user(self, key: str) -> TeacherRow | None:
        """A teacher by object ID or user principal name (``/users/{id | upn}``)."""
        for teacher in self.world.scenario.teachers:
            if key.casefold() in (teacher.email.casefold(), self.user_id(teacher)):
                return teacher
        return None

    def _user_by_id(self, key: str) -> TeacherRow | None:
        """A teacher by object ID only (the online meeting paths)."""
        return next((t for t in self.world.scenario.teachers if self.user_id(t) == key.lower()),
                    None)

    @staticmethod
    def user_id(teacher: TeacherRow) -> str:
        """The Entra object id the sandbox gives a teacher."""
        return str(uuid.uuid5(_NS, "user:" + teacher.email.casefold()))

    def _meetings_of(self, organizer: TeacherRow) -> list[_Meeting]:
        out = []
        for row in self.world.scenario.teams.meetings:
            if row.organizer == organizer.id:
                digest = hashlib.sha256(row.join_url.encode()).hexdigest()[:24]
                raw = f"1*{self.user_id(organizer)}*0**19:meeting_{digest}@thread.v2"
                out.append(_Meeting(row, organizer,
                                    base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")))
        return out

    def _meeting(self, organizer: TeacherRow, meeting_id: str) -> _Meeting | None:
        return next((m for m in self._meetings_of(organizer) if m.id == meeting_id), None)

    def _find_meeting(self, request: Request, organizer: TeacherRow) -> Response:
        expr = request.arg("$filter")
        if expr is None:
            return _graph_error(400, "BadRequest", "This API requires a $filter on "
                                "JoinWebUrl when called with application permissions.")
        match = _FILTER.match(expr)
        if match is None:
            return _graph_error(400, "BadRequest", "Invalid filter clause.")
        join_url = match.group(1).replace("''", "'")
        found = [m for m in self._meetings_of(organizer) if m.row.join_url == join_url]
        if not found and any(row.join_url == join_url
                             for row in self.world.scenario.teams.meetings):
            self.hits["not_organizer"] += 1
            return _graph_error(403, "Forbidden", "The user is not the organizer or a "
                                "co-organizer of this meeting.")
        context = f"{self.graph_url}/$metadata#users('{self.user_id(organizer)}')/onlineMeetings"
        return Response(200, {"@odata.context": context,
                              "value": [self._meeting_json(m) for m in found]})

    def _meeting_json(self, meeting: _Meeting) -> dict:
        reports = meeting.row.reports
        return {
            "id": meeting.id,
            "joinWebUrl": meeting.row.join_url,
            "subject": None,
            "startDateTime": graph_time(min(r.start for r in reports)) if reports else None,
            "endDateTime": graph_time(max(r.end for r in reports)) if reports else None,
            "participants": {
                "organizer": {"upn": meeting.organizer.email, "role": "presenter",
                              "identity": {"user": {"id": self.user_id(meeting.organizer),
                                                    "displayName": None}}},
                "attendees": []},
        }

    # -- attendance

    def _visible_reports(self, meeting: _Meeting) -> list[tuple[str, TeamsReportRow]]:
        rows = [(self._report_id(meeting, i), r) for i, r in enumerate(meeting.row.reports)
                if self.world.visible(r.end)]
        rows.sort(key=lambda pair: pair[1].start, reverse=True)
        return rows[:MAX_REPORTS]

    @staticmethod
    def _report_id(meeting: _Meeting, index: int) -> str:
        return str(uuid.uuid5(_NS, f"report:{meeting.id}:{index}"))

    def _reports(self, request: Request, meeting: _Meeting, rest: list[str]) -> Response:
        reports = self._visible_reports(meeting)
        if not rest:
            self.hits["attendanceReports"] += 1
            return self._page(request, [self._report_json(rid, r) for rid, r in reports])
        found = next((r for rid, r in reports if rid == rest[0]), None)
        if found is None:
            return _graph_error(404, "NotFound", "The attendance report was not found.")
        if len(rest) == 1:
            return Response(200, self._report_json(rest[0], found))
        if rest[1:] != ["attendanceRecords"]:
            return _graph_error(404, "UnknownError", "No such resource.")
        self.hits["attendanceRecords"] += 1
        return self._page(request, self._records_json(meeting, found))

    @staticmethod
    def _report_json(report_id: str, report: TeamsReportRow) -> dict:
        return {"id": report_id, "totalParticipantCount": len(report.records),
                "meetingStartDateTime": graph_time(report.start),
                "meetingEndDateTime": graph_time(report.end)}

    def _records_json(self, meeting: _Meeting, report: TeamsReportRow) -> list[dict]:
        out = []
        for record in report.records:
            signed_in = bool(record.email)
            ident = str(uuid.uuid5(_NS, "user:" + record.email.casefold())) if signed_in \
                else str(uuid.uuid5(_NS, f"guest:{meeting.id}:{record.name}"))
            intervals = [{"joinDateTime": graph_time(i.join),
                          "leaveDateTime": graph_time(i.leave),
                          "durationInSeconds": int((i.leave - i.join).total_seconds())}
                         for i in record.intervals]
            organizer = signed_in and record.email.casefold() == meeting.organizer.email.casefold()
            out.append({
                "id": ident,
                "emailAddress": record.email or None,
                "totalAttendanceInSeconds": sum(i["durationInSeconds"] for i in intervals),
                "role": "Organizer" if organizer else "Attendee",
                "identity": {"@odata.type": "#microsoft.graph.communicationsUserIdentity",
                             "id": ident, "displayName": record.name,
                             "tenantId": str(uuid.uuid5(_NS, self.tenant)) if signed_in
                             else None},
                "attendanceIntervals": intervals,
            })
        return out

    def _page(self, request: Request, items: list[dict]) -> Response:
        offset = page_offset(request.arg("$skiptoken"))
        if offset is None:
            return _graph_error(400, "BadRequest", "Invalid $skiptoken.")
        body: dict = {"@odata.context": f"{self.graph_url}/$metadata#Collection",
                      "value": items[offset:offset + self.page_size]}
        if offset + self.page_size < len(items):
            body["@odata.nextLink"] = (f"{self.base_url}{request.raw_path}?$skiptoken="
                                       f"{page_token(offset + self.page_size)}")
        return Response(200, body)
