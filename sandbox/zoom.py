"""A loopback stand-in of the Zoom REST API (v2), its S2S OAuth server and its webhooks.

Written from Zoom's API reference, independently of ``connectors.zoom``. It serves
``world.scenario.zoom`` as Zoom would at ``world.now``:

* ``POST /oauth/token?grant_type=account_credentials&account_id=...`` (HTTP Basic client
  credentials) issues bearer tokens valid 3600 s of wall-clock time; an unknown or expired
  token gets ``401 {"code": 124, "message": "Invalid access token."}``.
* ``GET /v2/past_meetings/{meetingId}/instances`` (Medium) lists the instances that have
  ENDED (as Zoom does: a running instance is not a past meeting yet).
* ``GET /v2/meetings/{meetingId}`` (Light) answers the meeting with ``status`` ``"started"``
  while one of its instances runs, else ``"waiting"``; an unknown id gets ``404`` code 3001.
* ``GET /v2/report/meetings/{meetingUUID}/participants`` (Heavy) pages the report of an ended
  instance (``page_size`` at most 300, ``next_page_token`` bound to the query and valid
  15 min); a running or unknown instance, or one whose report is not ready yet (the
  scenario's ``report_ready``), gets ``404 {"code": 3001, "message": "Meeting does not exist:
  {uuid}."}``.
* ``GET /v2/meetings/{meetingUUID}/recordings`` (Light) lists a cloud recording with a
  ``CHAT`` file when the instance has chat data; ``GET /rec/download/{fileId}`` serves it.
* UUIDs starting with ``/`` or containing ``//`` must be double URL-encoded in paths; a
  single-encoded one gets ``404`` "Meeting does not exist", as in Zoom. Any other UUID (a
  single ``/`` in the middle too) is accepted encoded once or twice; an unencoded ``/``
  splits the path and matches no endpoint.
* Rate limits per category (QPS, sliding one-second window of wall-clock time) answer 429
  with ``Retry-After`` and ``X-RateLimit-Category/Type/Limit/Remaining``; the Heavy category
  has a daily cap whose 429 carries the ISO date of the next reset (00:00 UTC).
* :meth:`ZoomSandbox.webhook_events` renders participant joined/left events in Zoom's payload
  shape, and :meth:`ZoomSandbox.deliver_webhooks` posts the due ones, signed.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sandbox.httpserver import LoopbackServer, Request, Response
from sandbox.scenario import ZoomInstanceRow, ZoomMeetingRow, ZoomParticipantRow
from sandbox.world import World

QPS: dict[str, dict[str, int]] = {
    "pro": {"Light": 30, "Medium": 20, "Heavy": 10},
    "business": {"Light": 80, "Medium": 60, "Heavy": 40},
}
HEAVY_DAILY: dict[str, int] = {"pro": 30_000, "business": 60_000}
TOKEN_TTL_S = 3600
PAGE_TOKEN_TTL = dt.timedelta(minutes=15)
MAX_PAGE_SIZE = 300
DEFAULT_PAGE_SIZE = 30
FIRST_SESSION_ID = 16778240  # Zoom's in-meeting user ids look like this

_ROUTES = [
    ("POST", re.compile(r"^/oauth/token$"), "token"),
    ("GET", re.compile(r"^/v2/past_meetings/([^/]+)/instances$"), "instances"),
    ("GET", re.compile(r"^/v2/report/meetings/([^/]+)/participants$"), "participants"),
    ("GET", re.compile(r"^/v2/meetings/([^/]+)/recordings$"), "recordings"),
    ("GET", re.compile(r"^/v2/meetings/([^/]+)$"), "meeting_details"),
    ("GET", re.compile(r"^/rec/download/([^/]+)$"), "download"),
]
_CATEGORY = {"instances": "Medium", "participants": "Heavy", "recordings": "Light",
             "meeting_details": "Light"}


def zoom_time(value: dt.datetime) -> str:
    """Zoom's time format: UTC with ``Z``, whole seconds."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stable_id(*parts: str, length: int = 22) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:length]


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None
           ) -> Response:
    return Response(status, {"code": code, "message": message}, headers=headers)


