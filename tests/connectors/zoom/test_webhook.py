"""The webhook receiver: URL validation, signatures, stale and replayed requests, storage."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from connectors.zoom.webhook import WebhookReceiver
from tests.connectors.zoom.fakes import NOW, FakeLedger, fixture
from tests.connectors.zoom.fakes import WEBHOOK_SECRET as SECRET
from tests.connectors.zoom.fakes import signed_headers as _signed


def _receiver(ledger: FakeLedger, now: float = NOW) -> WebhookReceiver:
    return WebhookReceiver(SECRET, ledger, max_age_s=300, clock=lambda: now)


def _raw(name: str) -> bytes:
    return json.dumps(fixture(name)).encode()


def test_url_validation_answers_the_encrypted_token() -> None:
    ledger = FakeLedger()
    body = _raw("webhook_url_validation.json")
    status, answer = _receiver(ledger).handle(_signed(body, str(int(NOW))), body)
    plain = "qgg8vlvZRS6UYooatFL8Aw"
    assert status == 200
    assert answer == {"plainToken": plain, "encryptedToken": hmac.new(
        SECRET.encode(), plain.encode(), hashlib.sha256).hexdigest()}
    assert ledger.rows == {}


@pytest.mark.parametrize(("name", "kind", "at"), [
    pytest.param("webhook_participant_joined.json", "meeting.participant_joined",
                 "2026-11-30T07:01:00+00:00", id="joined"),
    pytest.param("webhook_participant_left_removed.json", "meeting.participant_left",
                 "2026-11-30T07:20:45+00:00", id="left-removed"),
    pytest.param("webhook_chat_message_sent.json", "meeting.chat_message_sent",
                 "2026-11-30T07:02:05+00:00", id="chat"),
])
def test_good_signature_is_stored_under_the_instance_uuid(name: str, kind: str, at: str) -> None:
    ledger = FakeLedger()
    body = _raw(name)
    status, _ = _receiver(ledger).handle(_signed(body, str(int(NOW))), body)
    assert status == 200
    (row,) = ledger.rows.values()
    assert row["meeting_key"] == "mY8kS0v3R9q2vN6eLw1b4A=="
    assert row["kind"] == kind
    assert row["at"].isoformat() == at
    assert row["payload"]["event"] == kind
    assert row["payload"]["meeting_id"] == "81234567890"
    assert ledger.events("zoom", "mY8kS0v3R9q2vN6eLw1b4A==") == [row["payload"]]


def test_stored_payload_keeps_only_what_the_rules_need() -> None:
    ledger = FakeLedger()
    body = _raw("webhook_participant_left_removed.json")
    _receiver(ledger).handle(_signed(body, str(int(NOW))), body)
    (row,) = ledger.rows.values()
    participant = row["payload"]["participant"]
    assert participant["leave_reason"].endswith("removed by host")
    assert "phone_number" not in participant
    assert "host_id" not in row["payload"]


def _tamper(body: bytes) -> bytes:
    return body.replace(b"removed by host", b"left the meeting")


@pytest.mark.parametrize("case", [
    pytest.param("wrong-secret", id="wrong-secret"),
    pytest.param("tampered-body", id="tampered-body"),
    pytest.param("no-signature", id="no-signature"),
    pytest.param("no-timestamp", id="no-timestamp"),
    pytest.param("other-timestamp", id="signature-of-another-timestamp"),
    pytest.param("stale", id="stale-timestamp"),
    pytest.param("future", id="future-timestamp"),
])
def test_rejected_requests_store_nothing(case: str) -> None:
    ledger = FakeLedger()
    body = _raw("webhook_participant_left_removed.json")
    ts = str(int(NOW))
    headers = _signed(body, ts)
    sent = body
    if case == "wrong-secret":
        headers = _signed(body, ts, secret="another-secret")
    elif case == "tampered-body":
        sent = _tamper(body)
    elif case == "no-signature":
        del headers["x-zm-signature"]
    elif case == "no-timestamp":
        del headers["x-zm-request-timestamp"]
    elif case == "other-timestamp":
        headers["x-zm-request-timestamp"] = str(int(NOW) - 1)
    elif case == "stale":
        headers = _signed(body, str(int(NOW) - 301))
    elif case == "future":
        headers = _signed(body, str(int(NOW) + 301))
    status, _ = _receiver(ledger).handle(headers, sent)
    assert status == 401
    assert ledger.rows == {}


@pytest.mark.parametrize("stamp", [
    pytest.param("yesterday", id="not-a-number"),
    pytest.param("nan", id="nan"),
    pytest.param("NaN", id="nan-upper"),
    pytest.param("inf", id="inf"),
    pytest.param("1.7e9", id="exponent"),
    pytest.param("-1764486100", id="negative"),
    pytest.param(" 1764486100", id="space"),
    pytest.param("1764486100é", id="latin1-letter"),
    pytest.param("١٧٦٤٤٨٦١٠٠", id="arabic-indic-digits"),
    pytest.param("１７６４４８６１００", id="fullwidth-digits"),
])
def test_timestamp_not_plain_ascii_digits_is_400_even_when_signed(stamp: str) -> None:
    """Issue 15 item 16: nan and non-ASCII timestamps are refused, never a traceback."""
    ledger = FakeLedger()
    body = _raw("webhook_participant_left_removed.json")
    status, answer = _receiver(ledger).handle(_signed(body, stamp), body)
    assert (status, answer) == (400, {"error": "bad timestamp"})
    assert ledger.rows == {}


def test_timestamp_within_max_age_and_in_milliseconds_is_accepted() -> None:
    ledger = FakeLedger()
    body = _raw("webhook_participant_joined.json")
    status, _ = _receiver(ledger).handle(_signed(body, str(int(NOW * 1000) - 299_000)), body)
    assert status == 200
    assert len(ledger.rows) == 1


def test_repeated_delivery_is_2xx_and_stores_nothing_new() -> None:
    """Issue 11: Zoom redelivers an event it is unsure about; answer 2xx, not 409."""
    ledger = FakeLedger()
    receiver = _receiver(ledger)
    body = _raw("webhook_participant_joined.json")
    headers = _signed(body, str(int(NOW)))
    assert receiver.handle(headers, body) == (200, {"status": "stored"})
    snapshot = dict(ledger.rows)
    assert receiver.handle(headers, body) == (200, {"status": "duplicate"})
    later = _signed(body, str(int(NOW) + 5))  # re-signed, same event
    assert _receiver(ledger, NOW + 5).handle(later, body) == (200, {"status": "duplicate"})
    assert ledger.rows == snapshot


def test_chat_event_stores_time_and_sender_but_never_the_text() -> None:
    """Issue 15 item 9: what chat registration needs (time, who), not what was written."""
    ledger = FakeLedger()
    body = _raw("webhook_chat_message_sent.json")
    assert _receiver(ledger).handle(_signed(body, str(int(NOW))), body)[0] == 200
    (row,) = ledger.rows.values()
    message = row["payload"]["chat_message"]
    assert set(message) == {"date_time", "sender_name", "sender_email"}
    assert "klātesoša" not in json.dumps(row["payload"], ensure_ascii=False)


@pytest.mark.parametrize(("body", "status"), [
    pytest.param(b"{not json", 400, id="not-json"),
    pytest.param(b'["event"]', 400, id="not-an-object"),
    pytest.param(json.dumps({"event": "meeting.participant_left", "event_ts": 1,
                             "payload": {"object": {"id": "1"}}}).encode(), 400,
                 id="no-uuid"),
    pytest.param(json.dumps({"event": "meeting.participant_left", "event_ts": 1,
                             "payload": {"object": {"id": "1", "uuid": "u",
                                                    "participant": {"user_name": "X"}}}}
                            ).encode(), 400, id="left-without-leave-time"),
    pytest.param(json.dumps({"event": "endpoint.url_validation", "payload": {}}).encode(), 400,
                 id="validation-without-token"),
    pytest.param(json.dumps({"event": "meeting.started", "event_ts": 1,
                             "payload": {"object": {"id": "1", "uuid": "u"}}}).encode(), 200,
                 id="other-event-ignored"),
])
def test_malformed_or_other_events_store_nothing(body: bytes, status: int) -> None:
    ledger = FakeLedger()
    got, _ = _receiver(ledger).handle(_signed(body, str(int(NOW))), body)
    assert got == status
    assert ledger.rows == {}


def test_logs_carry_no_names_or_emails(caplog: pytest.LogCaptureFixture) -> None:
    ledger = FakeLedger()
    caplog.set_level("DEBUG")
    for name in ("webhook_participant_left_removed.json", "webhook_chat_message_sent.json"):
        body = _raw(name)
        _receiver(ledger).handle(_signed(body, str(int(NOW))), body)
        _receiver(ledger).handle(_signed(body, str(int(NOW))), body)  # replay, logged
    text = caplog.text
    assert "81234567890" in text
    for personal in ("Jānis", "Anna", "@", "klātesoša"):
        assert personal not in text


def test_serve_over_loopback() -> None:
    ledger = FakeLedger()
    receiver = WebhookReceiver(SECRET, ledger, max_age_s=300)
    server = receiver.serve("127.0.0.1:0").start()
    try:
        body = _raw("webhook_participant_joined.json")
        ts = str(int(time.time()))
        request = urllib.request.Request(server.url, data=body, method="POST",
                                         headers=_signed(body, ts))
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
            assert json.loads(answer.read()) == {"status": "stored"}
        bad = urllib.request.Request(server.url, data=body, method="POST",
                                     headers=_signed(body, ts, secret="nope"))
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(bad, timeout=5)
        assert info.value.code == 401
    finally:
        server.stop()
    assert len(ledger.rows) == 1


# ----------------------------------------------------------------------------- the server


def _post_raw(url: str, head: bytes, body: bytes = b"", *, wait: float = 5.0) -> bytes:
    """Send raw bytes to the server; return everything it answers until it closes."""
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head + body)
        out = b""
        while chunk := sock.recv(4096):
            out += chunk
        return out


def _live_request(server, body: bytes, **headers: str) -> int:
    request = urllib.request.Request(server.url, data=body, method="POST",
                                     headers={**_signed(body, str(int(time.time()))), **headers})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def server():
    ledger = FakeLedger()
    served = WebhookReceiver(SECRET, ledger, max_age_s=300).serve(
        "127.0.0.1:0", read_timeout_s=0.5, request_deadline_s=1.5, max_connections=3).start()
    served.ledger = ledger
    yield served
    served.stop()


def test_slowloris_body_is_dropped_quickly_without_traceback(server, capfd, caplog) -> None:
    """Issue 11: a client declaring 1000 bytes and sending 10 held the receiver 15 s."""
    caplog.set_level("WARNING", logger="kartiba.zoom.webhook")
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    started = time.monotonic()
    answer = _post_raw(server.url, head, b"0123456789")
    elapsed = time.monotonic() - started
    assert answer == b""  # dropped, nothing stored, nothing answered
    assert elapsed < 1.4  # the read timeout (0.5 s), not the client, decided
    assert "did not arrive in time" in caplog.text
    assert "Traceback" not in capfd.readouterr().err
    assert server.ledger.rows == {}


def test_trickled_headers_are_cut_at_the_request_deadline(server, capfd) -> None:
    """A byte every 0.3 s never trips the read timeout; the overall deadline ends it."""
    host, port = server.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as sock, \
            contextlib.suppress(OSError):
        for byte in b"POST / HTTP/1.1\r\nHost: example.invalid\r\nX-Slow: " + b"a" * 40:
            sock.sendall(bytes([byte]))
            time.sleep(0.3)
            if time.monotonic() - started > 4:
                break
        while sock.recv(4096):
            pass
    assert time.monotonic() - started < 3.0
    assert "Traceback" not in capfd.readouterr().err


def test_idle_connections_cannot_starve_a_real_delivery(server) -> None:
    """Issue 15 item 16: half-sent connections use up the slots only until they time out."""
    host, port = server.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(3)]
    try:
        for sock in idle:
            sock.sendall(b"POST / HTTP/1.1\r\n")  # and then nothing
        time.sleep(0.1)
        body = _raw("webhook_participant_joined.json")
        assert _live_request(server, body) == 503  # all slots busy: answered at once
        time.sleep(0.8)  # the idle ones hit the read timeout and are dropped
        assert _live_request(server, body) == 200
    finally:
        for sock in idle:
            sock.close()
    assert len(server.ledger.rows) == 1


def test_non_ascii_timestamp_header_over_the_wire_is_400(server, capfd) -> None:
    body = _raw("webhook_participant_joined.json")
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"x-zm-request-timestamp: 17644\xc3\xa9\r\nx-zm-signature: v0=00\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    answer = _post_raw(server.url, head, body)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert "Traceback" not in capfd.readouterr().err


def test_repeated_delivery_over_the_wire_is_200(server) -> None:
    body = _raw("webhook_participant_joined.json")
    assert _live_request(server, body) == 200
    assert _live_request(server, body) == 200
    assert len(server.ledger.rows) == 1
