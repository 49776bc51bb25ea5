"""Teams and Meet connectors against their sandbox stand-ins over real loopback sockets."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from connectors import meet, teams
from connectors._http import CallStats, LimiterRegistry, RateLimiter
from connectors.errors import AuthError
from mappings.model import EvidenceGap, MeetingRef, Segment, Teacher
from sandbox.graph import GraphSandbox
from sandbox.meet import MeetSandbox
from sandbox.scenario import load_scenario
from sandbox.world import World

pytestmark = pytest.mark.e2e

SCENARIO = Path(__file__).resolve().parents[1] / "fixtures" / "teams" / "scenario.json"
RIGA = ZoneInfo("Europe/Riga")
RUN = dt.datetime(2026, 11, 30, 12, 30, tzinfo=RIGA)
SA_EMAIL = "kartiba-meet@school-project.iam.gserviceaccount.com"
ILZE = Teacher(id="t1", name="Ilze Kalniņa", email="ilze.kalnina@school.lv")
PETERIS = Teacher(id="t2", name="Pēteris Ozols", email="peteris.ozols@school.lv")


def riga(h: int, m: int) -> dt.datetime:
    return dt.datetime(2026, 11, 30, h, m, tzinfo=RIGA)


def seg(a: tuple[int, int], b: tuple[int, int]) -> Segment:
    return Segment(riga(*a), riga(*b))


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class RecordingLimiters(LimiterRegistry):
    """Fresh limiters per source that wait through the recorder, never really."""

    def __init__(self, sleep: SleepRecorder) -> None:
        super().__init__()
        self._sleep = sleep

    def get(self, key: tuple[str, ...], rate: float, burst: float | None = None) -> RateLimiter:
        return RateLimiter(rate, burst, sleep=self._sleep)


@pytest.fixture
def world() -> World:
    return World(load_scenario(SCENARIO), RUN)


# --------------------------------------------------------------------------- Teams


@pytest.fixture
def graph(world):
    server = GraphSandbox(world, tenant="school-tenant", client_id="kartiba-app",
                          client_secret="app-secret-value", page_size=2, retry_after=1)
    server.start()
    yield server
    server.stop()


def teams_source(graph: GraphSandbox, sleeps: SleepRecorder | None = None,
                 secret: str = "app-secret-value") -> teams.TeamsMeetingSource:
    """A Teams source whose run is at the sandbox's ``world.now``."""
    conf = teams.TeamsSettings(enabled=True, tenant_id="school-tenant", client_id="kartiba-app",
                               client_secret=SecretStr(secret), graph_url=graph.graph_url,
                               login_url=graph.login_url, rate_per_s=1000)
    sleeps = sleeps or SleepRecorder()
    return teams.build(conf, now=graph.world.now, sleep=sleeps, stats=CallStats(),
                       registry=RecordingLimiters(sleeps))


def teams_ref(world: World, index: int) -> MeetingRef:
    url = world.scenario.teams.meetings[index].join_url
    return MeetingRef("teams", unquote(url), url)  # as mappings.uzdots reads the link


def test_teams_lesson_evidence(graph, world):
    ev = teams_source(graph).fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45), ILZE)
    assert ev.found and ev.complete and ev.instances == 1 and ev.chat is None
    # the lesson's session; the one restarted after the lesson (09:50) is not its evidence
    assert ev.sessions == (seg((8, 58), (9, 47)),)
    people = {p.name: p for p in ev.participants}
    assert people["Jānis Bērziņš"].email == "janis.berzins@audzekni.school.lv"
    assert people["Jānis Bērziņš"].segments == (seg((9, 1), (9, 30)), seg((9, 35), (9, 46)))
    assert people["Ilze Kalniņa"].segments == (seg((8, 58), (9, 47)),)
    guest = people["Anna (viesis)"]
    assert (guest.email, guest.segments) == ("", (seg((9, 5), (9, 44)),))
    assert guest.platform_id  # the guest's identity id, stable for the meeting
    assert set(people) == {"Ilze Kalniņa", "Jānis Bērziņš", "Anna (viesis)", "Marta K"}
    # the object ID looked up once; four records over two pages of the lesson's report
    assert (graph.hits["users"], graph.hits["attendanceRecords"]) == (1, 2)


