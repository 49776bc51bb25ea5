"""Meet wire calls: the conferenceRecords filter, pageToken paging, 429, 403."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from connectors.errors import PermissionDeniedError, ProtocolError
from connectors.meet.client import PageTokenPages, rfc3339
from tests.connectors.meet.conftest import API, CONFERENCE, SUBJECT, TOKEN_URL, load

RIGA = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA), "2026-11-30T07:00:00Z",
                     id="riga-to-utc"),
        pytest.param(dt.datetime(2026, 7, 1, 0, 0, 30, 123, tzinfo=dt.UTC),
                     "2026-07-01T00:00:30Z", id="utc-seconds"),
    ],
)
def test_rfc3339(value, text):
    assert rfc3339(value) == text


def test_rfc3339_refuses_naive_times():
    with pytest.raises(ValueError):
        rfc3339(dt.datetime(2026, 11, 30, 9, 0))


def test_conference_records_filter(source):
    lo = dt.datetime(2026, 11, 29, 8, 30, tzinfo=dt.UTC)
    hi = dt.datetime(2026, 11, 30, 11, 45, tzinfo=dt.UTC)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", json=load("conference_records.json"))
        records = source.clients.as_user(SUBJECT).conference_records("abc-defg-hij", lo, hi)
        query = parse_qs(urlsplit(rsps.calls[1].request.url).query)
    assert query["filter"] == ['space.meeting_code = "abc-defg-hij" AND '
                               'start_time>="2026-11-29T08:30:00Z" AND '
                               'start_time<="2026-11-30T11:45:00Z"']
    assert query["pageSize"] == ["100"]
    assert [r.name for r in records] == [CONFERENCE, "conferenceRecords/0f1e2d3c-4b5a"]
    assert records[0].end_time == dt.datetime(2026, 11, 30, 9, 47, 0, 118901, tzinfo=dt.UTC)


def test_empty_list_answer_has_no_items(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", json={})
        now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
        assert source.clients.as_user(SUBJECT).conference_records("abc-defg-hij", now, now) == []


def test_participants_follow_next_page_token_keeping_the_page_size(source, caplog):
    caplog.set_level(logging.WARNING, logger="kartiba.meet")
    url = f"{API}/{CONFERENCE}/participants"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(url, json=load("participants_page1.json"),
                 match=[matchers.query_param_matcher({"pageSize": "250"})])
        rsps.get(url, json=load("participants_page2.json"),
                 match=[matchers.query_param_matcher(
                     {"pageSize": "250", "pageToken": "CgwI0KKfugYQwNaIhwMSBDEwMDI"})])
        people = source.clients.as_user(SUBJECT).participants(CONFERENCE)
    assert [(p.kind, p.display_name) for p in people] == [
        ("signedin", "Pēteris Ozols"), ("signedin", "Jānis Bērziņš"),
        ("anonymous", "Anna L"), ("phone", "+371 ***-**-12")]
    # the malformed fifth item (no resource name) is reported by position, not by name
    assert "#4" in caplog.text and "No Resource Name" not in caplog.text


def test_sessions_of_a_participant(source):
    name = f"{CONFERENCE}/participants/1002"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/{name}/participantSessions", json=load("sessions_1002.json"))
        sessions = source.clients.as_user(SUBJECT).sessions(name)
    assert [s.start_time.minute for s in sessions] == [16, 2]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"participants": [], "nextPageToken": "same"}, id="token-repeats"),
        pytest.param({"participants": {"a": 1}}, id="items-not-a-list"),
        pytest.param([1], id="not-an-object"),
        pytest.param("<html>proxy error</html>", id="not-json"),
    ],
)
def test_bad_paging_is_a_protocol_error(source, answer):
    url = f"{API}/{CONFERENCE}/participants"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        if isinstance(answer, str):
            rsps.get(url, body=answer, content_type="text/html")
        else:
            rsps.get(url, json=answer)
        with pytest.raises(ProtocolError):
            list(PageTokenPages(source.clients.as_user(SUBJECT).http, f"{CONFERENCE}/participants",
                                "participants"))


def test_429_without_retry_after_backs_off_then_succeeds(source, sleeps):
    """Google sends no Retry-After with RESOURCE_EXHAUSTED: exponential backoff, jittered."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", status=429, json=load("error_429.json"))
        rsps.get(f"{API}/conferenceRecords", status=429, json=load("error_429.json"))
        rsps.get(f"{API}/conferenceRecords", json=load("conference_records.json"))
        now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
        client = source.clients.as_user(SUBJECT)
        assert len(client.conference_records("abc-defg-hij", now, now)) == 2
    # the retry waits: half of 0.5 s, then of 1 s, for certain, the rest drawn at random
    # (the rate limiter's own waits after the 429 are recorded too)
    assert any(0.25 <= w <= 0.5 for w in sleeps.waits)
    assert any(0.5 < w <= 1.0 for w in sleeps.waits)


def test_403_explains_what_to_enable(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(f"{API}/conferenceRecords", status=403, json=load("error_403.json"))
        now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
        with pytest.raises(PermissionDeniedError) as err:
            source.clients.as_user(SUBJECT).conference_records("abc-defg-hij", now, now)
    assert "domain-wide delegation" in err.value.message
