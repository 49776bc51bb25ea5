"""Receiver of Zoom webhook events (event subscriptions of the S2S OAuth app).

Zoom POSTs JSON with the headers ``x-zm-request-timestamp`` (Unix seconds) and
``x-zm-signature`` = ``v0=`` + hex HMAC-SHA256(secret token, ``v0:{timestamp}:{raw body}``).
The receiver

* answers ``endpoint.url_validation`` with ``{"plainToken", "encryptedToken"}`` where
  ``encryptedToken`` = hex HMAC-SHA256(secret token, plainToken);
* rejects a missing or wrong signature (401), a timestamp older or newer than ``max_age_s``
  (401) and a replayed event (409, the ledger already has it): a rejected request stores
  nothing;
* stores ``meeting.participant_joined``, ``meeting.participant_left`` and
  ``meeting.chat_message_sent`` in the :class:`connectors.base.WebhookLedger`, keyed by the
  meeting instance UUID; other events are acknowledged and ignored.

The event id (Zoom sends none) is the SHA-256 of the raw body, which contains the event's
``event_ts``: the same delivery posted twice is a replay. Logs carry meeting ids only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
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


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    """The ``x-zm-signature`` value Zoom computes for a request."""
    message = b"v0:" + timestamp.encode("ascii") + b":" + raw_body
    return "v0=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _timestamp_seconds(value: str) -> float | None:
    try:
        stamp = float(value)
    except ValueError:
        return None
    return stamp / 1000.0 if stamp > 1e11 else stamp  # tolerate milliseconds


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
        if not timestamp or not signature or not hmac.compare_digest(
                sign(secret, timestamp, raw_body).encode(), signature.encode()):
            log.warning("zoom webhook: rejected, bad or missing signature")
            return 401, {"error": "invalid signature"}
        sent = _timestamp_seconds(timestamp)
        if sent is None or abs(self._clock() - sent) > self._max_age_s:
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
            log.warning("zoom webhook: replay of a %s event of meeting %s rejected", kind, obj.id)
            return 409, {"error": "replayed event"}
        log.info("zoom webhook: %s stored for meeting %s", kind, obj.id)
        return 200, {"status": "stored"}

    # -- the server

    def serve(self, bind: str = "127.0.0.1:8790") -> WebhookServer:
        """An HTTP server for :meth:`handle`, bound to ``bind`` but not yet serving.

        Run it with ``serve_forever()`` (foreground) or :meth:`WebhookServer.start`
        (background thread). Loopback by default: to receive events from Zoom, put a TLS
        reverse proxy in front.
        """
        host, port = split_bind(bind)
        if not is_loopback(host):
            log.warning("zoom webhook: binding a non-loopback address")
        return WebhookServer((host, port), _handler_for(self))


class WebhookServer(ThreadingHTTPServer):
    """The webhook endpoint (``POST`` any path): a stdlib threading HTTP server."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self._thread: threading.Thread | None = None

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


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # request lines may carry nothing useful
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._answer(413, {"error": "body too large"})
                return
            raw = self.rfile.read(length)
            status, body = receiver.handle(dict(self.headers.items()), raw)
            self._answer(status, body)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(405, {"error": "POST only"})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

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
    """Only what the rules need: the meeting, the person's identifiers, the times, the text."""
    obj = event.payload.object
    out: dict[str, Any] = {"event": event.event, "event_ts": event.event_ts,
                           "meeting_id": obj.id, "uuid": obj.uuid}
    if event.event == "meeting.chat_message_sent":
        if obj.chat_message is None:
            raise ValueError("chat_message missing")
        msg = obj.chat_message
        out["chat_message"] = {"date_time": msg.date_time.isoformat(),
                               "sender_name": msg.sender_name,
                               "sender_email": msg.sender_email,
                               "message_content": msg.message_content}
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