def test_teams_joint_lesson_costs_one_fetch(graph, world):
    source = teams_source(graph)
    first = source.fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45), ILZE)
    seen = graph.requests_seen
    second = source.fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45), ILZE)
    assert graph.requests_seen == seen
    assert second == first


def test_teams_concurrent_fetches_of_one_meeting_call_graph_once(graph, world):
    source = teams_source(graph)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(
            lambda _: source.fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45), ILZE), range(4)))
    assert all(r == results[0] for r in results) and results[0].found
    assert (graph.hits["token"], graph.hits["users"], graph.hits["onlineMeetings"],
            graph.hits["attendanceReports"], graph.hits["attendanceRecords"]) == (1, 1, 1, 2, 2)
    # (pages of 2: three reports, four records of the lesson's report)


def test_teams_join_url_with_a_quote(graph, world):
    ev = teams_source(graph).fetch(teams_ref(world, 1), riga(11, 0), riga(11, 45), PETERIS)
    assert ev.found
    assert [(p.name, p.segments) for p in ev.participants] == [
        ("Anna Liepa", (seg((11, 0), (11, 45)),))]


def test_teams_no_report_while_the_session_runs_is_not_ready(graph, world):
    """Defect 4: at 09:46 the lesson's session still runs (Graph has no report yet): no
    evidence_missing, no marks - a later run looks again."""
    world.set_now(riga(9, 46))
    ev = teams_source(graph).fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45), ILZE)
    assert (ev.found, ev.gap, ev.gap_detail) == (False, EvidenceGap.REPORT_NOT_READY,
                                                 "no_report_yet")


@pytest.mark.parametrize(
    ("now", "gap"),
    [
        pytest.param((11, 25), EvidenceGap.REPORT_NOT_READY, id="first-run-defers"),
        pytest.param((13, 0), "", id="after-the-window-not-found"),
    ],
)
def test_teams_an_earlier_session_on_the_link_is_not_the_lessons(graph, world, now, gap):
    """Defect 3: the 09:50-10:05 session lies in the 10:10 lesson's ±window but not in the
    lesson: it is not read as this lesson's evidence (no wrong "n" for the whole group)."""
    world.set_now(riga(*now))
    ev = teams_source(graph).fetch(teams_ref(world, 0), riga(10, 10), riga(10, 55), ILZE)
    assert not ev.found and ev.participants == () and ev.gap == gap
    assert graph.hits["attendanceRecords"] == 0


def test_teams_substitute_teachers_lesson_is_organizer_unreadable(graph, world, caplog):
    """Defect 5: Pēteris teaches on Ilze's link; Graph lets only the organizer read it."""
    caplog.set_level("WARNING", logger="kartiba.teams")
    ev = teams_source(graph).fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45), PETERIS)
    assert (ev.found, ev.gap, ev.gap_detail) == (False, EvidenceGap.ORGANIZER_UNREADABLE,
                                                 "not_organizer")
    assert graph.hits["not_organizer"] == 1
    assert "organizer" in caplog.text and "access policy" not in caplog.text


def test_teams_429_is_retried_after_retry_after(graph, world):
    sleeps = SleepRecorder()
    graph.throttle.force(1)
    ev = teams_source(graph, sleeps).fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45), ILZE)
    assert ev.found and graph.hits["throttled"] == 1
    assert 1.0 in sleeps.waits


def test_teams_expired_token_is_renewed(graph, world):
    source = teams_source(graph)
    source.fetch(teams_ref(world, 1), riga(11, 0), riga(11, 45), PETERIS)
    graph.tokens.expire_all()
    ev = source.fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45), ILZE)
    assert ev.found and graph.hits["token"] == 2 and graph.hits["unauthorized"] == 1


