"""The Graph stand-in over real loopback sockets, driven with plain HTTP (no connector)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from sandbox.faults import FaultPlan
from sandbox.graph import GraphSandbox
from sandbox.scenario import TeacherRow, load_scenario
from sandbox.world import World

SCENARIO = Path(__file__).resolve().parents[1] / "fixtures" / "teams" / "scenario.json"
RIGA = dt.timezone(dt.timedelta(hours=2))
ORGANIZER = "ilze.kalnina@school.lv"
FORM = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
        "scope": "https://graph.microsoft.com/.default", "grant_type": "client_credentials"}


@pytest.fixture
def world() -> World:
    return World(load_scenario(SCENARIO), dt.datetime(2026, 11, 30, 12, 30, tzinfo=RIGA))


def start(world: World, **kw) -> GraphSandbox:
    server = GraphSandbox(world, **kw)
    server.start()
    return server


@pytest.fixture
def graph(world):
    server = start(world)
    yield server
    server.stop()


def token(server: GraphSandbox) -> dict[str, str]:
    answer = requests.post(f"{server.login_url}/sandbox-tenant/oauth2/v2.0/token", data=FORM,
                           timeout=5)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def oid(upn: str) -> str:
    """The object ID the stand-in gives a teacher (as ``GET /users/{upn}?$select=id`` says)."""
    return GraphSandbox.user_id(TeacherRow(id="x", name="x", email=upn))


def find(server: GraphSandbox, headers: dict, join_url: str, user: str = ORGANIZER,
         *, by_upn: bool = False):
    expr = "JoinWebUrl eq '" + join_url.replace("'", "''") + "'"
    segment = user if by_upn else oid(user)
    return requests.get(f"{server.graph_url}/users/{segment}/onlineMeetings"
                        f"?$filter={quote(expr, safe=chr(39))}", headers=headers, timeout=5)


def join_url(world: World, index: int) -> str:
    return world.scenario.teams.meetings[index].join_url


def reports_url(server, headers, world, index=0, user=ORGANIZER) -> str:
    meeting = find(server, headers, join_url(world, index), user).json()["value"][0]
    return (f"{server.graph_url}/users/{oid(user)}/onlineMeetings/{meeting['id']}"
            "/attendanceReports")


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        pytest.param({}, 200, None, id="valid"),
        pytest.param({"client_secret": "wrong"}, 401, "invalid_client", id="bad-secret"),
        pytest.param({"client_id": "other"}, 400, "unauthorized_client", id="unknown-app"),
        pytest.param({"grant_type": "password"}, 400, "unsupported_grant_type", id="bad-grant"),
        pytest.param({"scope": "User.Read"}, 400, "invalid_scope", id="bad-scope"),
    ],
)
def test_token_endpoint(graph, change, status, error):
    answer = requests.post(f"{graph.login_url}/sandbox-tenant/oauth2/v2.0/token",
                           data={**FORM, **change}, timeout=5)
    assert answer.status_code == status
    body = answer.json()
    if error is None:
        assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["access_token"]
    else:
        assert body["error"] == error and body["error_description"].startswith("AADSTS")


def test_token_for_an_unknown_tenant(graph):
    answer = requests.post(f"{graph.login_url}/other-tenant/oauth2/v2.0/token", data=FORM,
                           timeout=5)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize("index", [pytest.param(0, id="encoded-url"),
                                   pytest.param(1, id="url-with-quote")])
def test_meeting_found_by_odata_quoted_join_url(graph, world, index):
    headers = token(graph)
    organizer = world.scenario.teacher(world.scenario.teams.meetings[index].organizer).email
    answer = find(graph, headers, join_url(world, index), organizer)
    assert answer.status_code == 200
    [meeting] = answer.json()["value"]
    assert meeting["joinWebUrl"] == join_url(world, index)
    assert meeting["participants"]["organizer"]["upn"] == organizer


def test_no_meeting_with_the_join_url_gives_an_empty_value(graph):
    answer = find(graph, token(graph), "https://teams.microsoft.com/x", ORGANIZER)
    assert answer.status_code == 200 and answer.json()["value"] == []


def test_someone_else_than_the_organizer_gets_403(graph, world):
    """Only the organizer (or a co-organizer) may read a meeting: a substitute teacher's
    object ID with the regular teacher's join URL is refused, not an empty answer."""
    answer = find(graph, token(graph), join_url(world, 0), "peteris.ozols@school.lv")
    assert answer.status_code == 403
    message = answer.json()["error"]["message"]
    assert "organizer" in message and "access policy" not in message


