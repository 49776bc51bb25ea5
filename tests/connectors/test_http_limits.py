"""Issue 15 items 5 and 10: every call has an overall deadline and a body size cap, over a
real loopback server (a trickling or flooding upstream)."""

from __future__ import annotations

import contextlib
import socketserver
import threading
import time

import pytest

from connectors._http import HttpClient, HttpSettings
from connectors.errors import TransientError, UpstreamError
from sandbox.faults import FaultPlan
from sandbox.httpserver import LoopbackServer, Request, Response


class Answers(LoopbackServer):
    """Answers every GET with ``size`` bytes of JSON."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def handle(self, request: Request) -> Response:
        return Response(200, b'"' + b"x" * (self.size - 2) + b'"',
                        content_type="application/json")


def client(server: LoopbackServer, **settings) -> HttpClient:
    return HttpClient("upstream", base_url=server.base_url,
                      settings=HttpSettings(**{"read_timeout": 1.0, **settings}),
                      sleep=lambda s: None)


def test_a_trickling_upstream_ends_at_the_total_timeout():
    with Answers(200) as server:
        server.faults = FaultPlan(1, {"trickle": 1.0}, trickle_s=0.2)
        started = time.monotonic()
        with pytest.raises(TransientError, match=r"within 2 s \(total_timeout\)"):
            client(server, total_timeout=2.0).get_json("/x")
        took = time.monotonic() - started
    assert 1.8 <= took < 3.5  # each byte comes within the read timeout: only the deadline ends it


def test_a_slow_but_finishing_answer_within_the_deadline_is_read():
    with Answers(10) as server:
        server.faults = FaultPlan(1, {"trickle": 1.0}, trickle_s=0.05)
        assert client(server, total_timeout=5.0).get_json("/x") == "x" * 8


def test_retries_stop_at_the_deadline():
    with Answers(200) as server:
        server.faults = FaultPlan(1, {"http_503": 1.0})
        settings = {"total_timeout": 1.0, "max_attempts": 50, "backoff_base": 0.3}
        http = HttpClient("upstream", base_url=server.base_url,
                          settings=HttpSettings(**settings))
        started = time.monotonic()
        with pytest.raises(TransientError, match="503"):
            http.get_json("/x")
        assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("size", [2_000_000, 1_000_001])
def test_an_answer_over_the_cap_fails_the_call_without_retry(size):
    with Answers(size) as server:
        with pytest.raises(UpstreamError, match="larger than 1 MB"):
            client(server, max_body_bytes=1_000_000).get_json("/x")
        assert server.requests_seen == 1


def test_an_answer_at_the_cap_is_read():
    with Answers(1_000_000) as server:
        assert len(client(server, max_body_bytes=1_000_000).get_json("/x")) == 999_998


def _chunked_flood(size: int) -> tuple[socketserver.TCPServer, str]:
    """A server answering with a chunked body of ``size`` bytes (no Content-Length)."""

    class Flood(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"x" * 65536
            with contextlib.suppress(OSError):
                for _ in range(size // len(chunk)):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Flood)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_a_chunked_answer_over_the_cap_is_cut_off_while_read():
    server, url = _chunked_flood(20_000_000)
    try:
        http = HttpClient("upstream", base_url=url,
                          settings=HttpSettings(max_body_bytes=1_000_000))
        with pytest.raises(UpstreamError, match="larger than 1 MB"):
            http.get_json("/x")
    finally:
        server.shutdown()
        server.server_close()
