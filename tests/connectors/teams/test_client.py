"""Graph wire calls: OData filter quoting, @odata.nextLink paging, 429, 401, 403."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from connectors.errors import PermissionDeniedError, ProtocolError
from connectors.teams.client import ODataPages, odata_quote, policy_denied, user_segment
from tests.connectors.teams.conftest import (
    MEETING_ID,
    MEETING_URL,
    ORGANIZER,
    REPORT1,
    REPORTS_URL,
    TOKEN_URL,
    UPN,
    load,
    register_user,
)

RECORDS_URL = f"{REPORTS_URL}/{REPORT1}/attendanceRecords"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        pytest.param("plain", "'plain'", id="plain"),
        pytest.param("O'Brien", "'O''Brien'", id="one-quote"),
        pytest.param("''", "''''''", id="only-quotes"),
        pytest.param("", "''", id="empty"),
    ],
)
def test_odata_quote_doubles_single_quotes(value, literal):
    assert odata_quote(value) == literal


@pytest.mark.parametrize(
    ("upn", "segment"),
    [
        pytest.param("ilze.kalnina@school.lv", "ilze.kalnina@school.lv", id="upn-kept"),
        pytest.param(" a+b@school.lv ", "a%2Bb@school.lv", id="plus-escaped-space-trimmed"),
        pytest.param("x/y@school.lv", "x%2Fy@school.lv", id="slash-escaped"),
    ],
)
def test_user_segment(upn, segment):
    assert user_segment(upn) == segment


@pytest.mark.parametrize(
    "join_url",
    [
        pytest.param("https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjA0%40thread.v2/0"
                     "?context=%7b%22Tid%22%3a%22abc%22%7d", id="encoded-join-url"),
        pytest.param("https://teams.microsoft.com/l/meetup-join/19%3ameeting_O'Brien%40thread.v2/0",
                     id="join-url-with-quote"),
        pytest.param("https://teams.microsoft.com/l/meetup-join/a b+c&d=e", id="reserved-chars"),
    ],
)
def test_find_meeting_sends_an_odata_filter_that_round_trips(source, join_url):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(MEETING_URL, json=load("online_meetings.json"))
        meeting = source.client.find_meeting(ORGANIZER, join_url)
        sent = rsps.calls[1].request.url
    assert meeting is not None and meeting.id == MEETING_ID
    query = urlsplit(sent).query
    assert query.startswith("$filter=JoinWebUrl%20eq%20'")
    expected = "JoinWebUrl eq '" + join_url.replace("'", "''") + "'"
    assert parse_qs(query)["$filter"] == [expected]


def test_find_meeting_returns_none_when_no_meeting_matches(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(MEETING_URL, json={"value": []})
        assert source.client.find_meeting(ORGANIZER, "https://teams.microsoft.com/x") is None


def test_records_follow_odata_next_link_until_exhausted(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(RECORDS_URL, json=load("attendance_records_page1.json"),
                 match=[matchers.query_param_matcher({})])
        rsps.get(RECORDS_URL, json=load("attendance_records_page2.json"),
                 match=[matchers.query_param_matcher({"$skiptoken": "eyJvIjoyfQ"})])
        records = source.client.attendance_records(ORGANIZER, MEETING_ID, REPORT1)
    # five items over two pages; the one without joinDateTime is skipped
    assert [r.display_name for r in records] == [
        "Ilze Kalniņa", "Jānis Bērziņš", "Anna (viesis)", "Marta K"]


def test_malformed_record_is_logged_by_id_only(source, caplog):
    caplog.set_level(logging.WARNING, logger="kartiba.teams")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(RECORDS_URL, json=load("attendance_records_page2.json"))
        source.client.attendance_records(ORGANIZER, MEETING_ID, REPORT1)
    assert "bad-record-0001" in caplog.text
    assert "Broken Record" not in caplog.text and "someone@" not in caplog.text


@pytest.mark.parametrize(
    "next_link",
    [
        pytest.param("https://evil.example.com/v1.0/users/x/onlineMeetings", id="other-host"),
        pytest.param("http://graph.microsoft.com/v1.0/next", id="downgraded-scheme"),
        pytest.param(42, id="not-a-string"),
    ],
)
def test_next_link_outside_graph_is_refused(source, next_link):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(RECORDS_URL, json={"value": [], "@odata.nextLink": next_link})
        with pytest.raises(ProtocolError):
            source.client.attendance_records(ORGANIZER, MEETING_ID, REPORT1)


def test_paging_that_repeats_a_link_is_stopped(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(RECORDS_URL, json={"value": [], "@odata.nextLink": RECORDS_URL})
        with pytest.raises(ProtocolError):
            list(ODataPages(source.client.http, RECORDS_URL))


def test_answer_without_value_is_a_protocol_error(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(REPORTS_URL, json={"error": "unexpected"})
        with pytest.raises(ProtocolError):
            source.client.attendance_reports(ORGANIZER, MEETING_ID)


@pytest.mark.parametrize(
    ("retry_after", "expected_wait"),
    [
        pytest.param("7", 7.0, id="delta-seconds"),
        pytest.param("0", 0.0, id="zero"),
    ],
)
def test_429_waits_retry_after_then_succeeds(source, sleeps, retry_after, expected_wait):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(REPORTS_URL, status=429, json=load("error_429.json"),
                 headers={"Retry-After": retry_after})
        rsps.get(REPORTS_URL, json=load("attendance_reports.json"))
        reports = source.client.attendance_reports(ORGANIZER, MEETING_ID)
        assert len(rsps.calls) == 3
    assert len(reports) == 3
    assert expected_wait in sleeps.waits


@pytest.mark.parametrize(
    ("message", "policy"),
    [
        pytest.param("No application access policy found for this app.", True, id="policy"),
        pytest.param("Application is not allowed to perform operations on the user 'x', "
                     "neither is allowed access through RSC permission evaluation.", True,
                     id="policy-other-wording"),
        pytest.param("The user is not the organizer or a co-organizer of this meeting.", False,
                     id="not-the-organizer"),
    ],
)
def test_a_403_says_whether_the_access_policy_is_missing(source, message, policy):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(MEETING_URL, status=403, json={"error": {"code": "Forbidden",
                                                          "message": message}})
        with pytest.raises(PermissionDeniedError) as err:
            source.client.find_meeting(ORGANIZER, "https://teams.microsoft.com/l/x")
    assert err.value.status == 403
    assert policy_denied(err.value) is policy


def test_user_lookup_asks_for_the_object_id_only(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        register_user(rsps)
        assert source.client.user_id(UPN) == ORGANIZER


def test_user_lookup_403_names_user_read_all(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        register_user(rsps, 403, {"error": {"code": "Authorization_RequestDenied",
                                            "message": "Insufficient privileges."}})
        with pytest.raises(PermissionDeniedError) as err:
            source.client.user_id(UPN)
    assert "User.Read.All" in err.value.message and UPN not in err.value.message


def test_401_renews_the_token_once_and_retries(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json={"access_token": "expired", "expires_in": 3599})
        rsps.post(TOKEN_URL, json={"access_token": "fresh", "expires_in": 3599})
        rsps.get(REPORTS_URL, status=401, json={"error": {"code": "InvalidAuthenticationToken",
                                                          "message": "expired"}},
                 match=[matchers.header_matcher({"Authorization": "Bearer expired"})])
        rsps.get(REPORTS_URL, json=load("attendance_reports.json"),
                 match=[matchers.header_matcher({"Authorization": "Bearer fresh"})])
        assert len(source.client.attendance_reports(ORGANIZER, MEETING_ID)) == 3


def test_non_json_answer_is_a_protocol_error(source):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=load("token.json"))
        rsps.get(REPORTS_URL, body="<html>proxy error</html>", content_type="text/html")
        with pytest.raises(ProtocolError):
            source.client.attendance_reports(ORGANIZER, MEETING_ID)
