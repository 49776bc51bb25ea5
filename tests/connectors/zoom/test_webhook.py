"""The webhook receiver: URL validation, signatures, stale and replayed requests, storage."""

from __future__ import annotations

import hashlib
import hmac
import json
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
    pytest.param("not-a-number", id="timestamp-not-a-number"),
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
    elif case == "not-a-number":
        headers = _signed(body, "yesterday")
    status, _ = _receiver(ledger).handle(headers, sent)
    assert status == 401
    assert ledger.rows == {}


def test_timestamp_within_max_age_and_in_milliseconds_is_accepted() -> None:
    ledger = FakeLedger()
    body = _raw("webhook_participant_joined.json")
    status, _ = _receiver(ledger).handle(_signed(body, str(int(NOW * 1000) - 299_000)), body)
    assert status == 200
    assert len(ledger.rows) == 1


def test_replay_is_rejected_and_stores_nothing_new() -> None:
    ledger = FakeLedger()
    receiver = _receiver(ledger)
    body = _raw("webhook_participant_joined.json")
    headers = _signed(body, str(int(NOW)))
    assert receiver.handle(headers, body)[0] == 200
    snapshot = dict(ledger.rows)
    assert receiver.handle(headers, body)[0] == 409
    later = _signed(body, str(int(NOW) + 5))  # re-signed, same event
    assert _receiver(ledger, NOW + 5).handle(later, body)[0] == 409
    assert ledger.rows == snapshot


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
    import time

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
