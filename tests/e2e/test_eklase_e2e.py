"""EklaseJournal + GatewaySink against EklaseSandbox over real loopback sockets."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from connectors import eklase
from connectors._http import CallStats
from connectors.base import WriteResult, WriteStatus
from connectors.eklase.client import EklaseClient
from connectors.eklase.source import EklaseJournal
from connectors.errors import AuthError, ConfigError, NotFoundError, UpstreamError
from mappings.model import LessonMode, Mark, SubjectKind
from sandbox.eklase import EklaseSandbox
from sandbox.scenario import load_scenario
from sandbox.world import World

pytestmark = pytest.mark.e2e

RIGA = ZoneInfo("Europe/Riga")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "eklase" / "scenario.json"
RUN_1 = dt.datetime.fromisoformat("2026-11-27T17:05:00+02:00")
RUN_2 = dt.datetime.fromisoformat("2026-11-30T18:00:00+02:00")
D = dt.date


@pytest.fixture(scope="module")
def server():
    with EklaseSandbox(World(load_scenario(FIXTURE), RUN_2), password="e2e-Pass") as running:
        yield running


@pytest.fixture
def sandbox(server):
    server.reset()
    server.world.set_now(RUN_2)
    return server


@pytest.fixture
def stats() -> CallStats:
    return CallStats()


def _settings(sandbox, **overrides) -> eklase.EklaseSettings:
    values = {"endpoint": sandbox.endpoint, "username": "kartiba",
              "password": SecretStr("e2e-Pass"), "connect_timeout": 2, "operation_timeout": 5}
    values.update(overrides)
    return eklase.EklaseSettings(**values)


def _journal(sandbox, stats, **overrides) -> EklaseJournal:
    settings = _settings(sandbox, **overrides)
    return EklaseJournal(EklaseClient(settings, stats=stats, sleep=lambda _s: None), settings)


def _run(sandbox, stats, marks: list[Mark]) -> list[WriteResult]:
    """One job run: read the window, then write through a fresh gateway sink."""
    journal = _journal(sandbox, stats)
    journal.lessons(D(2026, 11, 23), D(2026, 12, 6))
    sink = eklase.build_sink(journal.settings, journal=journal)
    return [sink.write(m, m.key, "kārtības 30. p.") for m in marks]


# --------------------------------------------------------------------------- reading


def test_school(sandbox, stats):
    school = _journal(sandbox, stats).school(D(2026, 11, 30))
    assert school.name.startswith("Daugavpils")
    assert sorted(school.teachers) == ["t1", "t2"]
    assert school.groups["g1"].class_teacher_id == "t2"
    assert [s.id for s in school.roster("g1")] == ["s1", "s2", "s3", "s4"]
    assert school.students["s2"].offline_mode is True
    assert school.subjects["p1"].kind is SubjectKind.QUALIFICATION_PRACTICE
    assert dict(school.subjects["m1"].planned_hours) == {"g1": 120, "g2": 80}
    assert stats.snapshot()["calls"] == {"eklase": 4}


@pytest.mark.parametrize(
    ("now", "l1_uzdots", "l1_topic", "l1_marks", "l2_uzdots", "notices"),
    [
        pytest.param(RUN_1, True, False, [], False, [], id="run-1"),
        pytest.param(RUN_2, True, True, [("s3", "t1")], False, ["N1", "N2"], id="run-2"),
        pytest.param(dt.datetime(2026, 12, 1, 8, 0, tzinfo=RIGA), True, True, [("s3", "t1")],
                     True, ["N1", "N2", "N3"], id="next-morning"),
    ],
)
def test_visibility_follows_world_now(sandbox, stats, now, l1_uzdots, l1_topic, l1_marks,
                                      l2_uzdots, notices):
    sandbox.world.set_now(now)
    journal = _journal(sandbox, stats)
    lessons = {x.id: x for x in journal.lessons(D(2026, 11, 23), D(2026, 12, 6))}
    assert sorted(lessons) == ["L1", "L2", "L3"]
    l1, l2 = lessons["L1"], lessons["L2"]
    assert (l1.uzdots is not None, l1.topic is not None) == (l1_uzdots, l1_topic)
    assert [(m.student_id, m.author_id) for m in l1.marks] == l1_marks
    assert (l2.uzdots is not None) is l2_uzdots
    assert [n.id for n in journal.notices(D(2026, 11, 30), D(2026, 12, 2))] == notices
    assert journal.problems == []


def test_lesson_fields_modes_and_riga_times_across_dst(sandbox, stats):
    journal = _journal(sandbox, stats)
    lessons = {x.id: x for x in journal.lessons(D(2026, 10, 1), D(2026, 12, 31))}
    assert [lessons[i].mode for i in ("L0", "L00", "L1", "L2")] == [
        LessonMode.IN_PERSON, LessonMode.REMOTE_ASYNC, LessonMode.REMOTE_SYNC,
        LessonMode.REMOTE_ASYNC]
    for lesson_id in ("L0", "L00"):  # 23 Oct is summer time, 26 Oct winter time
        start = lessons[lesson_id].start
        assert (start.astimezone(RIGA).hour, start.astimezone(RIGA).minute) == (8, 10)
    assert lessons["L0"].start.utcoffset() == dt.timedelta(hours=3)
    assert lessons["L00"].start.utcoffset() == dt.timedelta(hours=2)
    assert lessons["L1"].uzdots.attachments == ("kriteriji.pdf",)
    assert lessons["L1"].uzdots.author_id == "t1"


def test_long_window_is_read_in_chunks_the_gateway_accepts(sandbox, stats):
    journal = _journal(sandbox, stats, chunk_days=31)
    lessons = journal.lessons(D(2026, 10, 1), D(2026, 12, 31))
    assert [x.id for x in lessons] == ["L0", "L00", "L1", "L2", "L3", "L5"]
    assert sandbox.calls == {"GetRoster": 1, "GetLessons": 3}
    assert stats.snapshot()["calls"] == {"eklase": 4}


# --------------------------------------------------------------------------- writing


def test_write_then_rerun_writes_nothing(sandbox, stats):
    marks = [Mark("L1", "s1", "n", True, ("20", "28", "30"), "notice"),
             Mark("L1", "s4", "n", False, ("30",), "not_connected")]
    first = _run(sandbox, stats, marks)
    assert first == [WriteResult(WriteStatus.CREATED), WriteResult(WriteStatus.CREATED)]
    assert [(w["lesson"], w["student"], w["excused"], w["points"], w["key"], w["status"])
            for w in sandbox.writes] == [
        ("L1", "s1", True, ["20", "28", "30"], "L1:s1", "created"),
        ("L1", "s4", False, ["30"], "L1:s4", "created")]
    calls_before = dict(sandbox.calls)

    second = _run(sandbox, stats, marks)
    assert second == [WriteResult(WriteStatus.ALREADY_PRESENT)] * 2
    assert len(sandbox.writes) == 2
    assert sandbox.calls.get("SetAttendanceMark") == calls_before["SetAttendanceMark"] == 2


def test_teachers_mark_is_never_sent(sandbox, stats):
    result = _run(sandbox, stats, [Mark("L1", "s3", "n", False, ("30",), "not_connected")])
    assert result == [WriteResult(WriteStatus.REFUSED, "manual_mark")]
    assert sandbox.writes == []
    assert "SetAttendanceMark" not in sandbox.calls


def test_written_mark_reads_back_as_ours(sandbox, stats):
    _run(sandbox, stats, [Mark("L1", "s1", "n", True, ("30",), "x")])
    journal = _journal(sandbox, stats)
    journal.lessons(D(2026, 11, 30), D(2026, 11, 30))
    sink = eklase.build_sink(journal.settings, journal=journal)
    ours = [m for m in sink.lesson_marks("L1") if m.student_id == "s1"]
    assert [(m.author_id, m.code, m.excused, m.entered_at) for m in ours] == [
        ("kartiba", "n", True, RUN_2)]


def test_digest_authentication_end_to_end(sandbox, stats):
    journal = _journal(sandbox, stats, use_digest=True)
    assert journal.health().startswith("ok: journal gateway sandbox-")
    assert journal.health().startswith("ok")  # a new nonce for every request


def test_worklist_mode_reads_through_the_gateway_and_mails(sandbox, stats, tmp_path):
    journal = _journal(sandbox, stats)
    journal.lessons(D(2026, 11, 30), D(2026, 11, 30))
    school = journal.school(D(2026, 11, 30))
    sent: list[EmailMessage] = []
    settings = _settings(sandbox, mode="worklist", worklist_dir=str(tmp_path))
    sink = eklase.build_sink(settings, journal=journal, mailer_send=sent.append, school=school,
                             now=lambda: RUN_2)
    results = [sink.write(m, m.key, "") for m in (
        Mark("L1", "s1", "n", False, ("30",), "x"), Mark("L1", "s3", "n", False, ("30",), "x"))]
    assert results == [WriteResult(WriteStatus.PROPOSED),
                       WriteResult(WriteStatus.REFUSED, "manual_mark")]
    assert sink.flush() == 1
    assert sent[0]["To"].addresses[0].addr_spec == "ilze.kalnina@school.lv"
    assert sandbox.writes == []


# --------------------------------------------------------------------------- faults


def test_invalid_request_is_a_fault_and_an_error(sandbox, stats):
    client = _journal(sandbox, stats).client
    with pytest.raises(UpstreamError) as caught:
        client.set_attendance_mark(lesson_id="L1", student_id="s1", code="x", excused=False,
                                   idempotency_key="k", points=("30",), comment="")
    assert "INVALID_REQUEST" in caught.value.message
    assert sandbox.writes == []


def test_window_too_long_is_an_error(sandbox, stats):
    client = _journal(sandbox, stats).client
    with pytest.raises(UpstreamError, match="WINDOW_TOO_LONG"):
        client.lessons(D(2026, 9, 1), D(2026, 10, 15))


def test_unknown_lesson_is_not_found(sandbox, stats):
    client = _journal(sandbox, stats).client
    with pytest.raises(NotFoundError, match="L404"):
        client.set_attendance_mark(lesson_id="L404", student_id="s1", code="n", excused=False,
                                   idempotency_key="k", points=(), comment="")


def test_wrong_password_is_an_auth_error(sandbox, stats):
    journal = _journal(sandbox, stats, password=SecretStr("Not-The-Pass-9"))
    with pytest.raises(AuthError) as caught:
        journal.health()
    assert "Not-The-Pass-9" not in caught.value.message + caught.value.detail
    assert stats.snapshot()["calls"] == {"eklase": 1}  # a fault is not retried


# --------------------------------------------------------------------------- contract 1.1


def test_check_tells_the_contract_version(sandbox, stats):
    assert "(contract 1.1)" in _journal(sandbox, stats).health()


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        pytest.param({"service_account": "kartiba-bot"}, "writes marks as 'kartiba'",
                     id="other-account"),
        pytest.param({"lesson_types": {"Klātienē": "in_person"}},
                     '"Attālināti patstāvīgi", "Attālināti tiešsaistē"', id="unmapped-labels"),
    ],
)
def test_check_fails_on_what_service_info_shows_wrong(sandbox, stats, overrides, words):
    with pytest.raises(ConfigError) as caught:
        _journal(sandbox, stats, **overrides).health()
    assert words in caught.value.message


def test_digest_retry_after_unavailable_is_not_a_replay(sandbox, stats):
    """Defect 2 at the client: the sandbox remembers nonces; the retry carries a new one."""
    sandbox.forced_faults["SetAttendanceMark"] = ["UNAVAILABLE", "UNAVAILABLE"]
    journal = _journal(sandbox, stats, use_digest=True)
    journal.lessons(D(2026, 11, 30), D(2026, 11, 30))
    sink = eklase.build_sink(journal.settings, journal=journal)
    assert sink.write(Mark("L1", "s1", "n", False, ("30",), "x"), "L1:s1", "") == WriteResult(
        WriteStatus.CREATED)
    assert [w["status"] for w in sandbox.writes] == ["created"]


def test_unqualified_fault_detail_keeps_code_and_object_id(sandbox, stats):
    """Defect 5 at the client."""
    sandbox.unqualified_fault_detail = True
    client = _journal(sandbox, stats).client
    with pytest.raises(NotFoundError, match="UNKNOWN_GROUP for id g9"):
        client.lessons(D(2026, 11, 30), D(2026, 11, 30), ["g9"])
