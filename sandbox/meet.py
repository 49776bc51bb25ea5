"""A loopback stand-in for the Google Meet REST API v2 and Google's OAuth token endpoint.

Written from Google's documentation, independently of ``connectors.meet``:

* ``POST /token`` - the JWT bearer grant of a service account with domain-wide delegation
  (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, ``assertion`` = an RS256 JWT
  with ``iss``, ``sub`` (optional: none = the service account itself), ``scope``, ``aud`` =
  ``https://oauth2.googleapis.com/token`` - always that value, wherever the grant is posted,
  as Google documents - ``iat``, ``exp`` at most one hour later). The signature is checked
  against the public key the sandbox is given.
* ``GET /v2/conferenceRecords?filter=...`` (``space.meeting_code``, ``space.name``,
  ``start_time``, ``end_time`` with ``= != < <= > >=``, ``end_time IS NULL``, joined by
  ``AND``), ``GET /v2/{conferenceRecord}/participants`` and
  ``GET /v2/{participant}/participantSessions``, paged with ``pageSize``/``pageToken``/
  ``nextPageToken``; empty lists are omitted from the JSON, as Google does.

A conference is listed from its start (``start <= world.now``): while it runs it has no
``endTime`` (``end_time IS NULL`` finds it), and so has every participant session still
connected (``latestEndTime`` too); Meet would delete it ``retention_days`` after its end.
A token acts as the user its assertion's ``sub`` names (none = the service account itself),
and ``conferenceRecords`` list and get show only conferences whose space that user owns
(the scenario row's optional ``owner`` teacher) or in which they took part - as the API
documents; the service account itself sees none. Participants with an e-mail appear as
signed-in users (``users/{id}`` and display name; Meet gives no e-mail), the others as
anonymous users, or phone users (a masked number as display name) where the row's optional
``kind`` says so. A 429 carries no ``Retry-After``: Google promises none.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.graph import Throttle, TokenStore, page_offset, page_token, utc
from sandbox.httpserver import LoopbackServer, Request, Response
from sandbox.scenario import MeetConferenceRow, MeetParticipantRow, SessionRow
from sandbox.world import World

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # the documented, fixed ``aud``
MEET_READONLY = "https://www.googleapis.com/auth/meetings.space.readonly"
MEET_CREATED = "https://www.googleapis.com/auth/meetings.space.created"
MAX_ASSERTION_S = 3600
CLOCK_SKEW_S = 300
# (default, maximum) pageSize of each list method, per the API reference
PAGE_SIZES = {"conferenceRecords": (25, 100), "participants": (100, 250),
              "participantSessions": (100, 250)}


class FilterError(ValueError):
    """A conferenceRecords filter the API would reject with INVALID_ARGUMENT."""


def _google_error(status: int, state: str, message: str,
                  headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"error": {"code": status, "message": message, "status": state}},
                    headers=headers)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _rfc3339(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp without offset")
    return value


def _short_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def _kind(row: MeetParticipantRow) -> str:
    """How Meet knows a scenario participant: the row's ``kind``, else by its e-mail."""
    return row.kind or ("signedin" if row.email else "anonymous")


def _masked(number: str) -> str:
    """A phone user's display name: the number with all but the last digits hidden."""
    digits = [c for c in number if c.isdigit()]
    if len(digits) < 3:
        return number
    return "*" * (len(digits) - 3) + "".join(digits[-3:])


# --------------------------------------------------------------------------- filter

_TERM = re.compile(
    r'\s*(?:(?P<field>space\.meeting_code|space\.name|start_time|end_time)\s*'
    r'(?P<op>>=|<=|!=|=|>|<)\s*"(?P<value>[^"]*)"|(?P<null>end_time\s+IS\s+NULL))\s*')
