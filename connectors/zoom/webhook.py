"""Receiver of Zoom webhook events (event subscriptions of the S2S OAuth app).

Zoom POSTs JSON with the headers ``x-zm-request-timestamp`` (Unix seconds) and
``x-zm-signature`` = ``v0=`` + hex HMAC-SHA256(secret token, ``v0:{timestamp}:{raw body}``).
The receiver

* answers ``endpoint.url_validation`` with ``{"plainToken", "encryptedToken"}`` where
  ``encryptedToken`` = hex HMAC-SHA256(secret token, plainToken);
* refuses a timestamp that is not plain ASCII digits (``nan``, ``1e9``, non-ASCII: 400), a
  missing or wrong signature (401) and a timestamp older or newer than ``max_age_s`` (401):
  a refused request stores nothing;
* answers a repeated delivery of an event it already has with 200 (``"duplicate"``), storing
  nothing new: Zoom redelivers an event it is not sure arrived, and a 4xx would only make it
  try again;
* stores ``meeting.participant_joined``, ``meeting.participant_left`` and
  ``meeting.chat_message_sent`` in the :class:`connectors.base.WebhookLedger`, keyed by the
  meeting instance UUID, keeping only what the rules need: for participants the identities,
  times and leave reason (removal by the host, kārtības 19. p.); for chat the time and the
  sender's name and e-mail (chat registration, 30. p.) — never the message text. Other events
  are acknowledged and ignored.

The server (:class:`WebhookServer`) drops a connection that does not deliver its request in
time (``read_timeout_s`` per read, ``request_deadline_s`` in all: a client declaring 1000
bytes and sending 10 is cut off, without a traceback), closes each connection after its
answer, and serves at most ``max_connections`` at once (more get 503 at once and Zoom
retries), so idle or half-sent connections cannot starve a real delivery.

The event id (Zoom sends none) is the SHA-256 of the raw body, which contains the event's
``event_ts``: the same delivery posted twice is one event. Logs carry meeting ids only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import SecretStr, ValidationError

from connectors.base import WebhookLedger
from connectors.zoom.models import WebhookEvent
from connectors.zoom.settings import is_loopback, split_bind

log = logging.getLogger("kartiba.zoom.webhook")

SYSTEM = "zoom"
STORED_EVENTS = frozenset({
    "meeting.participant_joined",
    "meeting.participant_left",
    "meeting.chat_message_sent",
})
MAX_BODY = 1 << 20  # Zoom's events are a few kB
READ_TIMEOUT_S = 5.0  # the longest wait for one read from a client
REQUEST_DEADLINE_S = 10.0  # the longest a connection may take to deliver its request
MAX_CONNECTIONS = 64  # served at once; Zoom's deliveries are short
BUSY_ANSWERERS = 8  # connections over the cap answered 503 at once (more are just closed)
BUSY_READ_S = 0.2  # how long such a connection's request is read before the 503


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    """The ``x-zm-signature`` value Zoom computes for a request."""
    message = b"v0:" + timestamp.encode("ascii") + b":" + raw_body
    return "v0=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


_DIGITS = re.compile(r"\A[0-9]{1,13}\Z")  # ASCII only: \d would take other scripts' digits


def _timestamp_seconds(value: str) -> float | None:
    """Unix seconds (or milliseconds) from the timestamp header; None unless plain digits."""
    if not _DIGITS.match(value):
        return None
    stamp = int(value)
    return stamp / 1000.0 if stamp > 1e11 else float(stamp)  # tolerate milliseconds


class WebhookReceiver:
    """Verifies and stores Zoom webhook events.

    Args:
        secret: the app's webhook secret token.
        ledger: where verified events go (``add_event`` returns False for a replay).
        max_age_s: the largest accepted difference between the request's timestamp and now.
        clock: wall clock in Unix seconds.
    """

    def __init__(self, secret: SecretStr | str, ledger: WebhookLedger, max_age_s: int = 300,
                 clock: Callable[[], float] = time.time) -> None:
        self._secret = secret if isinstance(secret, SecretStr) else SecretStr(secret)
        if not self._secret.get_secret_value():
            raise ValueError("the webhook secret must not be empty")
        self._ledger = ledger
        self._max_age_s = max_age_s
        self._clock = clock

    # -- the pure part

    def handle(self, headers: Mapping[str, str], raw_body: bytes) -> tuple[int, dict[str, Any]]:
        """Judge one request; returns the HTTP status and the JSON body of the answer."""
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp = lower.get("x-zm-request-timestamp", "")
        signature = lower.get("x-zm-signature", "")
        secret = self._secret.get_secret_value()
        sent = _timestamp_seconds(timestamp)
        if timestamp and sent is None:
            log.warning("zoom webhook: rejected, the timestamp header is not a number")
            return 400, {"error": "bad timestamp"}
        if sent is None or not signature or not hmac.compare_digest(
                sign(secret, timestamp, raw_body).encode(), signature.encode("utf-8",
                                                                            "replace")):
            log.warning("zoom webhook: rejected, bad or missing signature")
            return 401, {"error": "invalid signature"}
        if abs(self._clock() - sent) > self._max_age_s:
            log.warning("zoom webhook: rejected, timestamp outside %d s", self._max_age_s)
            return 401, {"error": "stale request"}
        try:
            body = json.loads(raw_body)
            kind = body["event"]
        except (ValueError, KeyError, TypeError):
            return 400, {"error": "not a Zoom event"}
        if kind == "endpoint.url_validation":
            return self._validation(secret, body)
        if kind not in STORED_EVENTS:
            return 200, {"status": "ignored"}
        return self._store(kind, body, raw_body)

    def _validation(self, secret: str, body: dict) -> tuple[int, dict[str, Any]]:
        plain = (body.get("payload") or {}).get("plainToken")
        if not isinstance(plain, str) or not plain:
            return 400, {"error": "plainToken missing"}
        encrypted = hmac.new(secret.encode("utf-8"), plain.encode("utf-8"),
                             hashlib.sha256).hexdigest()
        log.info("zoom webhook: endpoint validated")
        return 200, {"plainToken": plain, "encryptedToken": encrypted}

    def _store(self, kind: str, body: dict, raw_body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            event = WebhookEvent.model_validate(body)
            stored = _stored_payload(event)
        except (ValidationError, ValueError):
            log.warning("zoom webhook: malformed %s event skipped", kind)
            return 400, {"error": "malformed event"}
        obj = event.payload.object
        event_id = hashlib.sha256(raw_body).hexdigest()
        at = _event_time(event)
        if not self._ledger.add_event(SYSTEM, event_id, obj.uuid, kind, at, stored):
            log.info("zoom webhook: %s event of meeting %s delivered again; already stored",
                     kind, obj.id)
            return 200, {"status": "duplicate"}
        log.info("zoom webhook: %s stored for meeting %s", kind, obj.id)
        return 200, {"status": "stored"}

    # -- the server

    def serve(self, bind: str = "127.0.0.1:8790", **limits: Any) -> WebhookServer:
        """An HTTP server for :meth:`handle`, bound to ``bind`` but not yet serving.

        Run it with ``serve_forever()`` (foreground) or :meth:`WebhookServer.start`
        (background thread). Loopback by default: to receive events from Zoom, put a TLS
        reverse proxy in front. ``limits``: :class:`WebhookServer`'s timeouts and
        connection cap.
        """
        host, port = split_bind(bind)
        if not is_loopback(host):
            log.warning("zoom webhook: binding a non-loopback address")
        return WebhookServer((host, port), _handler_for(self), **limits)


class WebhookServer(ThreadingHTTPServer):
    """The webhook endpoint (``POST`` any path): a stdlib threading HTTP server, hardened.

    Args:
        address: (host, port) to bind.
        handler: the request handler class (:func:`_handler_for`).
        read_timeout_s: the longest wait for any read from a client.
        request_deadline_s: the longest a connection may take to deliver its request.
        max_connections: connections served at once; more are answered 503 at once.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], *,
                 read_timeout_s: float = READ_TIMEOUT_S,
                 request_deadline_s: float = REQUEST_DEADLINE_S,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self.read_timeout_s = read_timeout_s
        self.request_deadline_s = request_deadline_s
        self.max_connections = max(1, max_connections)
        self._thread: threading.Thread | None = None
        self._slots = threading.BoundedSemaphore(self.max_connections)
        self._refusers = threading.BoundedSemaphore(BUSY_ANSWERERS)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"

    def start(self) -> WebhookServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True,
                                        name="zoom-webhooks")
        self._thread.start()
        log.info("zoom webhook: listening on port %d", self.server_address[1])
        return self

    def stop(self) -> None:
        """Stop serving (when started) and close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    # -- connection limits

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread of its own, or answer 503 when all slots are busy."""
        if not self._slots.acquire(blocking=False):
            log.warning("zoom webhook: %d connections open; a new one answered 503",
                        self.max_connections)
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        """Answer 503 in a short-lived thread (a few at most; beyond that just close)."""
        if not self._refusers.acquire(blocking=False):
            self.shutdown_request(request)
            return

        def refuse() -> None:
            try:
                _refuse_busy(request)
            finally:
                self.shutdown_request(request)
                self._refusers.release()

        threading.Thread(target=refuse, daemon=True, name="zoom-webhook-busy").start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed (cut off, reset): one line, no traceback, no address."""
        log.warning("zoom webhook: a connection ended abnormally and was dropped")


def _refuse_busy(request: socket.socket) -> None:
    """503 to a connection over the cap: what it sent so far is read (briefly, so closing
    does not reset the connection before the client reads the answer), then answered."""
    with contextlib.suppress(OSError):
        request.settimeout(BUSY_READ_S)
        with contextlib.suppress(OSError):
            while request.recv(MAX_BODY):
                pass
        request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
                        b"Content-Length: 0\r\nConnection: close\r\n\r\n")


class _Cut(Exception):
    """The client did not deliver its request in time, or went away."""


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = READ_TIMEOUT_S

        def setup(self) -> None:
            self.timeout = getattr(self.server, "read_timeout_s", READ_TIMEOUT_S)  # every read
            super().setup()
            deadline = getattr(self.server, "request_deadline_s", REQUEST_DEADLINE_S)
            self._deadline = time.monotonic() + deadline
            self._watchdog = threading.Timer(deadline, self._cut_off)
            self._watchdog.daemon = True
            self._watchdog.start()

        def finish(self) -> None:
            self._watchdog.cancel()
            with contextlib.suppress(OSError):
                super().finish()

        def _cut_off(self) -> None:
            """The request took too long in all (a slow trickle): end the connection."""
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def log_message(self, *args: Any) -> None:  # request lines may carry nothing useful
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.close_connection = True  # one request per connection
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._answer(413, {"error": "body too large"})
                return
            try:
                raw = self._read_body(length)
            except _Cut:
                log.warning("zoom webhook: a request body did not arrive in time; dropped")
                return
            status, body = receiver.handle(dict(self.headers.items()), raw)
            self._answer(status, body)

        def do_GET(self) -> None:  # noqa: N802
            self.close_connection = True
            self._answer(405, {"error": "POST only"})

        def _read_body(self, length: int) -> bytes:
            """Exactly ``length`` bytes, each read bounded by the time left of the deadline."""
            data = bytearray()
            while len(data) < length:
                left = min(self.timeout, self._deadline - time.monotonic())
                if left <= 0:
                    raise _Cut
                try:
                    self.connection.settimeout(left)
                    chunk = self.rfile.read1(length - len(data))
                except OSError:  # TimeoutError, a reset, or the watchdog's shutdown
                    raise _Cut from None
                if not chunk:
                    raise _Cut
                data += chunk
            return bytes(data)

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                log.warning("zoom webhook: the client went away before the answer")

    return Handler


def _event_time(event: WebhookEvent) -> dt.datetime:
    obj = event.payload.object
    if obj.chat_message is not None:
        return obj.chat_message.date_time
    if obj.participant is not None:
        when = obj.participant.leave_time or obj.participant.join_time
        if when is not None:
            return when
    return dt.datetime.fromtimestamp(event.event_ts / 1000.0, dt.UTC)


def _stored_payload(event: WebhookEvent) -> dict[str, Any]:
    """Only what the rules need: the meeting, the person's identifiers, the times, the leave
    reason; of a chat message its time and sender, never its text."""
    obj = event.payload.object
    out: dict[str, Any] = {"event": event.event, "event_ts": event.event_ts,
                           "meeting_id": obj.id, "uuid": obj.uuid}
    if event.event == "meeting.chat_message_sent":
        if obj.chat_message is None:
            raise ValueError("chat_message missing")
        msg = obj.chat_message
        out["chat_message"] = {"date_time": msg.date_time.isoformat(),  # no message text
                               "sender_name": msg.sender_name,
                               "sender_email": msg.sender_email}
        return out
    if obj.participant is None:
        raise ValueError("participant missing")
    p = obj.participant
    if event.event == "meeting.participant_left" and p.leave_time is None:
        raise ValueError("leave_time missing")
    if event.event == "meeting.participant_joined" and p.join_time is None:
        raise ValueError("join_time missing")
    out["participant"] = {
        "user_name": p.user_name, "email": p.email, "id": p.id,
        "participant_user_id": p.participant_user_id, "participant_uuid": p.participant_uuid,
        "join_time": p.join_time.isoformat() if p.join_time else None,
        "leave_time": p.leave_time.isoformat() if p.leave_time else None,
        "leave_reason": p.leave_reason,
    }
    return out