def test_the_meeting_paths_take_the_object_id_not_the_upn(graph, world):
    headers = token(graph)
    assert find(graph, headers, join_url(world, 0), ORGANIZER, by_upn=True).status_code == 404
    looked_up = requests.get(f"{graph.graph_url}/users/{ORGANIZER}", params={"$select": "id"},
                             headers=headers, timeout=5)
    assert looked_up.status_code == 200 and looked_up.json()["id"] == oid(ORGANIZER)
    assert set(looked_up.json()) == {"@odata.context", "id"}
    assert find(graph, headers, join_url(world, 0), ORGANIZER).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("", id="no-filter"),
        pytest.param("?$filter=" + quote("JoinWebUrl eq 'a'b'"), id="unescaped-quote"),
        pytest.param("?$filter=" + quote("subject eq 'x'"), id="other-property"),
    ],
)
def test_bad_filters_are_400(graph, query):
    answer = requests.get(f"{graph.graph_url}/users/{oid(ORGANIZER)}/onlineMeetings{query}",
                          headers=token(graph), timeout=5)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "BadRequest"


def test_unknown_user_is_404(graph, world):
    headers = token(graph)
    assert find(graph, headers, join_url(world, 0), "nobody@school.lv").status_code == 404
    answer = requests.get(f"{graph.graph_url}/users/nobody@school.lv", headers=headers,
                          timeout=5)
    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("now", "starts"),
    [
        pytest.param(dt.datetime(2026, 11, 30, 9, 46, tzinfo=RIGA), ["2026-11-23T07:00"],
                     id="lesson-not-ended"),
        pytest.param(dt.datetime(2026, 11, 30, 9, 47, tzinfo=RIGA),
                     ["2026-11-30T06:58", "2026-11-23T07:00"], id="first-session-ended"),
        pytest.param(dt.datetime(2026, 11, 30, 12, 0, tzinfo=RIGA),
                     ["2026-11-30T07:50", "2026-11-30T06:58", "2026-11-23T07:00"],
                     id="all-ended-newest-first"),
    ],
)
def test_reports_appear_when_their_session_ends(graph, world, now, starts):
    headers = token(graph)
    url = reports_url(graph, headers, world)
    world.set_now(now)
    body = requests.get(url, headers=headers, timeout=5).json()
    assert [r["meetingStartDateTime"][:16] for r in body["value"]] == starts
    # Graph's seven fractional digits
    assert all(len(r["meetingEndDateTime"].split(".")[1]) == 8 for r in body["value"])


def test_records_page_with_odata_next_link(world):
    server = start(world, page_size=2)
    try:
        headers = token(server)
        url = reports_url(server, headers, world)
        report = next(r for r in requests.get(url, headers=headers, timeout=5).json()["value"]
                      if r["totalParticipantCount"] == 4)
        link, pages, records = f"{url}/{report['id']}/attendanceRecords", 0, []
        while link:
            body = requests.get(link, headers=headers, timeout=5).json()
            records += body["value"]
            link = body.get("@odata.nextLink")
            pages += 1
    finally:
        server.stop()
    assert pages == 2
    assert [r["identity"]["displayName"] for r in records] == [
        "Ilze Kalniņa", "Jānis Bērziņš", "Anna (viesis)", "Marta K"]
    organizer, student, guest, _ = records
    assert organizer["role"] == "Organizer" and student["role"] == "Attendee"
    assert guest["emailAddress"] is None and guest["identity"]["tenantId"] is None
    assert student["totalAttendanceInSeconds"] == sum(
        i["durationInSeconds"] for i in student["attendanceIntervals"]) == 42 * 60  # 19 + 12 + 11 min