def test_teams_missing_access_policy_is_no_access(world, caplog):
    caplog.set_level("WARNING", logger="kartiba.teams")
    server = GraphSandbox(world, tenant="school-tenant", client_id="kartiba-app",
                          client_secret="app-secret-value", access_policy=[PETERIS.email])
    server.start()
    try:
        ev = teams_source(server).fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45), ILZE)
    finally:
        server.stop()
    assert (ev.gap, ev.gap_detail) == (EvidenceGap.NO_ACCESS, "application_access_policy")
    assert "application access policy" in caplog.text


def test_teams_wrong_secret_is_an_auth_error(graph, world):
    with pytest.raises(AuthError) as err:
        teams_source(graph, secret="wrong").fetch(teams_ref(world, 0), riga(9, 0), riga(9, 45),
                                                  ILZE)
    assert "wrong" not in err.value.message + err.value.detail


# --------------------------------------------------------------------------- Meet


@pytest.fixture(scope="module")
def sa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sa_json(key: rsa.RSAPrivateKey) -> str:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({"type": "service_account", "client_email": SA_EMAIL,
                       "private_key": pem, "private_key_id": "k1"})


def start_meet(world: World, public: rsa.RSAPublicKey, **kw) -> MeetSandbox:
    # domain-wide delegation for the users of the domain (the teachers)
    server = MeetSandbox(world, public, SA_EMAIL, subjects=[ILZE.email, PETERIS.email],
                         page_size=2, **kw)
    server.start()
    return server


@pytest.fixture
def meet_server(world, sa_key):
    server = start_meet(world, sa_key.public_key())
    yield server
    server.stop()


def meet_source(server: MeetSandbox, key: rsa.RSAPrivateKey, now: dt.datetime,
                tmp_path: Path | None = None) -> meet.MeetMeetingSource:
    values = {"enabled": True, "api_url": server.api_url,
              "token_url": server.token_url, "rate_per_s": 1000}
    if tmp_path is not None:  # the key from a file, as an admin would deploy it
        path = tmp_path / "sa.json"
        path.write_text(sa_json(key), encoding="utf-8")
        values["service_account_file"] = str(path)
    else:
        values["service_account_json"] = SecretStr(sa_json(key))
    sleeps = SleepRecorder()
    return meet.build(meet.MeetSettings(**values), now=now, sleep=sleeps, stats=CallStats(),
                      registry=RecordingLimiters(sleeps))


MEET_REF = MeetingRef("meet", "abc-defg-hij", "https://meet.google.com/abc-defg-hij")


def test_meet_lesson_evidence(meet_server, sa_key, world, tmp_path):
    ev = meet_source(meet_server, sa_key, world.now, tmp_path).fetch(
        MEET_REF, riga(11, 0), riga(11, 45), PETERIS)
    assert ev.found and ev.complete and ev.instances == 1 and ev.chat is None
    assert ev.sessions == (seg((10, 58), (11, 47)),)
    got = {p.name: (p.email, bool(p.platform_id), p.segments) for p in ev.participants}
    assert got == {
        "Pēteris Ozols": ("", True, (seg((10, 58), (11, 47)),)),
        "Jānis Bērziņš": ("", True, (seg((11, 2), (11, 15)), seg((11, 16), (11, 40)))),
        "Anna L": ("", False, (seg((11, 5), (11, 45)),)),
    }
    assert meet_server.hits["participants"] == 2  # three participants, two per page
    # defect 2: the lesson's teacher is impersonated, not one fixed admin subject
    assert [a["sub"] for a in meet_server.assertions] == [PETERIS.email]


