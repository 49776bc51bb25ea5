"""The Meet stand-in over real loopback sockets, driven with plain HTTP (no connector)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.faults import FaultPlan
from sandbox.meet import (
    JWT_BEARER,
    MEET_READONLY,
    TOKEN_AUDIENCE,
    FilterError,
    MeetSandbox,
    parse_filter,
)
from sandbox.scenario import load_scenario
from sandbox.world import World

SCENARIO = Path(__file__).resolve().parents[1] / "fixtures" / "teams" / "scenario.json"
RIGA = dt.timezone(dt.timedelta(hours=2))
ISSUER = "kartiba-meet@sandbox-project.iam.gserviceaccount.com"
OWNER = "peteris.ozols@school.lv"  # the teacher owning the scenario's meeting spaces


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def world() -> World:
    return World(load_scenario(SCENARIO), dt.datetime(2026, 11, 30, 12, 30, tzinfo=RIGA))


def start(world: World, key: rsa.RSAPrivateKey, **kw) -> MeetSandbox:
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    server = MeetSandbox(world, pem, ISSUER, **kw)
    server.start()
    return server


@pytest.fixture
def meet(world, key):
    server = start(world, key)
    yield server
    server.stop()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(key: rsa.RSAPrivateKey, aud: str = TOKEN_AUDIENCE, **claims) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": OWNER, "scope": MEET_READONLY, "aud": aud,
            "iat": now, "exp": now + 3600, **claims}
    body = {k: v for k, v in body.items() if v is not None}  # sub=None: no subject
    head = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(body).encode())
    sig = key.sign(f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{payload}.{b64(sig)}"


def token(server: MeetSandbox, key: rsa.RSAPrivateKey, **claims) -> dict[str, str]:
    answer = requests.post(server.token_url, data={"grant_type": JWT_BEARER,
                                                   "assertion": assertion(key, **claims)},
                           timeout=5)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def get(server: MeetSandbox, headers: dict, path: str, **params) -> requests.Response:
    return requests.get(f"{server.api_url}/{path}", headers=headers, params=params, timeout=5)


def test_valid_assertion_gets_a_token(meet, key):
    answer = requests.post(meet.token_url, data={"grant_type": JWT_BEARER,
                                                 "assertion": assertion(key)},
                           timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["access_token"]
    assert meet.assertions[-1]["sub"] == OWNER


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        pytest.param({"aud": "SERVER"}, "audience", id="aud-is-not-the-posted-url"),
        pytest.param({"iss": "someone@else.iam.gserviceaccount.com"}, "issuer", id="wrong-iss"),
        pytest.param({"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
                     "short-lived", id="expired"),
        pytest.param({"exp": int(time.time()) + 7200}, "short-lived", id="lifetime-over-1h"),
        pytest.param({"iat": int(time.time()) + 3000, "exp": int(time.time()) + 3600},
                     "short-lived", id="issued-in-the-future"),
    ],
)
def test_bad_claims_are_invalid_grant(meet, key, claims, description):
    aud = claims.pop("aud", TOKEN_AUDIENCE)
    aud = meet.token_url if aud == "SERVER" else aud
    answer = requests.post(meet.token_url, data={"grant_type": JWT_BEARER,
                                                 "assertion": assertion(key, aud, **claims)},
                           timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert description in answer.json()["error_description"]


def test_signature_by_another_key_is_refused(meet, other_key):
    answer = requests.post(meet.token_url, data={
        "grant_type": JWT_BEARER, "assertion": assertion(other_key)}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error_description"] == "Invalid JWT Signature."


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        pytest.param({"grant_type": "client_credentials"}, 400, "unsupported_grant_type",
                     id="wrong-grant"),
        pytest.param({"grant_type": JWT_BEARER, "assertion": "a.b"}, 400, "invalid_grant",
                     id="not-a-jws"),
        pytest.param({"grant_type": JWT_BEARER, "assertion": "!!.??.**"}, 400, "invalid_grant",
                     id="undecodable"),
    ],
)
def test_malformed_token_requests(meet, form, status, error):
    answer = requests.post(meet.token_url, data=form, timeout=5)
    assert answer.status_code == status and answer.json()["error"] == error


def test_scope_not_delegated_is_unauthorized_client(world, key):
    server = start(world, key, delegated_scopes=["https://www.googleapis.com/auth/drive"])
    try:
        answer = requests.post(server.token_url, data={
            "grant_type": JWT_BEARER, "assertion": assertion(key)}, timeout=5)
    finally:
        server.stop()
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized_client"


def test_subject_outside_the_domain_is_refused(world, key):
    server = start(world, key, subjects=["ilze.kalnina@school.lv"])
    try:
        answer = requests.post(server.token_url, data={
            "grant_type": JWT_BEARER, "assertion": assertion(key)}, timeout=5)
    finally:
        server.stop()
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "authorization",
    [pytest.param(None, id="missing"), pytest.param("Bearer forged", id="unknown")],
)
def test_api_needs_a_live_token(meet, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = get(meet, headers, "conferenceRecords")
    assert answer.status_code == 401 and answer.json()["error"]["status"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("expr", "starts"),
    [
        pytest.param('space.meeting_code = "abc-defg-hij"',
                     ["2026-11-30T08:58", "2026-11-29T09:00"], id="by-code-newest-first"),
        pytest.param('space.meeting_code = "ABC-DEFG-HIJ" AND start_time>="2026-11-30T00:00:00Z"',
                     ["2026-11-30T08:58"], id="code-and-start-from"),
        pytest.param('space.meeting_code = "abc-defg-hij" AND start_time>="2026-11-29T00:00:00Z" '
                     'AND start_time<="2026-11-29T23:59:59Z"', ["2026-11-29T09:00"],
                     id="start-range"),
        pytest.param('end_time>"2026-11-30T09:48:00Z"', ["2026-11-30T08:50"], id="end-after"),
        pytest.param('space.meeting_code != "abc-defg-hij"', ["2026-11-30T08:50"],
                     id="not-code"),
        pytest.param("end_time IS NULL", [], id="none-running-at-12-30"),
        pytest.param("", ["2026-11-30T08:58", "2026-11-30T08:50", "2026-11-29T09:00"],
                     id="no-filter"),
    ],
)
def test_conference_filter(meet, key, expr, starts):
    body = get(meet, token(meet, key), "conferenceRecords", filter=expr).json()
    assert [c["startTime"][:16] for c in body.get("conferenceRecords", [])] == starts


def test_space_name_filter(meet, key):
    headers = token(meet, key)
    first = get(meet, headers, "conferenceRecords").json()["conferenceRecords"][0]
    body = get(meet, headers, "conferenceRecords", filter=f'space.name = "{first["space"]}"')
    assert len(body.json()["conferenceRecords"]) == 2  # both conferences of abc-defg-hij


@pytest.mark.parametrize(
    "expr",
    [
        pytest.param('space.meeting_code > "a"', id="ordering-on-code"),
        pytest.param('start_time>="yesterday"', id="not-a-timestamp"),
        pytest.param('space.meeting_code = "abc-defg-hij" OR start_time>="2026-01-01T00:00:00Z"',
                     id="or-unsupported"),
        pytest.param('space.meeting_code = "abc-defg-hij" AND', id="dangling-and"),
        pytest.param("participant = 1", id="unknown-field"),
    ],
)
def test_bad_filters_are_invalid_argument(meet, key, expr):
    answer = get(meet, token(meet, key), "conferenceRecords", filter=expr)
    assert answer.status_code == 400 and answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    with pytest.raises(FilterError):
        parse_filter(expr)


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        pytest.param(dt.datetime(2026, 11, 30, 10, 57, tzinfo=RIGA), ["yes"], id="not-started"),
        pytest.param(dt.datetime(2026, 11, 30, 11, 46, tzinfo=RIGA), ["no", "yes"],
                     id="running-without-end"),
        pytest.param(dt.datetime(2026, 11, 30, 11, 47, tzinfo=RIGA), ["yes", "yes"],
                     id="ended"),
        pytest.param(dt.datetime(2026, 12, 30, 11, 46, tzinfo=RIGA), ["yes"], id="day-30-kept"),
        pytest.param(dt.datetime(2026, 12, 30, 11, 47, tzinfo=RIGA), [], id="expired"),
    ],
)
def test_conferences_listed_from_start_until_expiry(meet, key, world, now, ends):
    headers = token(meet, key)
    world.set_now(now)
    body = get(meet, headers, "conferenceRecords",
               filter='space.meeting_code = "abc-defg-hij"').json()
    records = body.get("conferenceRecords", [])
    assert ["yes" if "endTime" in r else "no" for r in records] == ends
    for record in records:
        if "endTime" in record:
            end = dt.datetime.fromisoformat(record["endTime"].replace("Z", "+00:00"))
            expire = dt.datetime.fromisoformat(record["expireTime"].replace("Z", "+00:00"))
            assert expire - end == dt.timedelta(days=30)


def test_a_running_conference_is_found_by_end_time_is_null(meet, key, world):
    world.set_now(dt.datetime(2026, 11, 30, 11, 10, tzinfo=RIGA))
    headers = token(meet, key)
    body = get(meet, headers, "conferenceRecords", filter="end_time IS NULL").json()
    running = [c["startTime"][:16] for c in body["conferenceRecords"]]
    assert running == ["2026-11-30T08:58", "2026-11-30T08:50"]
    conference = body["conferenceRecords"][0]["name"]
    people = get(meet, headers, f"{conference}/participants").json()["participants"]
    janis = next(p for p in people if p.get("signedinUser", {}).get("displayName")
                 == "Jānis Bērziņš")
    assert "latestEndTime" not in janis  # still connected
    sessions = get(meet, headers, f"{janis['name']}/participantSessions").json()
    # his first session still open, the rejoin at 11:16 not yet begun
    assert ["endTime" in s for s in sessions["participantSessions"]] == [False]
    assert len(people) == 3  # everyone who had joined by 11:10


@pytest.mark.parametrize(
    ("subject", "count"),
    [
        pytest.param(OWNER, 3, id="space-owner-sees-all"),
        pytest.param("janis.berzins@audzekni.school.lv", 2, id="participant-sees-his"),
        pytest.param("ilze.kalnina@school.lv", 0, id="other-teacher-sees-none"),
        pytest.param(None, 0, id="service-account-itself-sees-none"),
    ],
)
def test_conferences_are_visible_to_their_owner_and_participants(meet, key, subject, count):
    body = get(meet, token(meet, key, sub=subject), "conferenceRecords").json()
    assert len(body.get("conferenceRecords", [])) == count


def test_a_phone_user_has_a_masked_number_only(meet, key):
    headers = token(meet, key)
    body = get(meet, headers, "conferenceRecords",
               filter='space.meeting_code = "xyz-wxyz-xyz"').json()
    conference = body["conferenceRecords"][0]["name"]
    people = get(meet, headers, f"{conference}/participants").json()["participants"]
    phone = next(p for p in people if "phoneUser" in p)
    assert phone["phoneUser"]["displayName"].endswith("412")
    assert "123" not in phone["phoneUser"]["displayName"]
    assert "signedinUser" not in phone and "anonymousUser" not in phone


def test_participants_and_sessions_with_page_tokens(world, key):
    server = start(world, key, page_size=2)
    try:
        headers = token(server, key)
        conference = get(server, headers, "conferenceRecords",
                         filter='space.meeting_code = "abc-defg-hij"').json()[
            "conferenceRecords"][0]["name"]
        people, page_token, pages = [], None, 0
        while True:
            params = {"pageToken": page_token} if page_token else {}
            body = get(server, headers, f"{conference}/participants", **params).json()
            people += body.get("participants", [])
            pages += 1
            page_token = body.get("nextPageToken")
            if not page_token:
                break
        student = next(p for p in people if "signedinUser" in p
                       and p["signedinUser"]["displayName"] == "Jānis Bērziņš")
        sessions = get(server, headers, f"{student['name']}/participantSessions").json()
    finally:
        server.stop()
    assert pages == 2 and body["totalSize"] == 3
    assert [("signedinUser" in p, "anonymousUser" in p) for p in people] == [
        (True, False), (True, False), (False, True)]
    assert student["signedinUser"]["user"].startswith("users/")
    assert "@" not in json.dumps(people)  # Meet gives no e-mail addresses
    assert student["earliestStartTime"].startswith("2026-11-30T09:02")
    assert [s["startTime"][:16] for s in sessions["participantSessions"]] == [
        "2026-11-30T09:16", "2026-11-30T09:02"]  # newest first
    assert all(s["name"].startswith(student["name"] + "/participantSessions/")
               for s in sessions["participantSessions"])


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("conferenceRecords/nonexistent", id="conference"),
        pytest.param("conferenceRecords/nonexistent/participants", id="participants"),
    ],
)
def test_unknown_resources_are_404(meet, key, path):
    answer = get(meet, token(meet, key), path)
    assert answer.status_code == 404 and answer.json()["error"]["status"] == "NOT_FOUND"


def test_bad_page_token_is_invalid_argument(meet, key):
    answer = get(meet, token(meet, key), "conferenceRecords", pageToken="garbage")
    assert answer.status_code == 400


def test_rate_limit_answers_429_without_retry_after(world, key):
    server = start(world, key, rate_per_s=1)
    try:
        headers = token(server, key)
        answers = [get(server, headers, "conferenceRecords") for _ in range(2)]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200, 429]
    assert "Retry-After" not in answers[1].headers  # Google promises no wait
    assert answers[1].json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_without_a_fixed_account_the_key_decides(world, key, other_key):
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    server = MeetSandbox(world, public_key_pem=pem)  # as the demo stack starts it
    server.start()
    try:
        def post(signer):
            jwt = assertion(signer, iss="any@demo.iam.gserviceaccount.com")
            return requests.post(server.token_url, data={"grant_type": JWT_BEARER,
                                                         "assertion": jwt}, timeout=5)

        assert post(key).status_code == 200
        assert post(other_key).status_code == 400
    finally:
        server.stop()


def test_a_key_that_is_not_rsa_is_refused(world):
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(TypeError):
        MeetSandbox(world, pem)


# --------------------------------------------------------------------------- fault hooks


def test_token_expires_mid_run(meet, key):
    headers = token(meet, key)  # the token endpoint itself is never hit
    meet.faults = FaultPlan(1, {"token_expired": 1.0}, max_faults=1)
    expired = get(meet, headers, "conferenceRecords")
    assert (expired.status_code, expired.json()["error"]["status"]) == (401, "UNAUTHENTICATED")
    assert get(meet, headers, "conferenceRecords").status_code == 401  # stays invalid
    assert get(meet, token(meet, key), "conferenceRecords").status_code == 200
    assert meet.faults.snapshot() == {"token_expired": 1}


def test_page_token_expires_and_listing_restarts(world, key):
    server = start(world, key, page_size=2)
    try:
        headers = token(server, key)
        conference = get(server, headers, "conferenceRecords",
                         filter='space.meeting_code = "abc-defg-hij"').json()[
            "conferenceRecords"][0]["name"]
        server.faults = FaultPlan(1, {"page_token_expired": 1.0}, max_faults=1)
        first = get(server, headers, f"{conference}/participants").json()
        gone = get(server, headers, f"{conference}/participants",
                   pageToken=first["nextPageToken"])
        assert (gone.status_code, gone.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
        restart = get(server, headers, f"{conference}/participants").json()
        rest = get(server, headers, f"{conference}/participants",
                   pageToken=restart["nextPageToken"])
        assert rest.status_code == 200 and len(rest.json()["participants"]) == 1
        assert server.faults.snapshot() == {"page_token_expired": 1}
    finally:
        server.stop()