def decode_path_uuid(segment: str) -> tuple[str, bool]:
    """A UUID from a path segment as Zoom reads it, and whether it was encoded twice."""
    once = unquote(segment)
    if "%" in once:
        return unquote(once), True
    return once, False


def needs_double_encoding(uuid: str) -> bool:
    return uuid.startswith("/") or "//" in uuid


@dataclass
class _PageToken:
    query: tuple[str, int]  # (instance uuid, page size)
    offset: int
    world_at: dt.datetime
    wall_at: float


class ZoomSandbox(LoopbackServer):
    """Zoom's API for one account, from a :class:`World`.

    Args:
        world: the scenario and its clock.
        plan: "pro" or "business": the QPS limits and the Heavy daily cap.
        rate_limits: False serves without any rate limit.
        page_size_cap: the largest page served (Zoom: 300).
        client_id, client_secret, account_id: the S2S OAuth app's credentials.
        daily_cap: overrides the plan's Heavy daily cap (tests).
        qps: overrides the plan's per-category QPS limits (tests).
        clock: wall clock in Unix seconds (tokens, QPS, daily cap).
    """

    def __init__(self, world: World, plan: str = "pro", rate_limits: bool = True,
                 page_size_cap: int = MAX_PAGE_SIZE, client_id: str = "sandbox-client",
                 client_secret: str = "sandbox-secret", account_id: str = "sandbox-account",
                 *, daily_cap: int | None = None, qps: dict[str, int] | None = None,
                 clock: Callable[[], float] = time.time, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        super().__init__(host, port)
        if plan not in QPS:
            raise ValueError(f"unknown plan {plan!r}")
        self.world = world
        self.plan = plan
        self.rate_limits = rate_limits
        self.page_size_cap = max(1, min(MAX_PAGE_SIZE, page_size_cap))
        self.client_id = client_id
        self.client_secret = client_secret
        self.account_id = account_id
        self.qps = {**QPS[plan], **(qps or {})}
        self.daily_cap = HEAVY_DAILY[plan] if daily_cap is None else daily_cap
        self._clock = clock
        self._state = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._page_tokens: dict[str, _PageToken] = {}
        self._windows: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)
        self._daily: collections.Counter[str] = collections.Counter()
        self._requests: collections.Counter[str] = collections.Counter()
        self._limited: collections.Counter[str] = collections.Counter()
        self._unauthorized = 0
        self._delivered: set[tuple[str, str, str]] = set()

    # ------------------------------------------------------------------ test helpers

    def stats(self) -> dict[str, Any]:
        """Requests served per endpoint, 429s per category, 401s (for tests and the benchmark)."""
        with self._state:
            return {
                "requests": dict(self._requests),
                "rate_limited": dict(self._limited),
                "unauthorized": self._unauthorized,
                "total": sum(self._requests.values()),
            }

    def reset_stats(self) -> None:
        with self._state:
            self._requests.clear()
            self._limited.clear()
            self._unauthorized = 0

    def expire_tokens(self) -> None:
        """Make every issued access token invalid (as if an hour had passed)."""
        with self._state:
            self._tokens.clear()

    # ------------------------------------------------------------------ fault hooks
    # Server-specific kinds of ``sandbox.faults.FaultPlan``: None = not applicable here.

    def fault_token_expired(self, request: Request) -> Response | None:
        """Every access token expires now (as an hour after issue): this API call gets
        ``401`` code 124 and the client must fetch a new token."""
        if not request.raw_path.startswith("/v2/") or not request.headers.get("Authorization"):
            return None
        self.expire_tokens()
        return self.handle(request)

    def fault_page_token_expired(self, request: Request) -> Response | None:
        """The ``next_page_token`` of this participant-report call expires now (Zoom keeps
        them 15 minutes): ``400`` code 300, the paging must start again."""
        token = request.arg("next_page_token")
        if not token or not request.raw_path.endswith("/participants"):
            return None
        with self._state:
            self._page_tokens.pop(token, None)
        return self.handle(request)

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: Request) -> Response:
        for method, pattern, name in _ROUTES:
            match = pattern.match(request.raw_path)
            if match and request.method == method:
                with self._state:
                    self._requests[name] += 1
                return getattr(self, f"_{name}")(request, match.group(1) if match.groups()
                                                 else None)
        return _error(404, 404, "Not Found")

    # ------------------------------------------------------------------ OAuth

    def _token(self, request: Request, _: str | None) -> Response:
        params = {**{k: v[0] for k, v in request.form().items()},
                  **{k: v[0] for k, v in request.query.items()}}
        if not self._basic_ok(request.headers.get("Authorization", "")):
            return Response(401, {"reason": "Invalid client_id or client_secret",
                                  "error": "invalid_client"})
        if params.get("grant_type") != "account_credentials":
            return Response(400, {"reason": "Unsupported grant type",
                                  "error": "unsupported_grant_type"})
        if params.get("account_id") != self.account_id:
            return Response(400, {"reason": "Invalid account_id", "error": "invalid_request"})
        token = secrets.token_urlsafe(32)
        with self._state:
            self._tokens[token] = self._clock() + TOKEN_TTL_S
        return Response(200, {"access_token": token, "token_type": "bearer",
                              "expires_in": TOKEN_TTL_S,
                              "scope": "meeting:read:admin report:read:admin "
                                       "recording:read:admin",
                              "api_url": "https://api.zoom.us"})

    def _basic_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.client_id) and hmac.compare_digest(
            password, self.client_secret)

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            token = request.arg("access_token") or ""
        with self._state:
            expiry = self._tokens.get(token)
            ok = expiry is not None and expiry > self._clock()
            if not ok:
                self._unauthorized += 1
            return ok

    def _guard(self, request: Request, category: str | None) -> Response | None:
        """The 401 or 429 answer a request gets before reaching its endpoint, if any."""
        if not self._authorized(request):
            return _error(401, 124, "Invalid access token.")
        if category is None or not self.rate_limits:
            return None
        return self._rate_limit(category)

    def _rate_limit(self, category: str) -> Response | None:
        now = self._clock()
        limit = self.qps[category]
        with self._state:
            if category == "Heavy":
                day = dt.datetime.fromtimestamp(now, dt.UTC).date()
                if self._daily[day.isoformat()] >= self.daily_cap:
                    self._limited[f"{category}/daily"] += 1
                    reset = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(),
                                                tzinfo=dt.UTC)
                    return _error(429, 429, (
                        f"You have exceeded the daily rate limit ({self.daily_cap}) of "
                        f"{category} API requests permitted for this account."), {
                        "Retry-After": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "X-RateLimit-Category": category,
                        "X-RateLimit-Type": "Daily-limit",
                        "X-RateLimit-Limit": str(self.daily_cap),
                        "X-RateLimit-Remaining": "0"})
            window = self._windows[category]
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                self._limited[category] += 1
                wait = max(1, math.ceil(window[0] + 1.0 - now))
                return _error(429, 429, "You have reached the maximum per-second rate limit "
                              "for this API. Try again later.", {
                                  "Retry-After": str(wait),
                                  "X-RateLimit-Category": category,
                                  "X-RateLimit-Type": "QPS",
                                  "X-RateLimit-Limit": str(limit),
                                  "X-RateLimit-Remaining": "0"})
            window.append(now)
            if category == "Heavy":
                self._daily[dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()] += 1
        return None

    # ------------------------------------------------------------------ lookups

    def _meeting(self, meeting_id: str) -> ZoomMeetingRow | None:
        return next((m for m in self.world.scenario.zoom.meetings if m.id == meeting_id), None)

    def _instance(self, uuid: str) -> tuple[ZoomMeetingRow, ZoomInstanceRow] | None:
        """A started instance by UUID (an instance not started yet does not exist)."""
        for meeting in self.world.scenario.zoom.meetings:
            for instance in meeting.instances:
                if instance.uuid == uuid and self.world.visible(instance.start):
                    return meeting, instance
        return None

    def _path_instance(self, segment: str) -> tuple[ZoomMeetingRow, ZoomInstanceRow] | None:
        uuid, double = decode_path_uuid(segment)
        if needs_double_encoding(uuid) and not double:
            return None  # Zoom reads a single-encoded "/..." as another path
        return self._instance(uuid)

    def _ended(self, instance: ZoomInstanceRow) -> bool:
        return instance.end <= self.world.now

    def _running(self, instance: ZoomInstanceRow) -> bool:
        return instance.start <= self.world.now < instance.end

    def _report_ready(self, instance: ZoomInstanceRow) -> bool:
        """Whether Zoom has the instance's participant report (ended, and processed)."""
        ready = instance.report_ready or instance.end
        return self._ended(instance) and ready <= self.world.now

    def _host_id(self, meeting: ZoomMeetingRow) -> str:
        return _stable_id("host", meeting.host)

    @staticmethod
    def _user_id(email: str) -> str:
        return _stable_id("user", email.casefold()) if email else ""

    # ------------------------------------------------------------------ REST endpoints

    def _instances(self, request: Request, segment: str) -> Response:
        refused = self._guard(request, "Medium")
        if refused:
            return refused
        meeting_id = unquote(segment)
        meeting = self._meeting(meeting_id)
        if meeting is None:
            return _error(404, 3001, f"Meeting does not exist: {meeting_id}.")
        ended = sorted((i for i in meeting.instances if self._ended(i)), key=lambda i: i.start)
        return Response(200, {"meetings": [{"uuid": i.uuid, "start_time": zoom_time(i.start)}
                                           for i in ended]})

    def _meeting_details(self, request: Request, segment: str) -> Response:
        refused = self._guard(request, "Light")
        if refused:
            return refused
        meeting_id = unquote(segment)
        meeting = self._meeting(meeting_id)
        if meeting is None:
            return _error(404, 3001, f"Meeting does not exist: {meeting_id}.")
        running = next((i for i in meeting.instances if self._running(i)), None)
        host = next((t for t in self.world.scenario.teachers if t.id == meeting.host), None)
        return Response(200, {
            "uuid": running.uuid if running else _stable_id("next", meeting.id) + "==",
            "id": int(meeting.id) if meeting.id.isdigit() else meeting.id,
            "host_id": self._host_id(meeting),
            "host_email": host.email if host else "",
            "topic": "", "type": 3,  # a recurring meeting with no fixed time
            "status": "started" if running else "waiting",
            "timezone": "Europe/Riga",
            "created_at": "2026-08-25T07:00:00Z",
            "join_url": f"https://zoom.us/j/{meeting.id}",
        })

    def _participants(self, request: Request, segment: str) -> Response:
        refused = self._guard(request, "Heavy")
        if refused:
            return refused
        found = self._path_instance(segment)
        uuid = decode_path_uuid(segment)[0]
        if found is None or not self._report_ready(found[1]):
            return _error(404, 3001, f"Meeting does not exist: {uuid}.")
        meeting, instance = found
        try:
            size = int(request.arg("page_size") or DEFAULT_PAGE_SIZE)
        except ValueError:
            return _error(400, 300, "Invalid field: page_size.")
        if size < 1:
            return _error(400, 300, "Invalid field: page_size.")
        size = min(size, self.page_size_cap)
        offset = self._page_offset(request.arg("next_page_token") or "", (instance.uuid, size))
        if offset is None:
            return _error(400, 300, "The next page token is invalid or expired.")
        rows = list(self._report_rows(meeting, instance))
        page = rows[offset:offset + size]
        next_token = ""
        if offset + size < len(rows):
            next_token = secrets.token_urlsafe(24)
            with self._state:
                self._page_tokens[next_token] = _PageToken((instance.uuid, size), offset + size,
                                                           self.world.now, self._clock())
        return Response(200, {
            "page_count": max(1, math.ceil(len(rows) / size)),
            "page_size": size,
            "total_records": len(rows),
            "next_page_token": next_token,
            "participants": page,
        })

    def _page_offset(self, token: str, query: tuple[str, int]) -> int | None:
        if not token:
            return 0
        with self._state:
            entry = self._page_tokens.get(token)
            if entry is None or entry.query != query:
                return None
            if (self.world.now - entry.world_at > PAGE_TOKEN_TTL
                    or self._clock() - entry.wall_at > PAGE_TOKEN_TTL.total_seconds()):
                del self._page_tokens[token]
                return None
            return entry.offset

    def _report_rows(self, meeting: ZoomMeetingRow, instance: ZoomInstanceRow
                     ) -> Iterator[dict[str, Any]]:
        for index, p in enumerate(instance.participants):
            if not self.world.visible(p.join):
                continue
            leave = min(p.leave, self.world.now)
            user_id = self._user_id(p.email)
            yield {
                "id": user_id,  # empty for guests since March 2023
                "user_id": str(FIRST_SESSION_ID + index * 1024),
                "name": p.name,
                "user_email": p.email,
                "join_time": zoom_time(p.join),
                "leave_time": zoom_time(leave),
                "duration": max(0, int((leave - p.join).total_seconds())),
                "status": p.status,
                "registrant_id": "",
                "participant_user_id": user_id,
                "customer_key": "",
                "failover": False,
            }

    def _recordings(self, request: Request, segment: str) -> Response:
        refused = self._guard(request, "Light")
        if refused:
            return refused
        decoded = unquote(segment)
        meeting = self._meeting(decoded)
        if meeting is not None:  # a numeric id: the latest ended instance
            ended = [i for i in meeting.instances if self._ended(i)]
            found = (meeting, max(ended, key=lambda i: i.start)) if ended else None
        else:
            found = self._path_instance(segment)
        if found is None or not self._ended(found[1]) or found[1].chat is None:
            return _error(404, 3301, "This recording does not exist.")
        meeting, instance = found
        chat = self._chat_file(instance)
        video_id, chat_id = self._file_ids(instance)
        base = self.base_url
        common = {"meeting_id": instance.uuid, "recording_start": zoom_time(instance.start),
                  "recording_end": zoom_time(instance.end), "status": "completed"}
        files = [
            {"id": video_id, **common, "file_type": "MP4", "file_extension": "MP4",
             "file_size": 1_048_576, "play_url": f"{base}/rec/play/{video_id}",
             "download_url": f"{base}/rec/download/{video_id}",
             "recording_type": "shared_screen_with_speaker_view"},
            {"id": chat_id, **common, "file_type": "CHAT", "file_extension": "TXT",
             "file_size": len(chat), "play_url": f"{base}/rec/play/{chat_id}",
             "download_url": f"{base}/rec/download/{chat_id}", "recording_type": "chat_file"},
        ]
        minutes = max(1, int((instance.end - instance.start).total_seconds() // 60))
        return Response(200, {
            "uuid": instance.uuid, "id": int(meeting.id) if meeting.id.isdigit() else meeting.id,
            "account_id": self.account_id, "host_id": self._host_id(meeting), "topic": "",
            "type": 2, "start_time": zoom_time(instance.start), "timezone": "Europe/Riga",
            "duration": minutes, "total_size": 1_048_576 + len(chat), "recording_count": 2,
            "share_url": f"{base}/rec/share/{_stable_id('share', instance.uuid)}",
            "recording_files": files,
        })

    def _download(self, request: Request, file_id: str) -> Response:
        refused = self._guard(request, None)
        if refused:
            return refused
        for meeting in self.world.scenario.zoom.meetings:
            for instance in meeting.instances:
                if not self._ended(instance) or instance.chat is None:
                    continue
                video_id, chat_id = self._file_ids(instance)
                if file_id == chat_id:
                    return Response(200, self._chat_file(instance),
                                    content_type="text/plain; charset=utf-8")
                if file_id == video_id:
                    return Response(200, b"\x00\x00\x00\x18ftypmp42", content_type="video/mp4")
        return _error(404, 3301, "This recording does not exist.")

    @staticmethod
    def _file_ids(instance: ZoomInstanceRow) -> tuple[str, str]:
        return (_stable_id("mp4", instance.uuid, length=36),
                _stable_id("chat", instance.uuid, length=36))

    def _chat_file(self, instance: ZoomInstanceRow) -> bytes:
        """The CHAT file: ``HH:MM:SS<TAB>Name:<TAB>text`` per message, offsets from the start."""
        out: list[str] = []
        rows = sorted((c for c in instance.chat or () if self.world.visible(c.at)),
                      key=lambda c: c.at)
        for row in rows:
            seconds = max(0, int((row.at - instance.start).total_seconds()))
            stamp = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
            first, *more = row.text.split("\n")
            out.append(f"{stamp}\t{row.name}:\t{first}")
            out.extend(more)  # continuation lines of a multi-line message
        return ("\n".join(out) + ("\n" if out else "")).encode("utf-8")

    # ------------------------------------------------------------------ webhooks

    def webhook_events(self) -> list[dict[str, Any]]:
        """Participant joined/left events of every instance, in Zoom's shape, by event time."""
        events: list[tuple[dt.datetime, int, dict[str, Any]]] = []
        for meeting in self.world.scenario.zoom.meetings:
            for instance in meeting.instances:
                for index, p in enumerate(instance.participants):
                    if p.status != "in_meeting":
                        continue
                    for kind in ("joined", "left"):
                        at = p.join if kind == "joined" else p.leave
                        body = self._event(meeting, instance, index, p, kind)
                        events.append((at, len(events), body))
        return [body for _, _, body in sorted(events, key=lambda e: (e[0], e[1]))]

    def _event(self, meeting: ZoomMeetingRow, instance: ZoomInstanceRow, index: int,
               p: ZoomParticipantRow, kind: str) -> dict[str, Any]:
        at = p.join if kind == "joined" else p.leave
        user_id = self._user_id(p.email)
        participant: dict[str, Any] = {
            "user_id": str(FIRST_SESSION_ID + index * 1024),
            "user_name": p.name,
            "id": user_id,
            "participant_uuid": _stable_id("participant", instance.uuid, str(index), length=36),
            "email": p.email,
            "registrant_id": "",
            "participant_user_id": user_id,
            "customer_key": "",
            "phone_number": "",
        }
        if kind == "joined":
            participant["join_time"] = zoom_time(p.join)
        else:
            participant["leave_time"] = zoom_time(p.leave)
            participant["leave_reason"] = p.leave_reason or "left the meeting"
        return {
            "event": f"meeting.participant_{kind}",
            "event_ts": int(at.timestamp() * 1000),
            "payload": {
                "account_id": self.account_id,
                "object": {
                    "id": meeting.id,
                    "uuid": instance.uuid,
                    "host_id": self._host_id(meeting),
                    "topic": "",
                    "type": 2,
                    "start_time": zoom_time(instance.start),
                    "timezone": "Europe/Riga",
                    "duration": max(1, int((instance.end - instance.start).total_seconds()
                                           // 60)),
                    "participant": participant,
                },
            },
        }

    def deliver_webhooks(self, url: str, secret: str) -> int:
        """POST every due (time <= world.now), undelivered event to ``url``, signed like Zoom.

        Returns how many the receiver accepted (2xx). An event the receiver answered (any
        status below 500) is not sent again; a refused connection stops the delivery.
        """
        accepted = 0
        now_ms = self.world.now.timestamp() * 1000
        for event in self.webhook_events():
            obj = event["payload"]["object"]
            key = (event["event"], obj["uuid"], obj["participant"]["participant_uuid"])
            with self._state:
                due = event["event_ts"] <= now_ms and key not in self._delivered
            if not due:
                continue
            status = self._post_signed(url, secret, event)
            if status is None:
                break
            if status < 500:
                with self._state:
                    self._delivered.add(key)
            if 200 <= status < 300:
                accepted += 1
        return accepted

    def _post_signed(self, url: str, secret: str, event: dict[str, Any]) -> int | None:
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        stamp = str(int(self._clock()))
        signature = "v0=" + hmac.new(secret.encode("utf-8"), f"v0:{stamp}:".encode() + body,
                                     hashlib.sha256).hexdigest()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Zoom Marketplace/1.1a",
            "x-zm-request-timestamp": stamp,
            "x-zm-signature": signature,
        })
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return None