_AND = re.compile(r"AND\b")
_OPS: dict[str, Callable[[object, object], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}


@dataclass(frozen=True)
class _Conference:
    row: MeetConferenceRow
    id: str
    space: str
    ended: bool = True  # False while it runs at ``world.now``

    @property
    def name(self) -> str:
        return f"conferenceRecords/{self.id}"


Predicate = Callable[[_Conference], bool]


def parse_filter(expr: str) -> list[Predicate]:
    """Parse a conferenceRecords.list filter into predicates that must all hold.

    Raises:
        FilterError: an unsupported field, operator or value.
    """
    preds: list[Predicate] = []
    pos = 0
    while pos < len(expr):
        match = _TERM.match(expr, pos)
        if match is None:
            raise FilterError(f"cannot parse filter at offset {pos}")
        preds.append(_predicate(match))
        pos = match.end()
        if pos < len(expr):
            joiner = _AND.match(expr, pos)
            if joiner is None:
                raise FilterError(f"expected AND at offset {pos}")
            pos = joiner.end()
            if pos >= len(expr.rstrip()):
                raise FilterError("filter ends with AND")
    return preds


def _predicate(match: re.Match[str]) -> Predicate:
    if match.group("null"):
        return lambda c: not c.ended
    field, op, value = match.group("field", "op", "value")
    compare = _OPS[op]
    if field == "space.meeting_code":
        if op not in ("=", "!="):
            raise FilterError("space.meeting_code supports = and != only")
        return lambda c: compare(c.row.meeting_code.lower(), value.lower())
    if field == "space.name":
        if op not in ("=", "!="):
            raise FilterError("space.name supports = and != only")
        return lambda c: compare(c.space, value)
    try:
        when = _rfc3339(value)
    except ValueError:
        raise FilterError(f"{field} needs an RFC 3339 timestamp") from None
    if field == "start_time":
        return lambda c: compare(c.row.start, when)
    return lambda c: c.ended and compare(c.row.end, when)


# --------------------------------------------------------------------------- server


def _public_key(value: rsa.RSAPublicKey | bytes | str) -> rsa.RSAPublicKey:
    if isinstance(value, str):
        value = value.encode("ascii")
    key = serialization.load_pem_public_key(value) if isinstance(value, bytes) else value
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("the service account key must be an RSA public key")
    return key


class MeetSandbox(LoopbackServer):
    """Google Meet REST API v2 and the OAuth token endpoint over loopback.

    Args:
        world: the scenario and the sandbox clock.
        public_key_pem: the service account's public key (PEM text or bytes, or a key object).
        client_email: the service account the assertions must come from (None = whichever
            account the key belongs to: any ``iss`` whose assertion the key verifies).
        subjects: users the service account may impersonate (None = anyone).
        delegated_scopes: scopes the admin delegated to the service account.
        page_size: a cap on items per page (below the API's own maxima) to exercise paging.
        rate_per_s: requests a second to the Meet API before 429 (None = unlimited).
        token_ttl: lifetime of issued tokens, real seconds.
        retention_days: how long after its end a conference record is kept.
        wall_clock: seconds since the epoch, for checking ``iat``/``exp``.
    """

    def __init__(self, world: World, public_key_pem: rsa.RSAPublicKey | bytes | str,
                 client_email: str | None = None, *, subjects: Iterable[str] | None = None,
                 delegated_scopes: Iterable[str] = (MEET_READONLY,), page_size: int = 100,
                 rate_per_s: float | None = None,
                 token_ttl: float = 3600.0, retention_days: int = 30,
                 wall_clock: Callable[[], float] = time.time,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        public_key = _public_key(public_key_pem)
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.world = world
        self.public_key = public_key
        self.client_email = client_email
        self.subjects = None if subjects is None else {s.casefold() for s in subjects}
        self.delegated_scopes = set(delegated_scopes)
        self.page_size = page_size
        self.retention = dt.timedelta(days=retention_days)
        self.tokens = TokenStore(token_ttl)
        self.throttle = Throttle(rate_per_s)
        self.wall_clock = wall_clock
        self.hits: collections.Counter[str] = collections.Counter()
        self.assertions: list[dict] = []  # claims of every accepted assertion

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v2"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    # -- fault hooks (server-specific kinds of ``sandbox.faults.FaultPlan``; None = n/a)

    def fault_token_expired(self, request: Request) -> Response | None:
        """Every access token expires now (as an hour after issue): this Meet API call gets
        ``401 UNAUTHENTICATED`` and the client must fetch a new token."""
        if not request.raw_path.startswith("/v2/") or not request.headers.get("Authorization"):
            return None
        self.tokens.expire_all()
        return self.handle(request)

    def fault_page_token_expired(self, request: Request) -> Response | None:
        """The ``pageToken`` of this list call has expired: ``400 INVALID_ARGUMENT`` and the
        listing must start again from the first page (the request is not served)."""
        if not request.raw_path.startswith("/v2/") or not request.arg("pageToken"):
            return None
        return _google_error(400, "INVALID_ARGUMENT", "The page token has expired or is "
                             "invalid; restart the listing without pageToken.")

    # -- routing

    def handle(self, request: Request) -> Response:
        parts = [unquote(p) for p in request.raw_path.split("/") if p]
        if parts == ["token"]:
            self.hits["token"] += 1
            return self._token(request)
        if parts[:2] == ["v2", "conferenceRecords"]:
            return self._api(request, parts[2:])
        return _google_error(404, "NOT_FOUND", "The requested URL was not found.")

    def _api(self, request: Request, rest: list[str]) -> Response:
        if request.method != "GET":
            return _google_error(405, "INVALID_ARGUMENT", "Only GET is supported here.")
        subject = self.tokens.subject_of(request.headers.get("Authorization"))
        if subject is None:
            self.hits["unauthorized"] += 1
            return _google_error(401, "UNAUTHENTICATED",
                                 "Request had invalid authentication credentials.",
                                 {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        if not self.throttle.allow():
            self.hits["throttled"] += 1
            return _google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.")
        visible = [c for c in self._visible() if self._may_see(subject, c)]
        if not rest:
            self.hits["conferenceRecords"] += 1
            return self._list_conferences(request, visible)
        conference = next((c for c in visible if c.id == rest[0]), None)
        if conference is None:
            return _google_error(404, "NOT_FOUND", "Requested entity was not found.")
        if len(rest) == 1:
            return Response(200, self._conference_json(conference))
        if rest[1] != "participants":
            return _google_error(404, "NOT_FOUND", "Requested entity was not found.")
        return self._participants(request, conference, rest[2:])

    def _may_see(self, subject: str, conference: _Conference) -> bool:
        """The space owner and the conference's (signed-in) participants see it."""
        who = subject.casefold()
        if not who:
            return False
        if conference.row.owner:
            owner = next((t for t in self.world.scenario.teachers
                          if t.id == conference.row.owner), None)
            if owner is not None and owner.email.casefold() == who:
                return True
        return any(p.email.casefold() == who and _kind(p) == "signedin"
                   for p in self._joined(conference))

    # -- token endpoint

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return _oauth_error(405, "invalid_request", "POST required.")
        form = {k: v[0] for k, v in request.form().items()}
        if form.get("grant_type") != JWT_BEARER:
            return _oauth_error(400, "unsupported_grant_type", "Invalid grant_type.")
        try:
            claims = self._verify(form.get("assertion", ""))
        except ValueError as exc:
            return _oauth_error(400, "invalid_grant", str(exc))
        scopes = set(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= self.delegated_scopes:
            return _oauth_error(401, "unauthorized_client",
                                "Client is unauthorized to retrieve access tokens using this "
                                "method, or client not authorized for any of the scopes "
                                "requested.")
        subject = str(claims.get("sub", ""))  # none: the service account itself
        if subject and self.subjects is not None and subject.casefold() not in self.subjects:
            return _oauth_error(400, "invalid_grant", "Invalid email or User ID")
        self.assertions.append(claims)
        ttl = int(self.tokens.ttl)
        return Response(200, {"access_token": self.tokens.issue(subject),
                              "expires_in": ttl - 1, "token_type": "Bearer"})

    def _verify(self, assertion: str) -> dict:
        """Check an assertion's signature and claims; ValueError names what is wrong."""
        parts = assertion.split(".")
        if len(parts) != 3:
            raise ValueError("Invalid JWT: not a compact JWS.")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except ValueError:
            raise ValueError("Invalid JWT: cannot decode.") from None
        if not isinstance(header, dict) or header.get("alg") != "RS256" \
                or not isinstance(claims, dict):
            raise ValueError("Invalid JWT: alg must be RS256.")
        try:
            self.public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"),
                                   padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise ValueError("Invalid JWT Signature.") from None
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or not issuer or (
                self.client_email is not None and issuer != self.client_email):
            raise ValueError("Invalid JWT: unknown issuer.")
        if claims.get("aud") != TOKEN_AUDIENCE:
            raise ValueError(f"Invalid JWT: audience must be {TOKEN_AUDIENCE}.")
        self._check_times(claims)
        return claims

    def _check_times(self, claims: dict) -> None:
        iat, exp, now = claims.get("iat"), claims.get("exp"), self.wall_clock()
        if not isinstance(iat, int) or not isinstance(exp, int) or exp <= iat \
                or exp - iat > MAX_ASSERTION_S or iat > now + CLOCK_SKEW_S or exp <= now:
            raise ValueError("Invalid JWT: Token must be a short-lived token (60 minutes) and "
                             "in a reasonable timeframe. Check your iat and exp values.")

    # -- conferences

    def _visible(self) -> list[_Conference]:
        """Conferences that have started and are not yet deleted, newest first."""
        now = self.world.now
        out = []
        for index, row in enumerate(self.world.scenario.meet.conferences):
            if row.start <= now < row.end + self.retention:
                space = f"spaces/{_short_id('space', row.meeting_code.lower())}"
                out.append(_Conference(row, _short_id("conference", str(index),
                                                      row.meeting_code, row.start.isoformat()),
                                       space, ended=row.end <= now))
        out.sort(key=lambda c: c.row.start, reverse=True)
        return out

    def _conference_json(self, conference: _Conference) -> dict:
        row = conference.row
        body = {"name": conference.name, "startTime": utc(row.start), "space": conference.space}
        if conference.ended:
            body["endTime"] = utc(row.end)
            body["expireTime"] = utc(row.end + self.retention)
        return body

    def _list_conferences(self, request: Request, visible: list[_Conference]) -> Response:
        try:
            preds = parse_filter(request.arg("filter") or "")
        except FilterError as exc:
            return _google_error(400, "INVALID_ARGUMENT", f"Invalid filter: {exc}")
        found = [c for c in visible if all(p(c) for p in preds)]
        return self._page(request, "conferenceRecords",
                          [self._conference_json(c) for c in found])

    # -- participants and sessions

    def _participant_id(self, conference: _Conference, index: int) -> str:
        return _short_id("participant", conference.id, str(index))

    def _joined(self, conference: _Conference) -> list[MeetParticipantRow]:
        """The participants who had joined by ``world.now``."""
        return [p for p in conference.row.participants
                if any(self.world.visible(s.start) for s in p.sessions)]

    def _participants(self, request: Request, conference: _Conference,
                      rest: list[str]) -> Response:
        joined = {id(p) for p in self._joined(conference)}
        rows = [(i, r) for i, r in enumerate(conference.row.participants) if id(r) in joined]
        if not rest:
            self.hits["participants"] += 1
            items = [self._participant_json(conference, i, row) for i, row in rows]
            return self._page(request, "participants", items, total=True)
        found = next(((i, r) for i, r in rows if self._participant_id(conference, i) == rest[0]),
                     None)
        if found is None:
            return _google_error(404, "NOT_FOUND", "Requested entity was not found.")
        if len(rest) == 1:
            return Response(200, self._participant_json(conference, *found))
        if rest[1:] != ["participantSessions"]:
            return _google_error(404, "NOT_FOUND", "Requested entity was not found.")
        self.hits["participantSessions"] += 1
        name = f"{conference.name}/participants/{rest[0]}"
        sessions = sorted((s for s in found[1].sessions if self.world.visible(s.start)),
                          key=lambda s: s.start, reverse=True)
        items = [self._session_json(f"{name}/participantSessions/{_short_id(name, str(j))}", s)
                 for j, s in enumerate(sessions)]
        return self._page(request, "participantSessions", items)

    def _session_json(self, name: str, session: SessionRow) -> dict:
        body = {"name": name, "startTime": utc(session.start)}
        if self.world.visible(session.end):  # no endTime while still connected
            body["endTime"] = utc(session.end)
        return body

    def _participant_json(self, conference: _Conference, index: int,
                          row: MeetParticipantRow) -> dict:
        body: dict = {"name": f"{conference.name}/participants/"
                              f"{self._participant_id(conference, index)}"}
        started = [s for s in row.sessions if self.world.visible(s.start)]
        if started:
            body["earliestStartTime"] = utc(min(s.start for s in started))
            if all(self.world.visible(s.end) for s in started):
                body["latestEndTime"] = utc(max(s.end for s in started))
        kind = _kind(row)
        if kind == "signedin":
            digest = int(hashlib.sha256(row.email.casefold().encode()).hexdigest()[:15], 16)
            body["signedinUser"] = {"user": f"users/{digest}", "displayName": row.name}
        elif kind == "phone":
            body["phoneUser"] = {"displayName": _masked(row.name)}
        else:
            body["anonymousUser"] = {"displayName": row.name}
        return body

    # -- paging

    def _page(self, request: Request, key: str, items: list[dict],
              total: bool = False) -> Response:
        default, maximum = PAGE_SIZES[key]
        try:
            asked = int(request.arg("pageSize") or default)
        except ValueError:
            return _google_error(400, "INVALID_ARGUMENT", "pageSize must be an integer.")
        if asked < 0:
            return _google_error(400, "INVALID_ARGUMENT", "pageSize must not be negative.")
        size = min(asked or default, maximum, self.page_size)
        offset = page_offset(request.arg("pageToken"))
        if offset is None:
            return _google_error(400, "INVALID_ARGUMENT", "Invalid pageToken.")
        body: dict = {}
        if items[offset:offset + size]:
            body[key] = items[offset:offset + size]
        if offset + size < len(items):
            body["nextPageToken"] = page_token(offset + size)
        if total and items:
            body["totalSize"] = len(items)
        return Response(200, body)