def test_meet_joint_lesson_costs_one_fetch(meet_server, sa_key, world):
    source = meet_source(meet_server, sa_key, world.now)
    first = source.fetch(MEET_REF, riga(11, 0), riga(11, 45), PETERIS)
    seen = meet_server.requests_seen
    assert source.fetch(MEET_REF, riga(11, 0), riga(11, 45), PETERIS) == first
    assert meet_server.requests_seen == seen


def test_meet_records_older_than_30_days_are_unavailable(meet_server, sa_key, world):
    world.set_now(dt.datetime(2027, 1, 5, 8, 0, tzinfo=RIGA))
    ev = meet_source(meet_server, sa_key, world.now).fetch(
        MEET_REF, riga(11, 0), riga(11, 45), PETERIS)
    assert not ev.found and ev.participants == ()
    assert meet_server.hits["conferenceRecords"] == 0  # not even asked


def test_meet_unknown_code_is_not_found(meet_server, sa_key, world):
    ref = MeetingRef("meet", "qqq-qqqq-qqq", "https://meet.google.com/qqq-qqqq-qqq")
    ev = meet_source(meet_server, sa_key, world.now).fetch(ref, riga(11, 0), riga(11, 45),
                                                           PETERIS)
    assert not ev.found and meet_server.hits["conferenceRecords"] == 1


def test_meet_assertion_signed_by_another_key_is_no_access(world, sa_key):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = start_meet(world, stranger.public_key())
    try:
        ev = meet_source(server, sa_key, world.now).fetch(MEET_REF, riga(11, 0), riga(11, 45),
                                                          PETERIS)
    finally:
        server.stop()
    assert (ev.gap, ev.gap_detail) == (EvidenceGap.NO_ACCESS,
                                       "delegation_refused:invalid_grant")


def test_meet_429_without_retry_after_is_retried_with_backoff(meet_server, sa_key, world):
    meet_server.throttle.force(2)
    ev = meet_source(meet_server, sa_key, world.now).fetch(
        MEET_REF, riga(11, 0), riga(11, 45), PETERIS)
    assert ev.found and meet_server.hits["throttled"] == 2


def test_meet_a_running_conference_is_meeting_running(meet_server, sa_key, world):
    world.set_now(riga(11, 30))
    ev = meet_source(meet_server, sa_key, world.now).fetch(
        MEET_REF, riga(11, 0), riga(11, 45), PETERIS)
    assert (ev.found, ev.gap) == (False, EvidenceGap.MEETING_RUNNING)
    assert meet_server.hits["participants"] == 0
    world.set_now(riga(12, 15))  # ended: the next run reads it
    assert meet_source(meet_server, sa_key, world.now).fetch(
        MEET_REF, riga(11, 0), riga(11, 45), PETERIS).complete


def test_meet_the_previous_lessons_conference_is_not_the_lessons(meet_server, sa_key, world):
    """Defect 3: the 10:58-11:47 conference is in the 12:00 lesson's ±window, not in it."""
    ev = meet_source(meet_server, sa_key, world.now).fetch(
        MEET_REF, riga(12, 0), riga(12, 45), PETERIS)
    assert not ev.found and ev.complete and meet_server.hits["participants"] == 0


def test_meet_a_teacher_neither_owner_nor_participant_sees_nothing(meet_server, sa_key, world):
    ev = meet_source(meet_server, sa_key, world.now).fetch(
        MEET_REF, riga(11, 0), riga(11, 45), ILZE)
    assert not ev.found and [a["sub"] for a in meet_server.assertions] == [ILZE.email]


def test_meet_phone_users_are_participants_by_masked_number(meet_server, sa_key, world):
    ref = MeetingRef("meet", "xyz-wxyz-xyz", "https://meet.google.com/xyz-wxyz-xyz")
    ev = meet_source(meet_server, sa_key, world.now).fetch(ref, riga(11, 0), riga(11, 45),
                                                           PETERIS)
    phone = next(p for p in ev.participants if p.name.endswith("412"))
    assert (phone.email, phone.platform_id) == ("", "")
    assert phone.segments == (seg((11, 1), (11, 44)),)
