"""A small loopback HTTP server base the stand-ins share (stdlib, one thread per request).

Every stand-in inherits two test facilities from here:

* ``server.faults``: a :class:`sandbox.faults.FaultPlan` (None: no faults) deciding, per
  request, whether the answer is a 429/5xx, a reset, a late, truncated or malformed answer, or
  a server-specific fault (a ``fault_<kind>`` hook of the subclass);
* ``server.observers``: callables ``(server, request, outcome)`` run after the request was
  served and before the answer is sent (the chaos driver kills ``kartiba`` from there, e.g.
  right after the journal applied a write and before the client hears of it).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.faults import FaultPlan, Outcome

Observer = Callable[["LoopbackServer", "Request", Outcome], None]


class Request:
    """What a route handler gets: method, path, query, headers and the raw body."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(handler.path)
        self.method = handler.command
        self.raw_path = parts.path  # still percent-encoded, as sent
        self.query = {k: v for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.headers = handler.headers
        self.body = body

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class Response:
    def __init__(self, status: int = 200, body: bytes | str | Any = b"",
                 headers: dict[str, str] | None = None, content_type: str | None = None) -> None:
        self.status = status
        self.headers = dict(headers or {})
        if isinstance(body, bytes):
            self.body = body
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
        else:
            self.body = json.dumps(body).encode("utf-8")
            content_type = content_type or "application/json; charset=utf-8"
        self.headers.setdefault("Content-Type", content_type or "text/plain; charset=utf-8")


class _QuietServer(ThreadingHTTPServer):
    """Connections a client dropped (timeouts, killed processes) are not worth a traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """Serve ``self.handle(request) -> Response`` on 127.0.0.1 at a free port, in a thread.

    Subclasses implement :meth:`handle`; returning None drops the connection unanswered.
    ``requests_seen`` counts requests (tests read it). ``faults`` and ``observers``: see the
    module docstring.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests_seen = 0
        self.faults: FaultPlan | None = None
        self.observers: list[Observer] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def answer(self, request: Request) -> Outcome:
        """How to answer ``request``: :meth:`handle`'s answer, through the fault plan if any."""
        plan = self.faults
        outcome = (plan.intercept(self, request, self._handle_safely) if plan is not None
                   else Outcome(self._handle_safely(request)))
        for observer in list(self.observers):
            observer(self, request, outcome)
        return outcome

    def _handle_safely(self, request: Request) -> Response | None:
        try:
            return self.handle(request)
        except Exception as exc:  # a bug in the stand-in: answer 500, keep serving
            return Response(500, f"sandbox error: {type(exc).__name__}: {exc}")

    def start(self) -> str:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out without a 40 ms stall

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with owner._lock:
                    owner.requests_seen += 1
                outcome = owner.answer(Request(self, body))
                try:
                    self._reply(outcome)
                except OSError:  # the client went away (timed out, or was killed)
                    self.close_connection = True

            def _reply(self, outcome: Outcome) -> None:
                if outcome.delay > 0:
                    time.sleep(outcome.delay)
                resp = outcome.response
                if outcome.reset:  # RST instead of an answer: SO_LINGER 0, then close
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if resp is None or outcome.drop:  # the connection is dropped unanswered
                    self.close_connection = True
                    return
                self.send_response(resp.status)
                for key, value in resp.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(resp.body)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if outcome.trickle > 0:  # a byte at a time, until done or the client left
                    self._trickle(resp.body, outcome.trickle)
                    return
                if outcome.send_bytes is not None:  # a truncated answer: part, then close
                    self.wfile.write(resp.body[:outcome.send_bytes])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(resp.body)

            def _trickle(self, body: bytes, every: float) -> None:
                for index in range(len(body)):
                    self.wfile.write(body[index:index + 1])
                    self.wfile.flush()
                    time.sleep(every)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        self._server = _QuietServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"sandbox-{type(self).__name__}")
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