def test_bad_skiptoken_is_400(graph, world):
    headers = token(graph)
    url = reports_url(graph, headers, world)
    answer = requests.get(f"{url}?$skiptoken=nonsense", headers=headers, timeout=5)
    assert answer.status_code == 400


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("Bearer not-issued-here", id="unknown"),
        pytest.param("Basic abc", id="wrong-scheme"),
    ],
)
def test_graph_needs_a_live_token(graph, world, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = find(graph, headers, join_url(world, 0))
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_expired_tokens_are_refused(graph, world):
    headers = token(graph)
    assert find(graph, headers, join_url(world, 0)).status_code == 200
    graph.tokens.expire_all()
    assert find(graph, headers, join_url(world, 0)).status_code == 401


def test_rate_limit_answers_429_with_retry_after(world):
    server = start(world, rate_per_s=2, retry_after=3)
    try:
        headers = token(server)  # the token endpoint is not counted
        statuses = [find(server, headers, join_url(world, 0)) for _ in range(3)]
    finally:
        server.stop()
    assert [a.status_code for a in statuses] == [200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "3"
    assert statuses[2].json()["error"]["code"] == "TooManyRequests"


def test_forced_throttle_refuses_exactly_that_many(graph, world):
    headers = token(graph)
    graph.throttle.force(2)
    statuses = [find(graph, headers, join_url(world, 0)).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]


def test_organizer_outside_the_access_policy_is_403(world):
    server = start(world, access_policy=["peteris.ozols@school.lv"])
    try:
        headers = token(server)
        denied = find(server, headers, join_url(world, 0))
        allowed = find(server, headers, join_url(world, 1), "peteris.ozols@school.lv")
    finally:
        server.stop()
    assert denied.status_code == 403
    assert "application access policy" in denied.json()["error"]["message"]
    assert allowed.status_code == 200


def test_unknown_routes_are_404(graph):
    assert requests.get(f"{graph.base_url}/v1.0/me", timeout=5).status_code == 404


# --------------------------------------------------------------------------- fault hooks


def test_token_expires_mid_run(graph, world):
    headers = token(graph)  # the token endpoint itself is never hit
    url = reports_url(graph, headers, world)
    graph.faults = FaultPlan(1, {"token_expired": 1.0}, max_faults=1)
    expired = requests.get(url, headers=headers, timeout=5)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "expired" in expired.json()["error"]["message"]
    assert requests.get(url, headers=headers, timeout=5).status_code == 401  # stays invalid
    assert requests.get(url, headers=token(graph), timeout=5).status_code == 200
    assert graph.faults.snapshot() == {"token_expired": 1}


def test_next_link_expires_and_paging_restarts(world):
    server = start(world, page_size=2)
    try:
        headers = token(server)
        url = reports_url(server, headers, world)
        report = next(r for r in requests.get(url, headers=headers, timeout=5).json()["value"]
                      if r["totalParticipantCount"] == 4)
        server.faults = FaultPlan(1, {"page_token_expired": 1.0}, max_faults=1)
        first = requests.get(f"{url}/{report['id']}/attendanceRecords", headers=headers,
                             timeout=5).json()  # a first page has no token to expire
        link = first["@odata.nextLink"]
        gone = requests.get(link, headers=headers, timeout=5)
        assert (gone.status_code, gone.json()["error"]["code"]) == (400, "BadRequest")
        again = requests.get(link, headers=headers, timeout=5)  # budget spent: served
        assert again.status_code == 200 and len(again.json()["value"]) == 2
        assert server.faults.snapshot() == {"page_token_expired": 1}
    finally:
        server.stop()
