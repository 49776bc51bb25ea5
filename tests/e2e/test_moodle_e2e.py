"""End to end over loopback: UZDOTS links -> connectors -> the Moodle sandbox / export files.

The activity links come out of a UZDOTS text through the real link reader
(``mappings.uzdots.find_activities``); the Moodle connector talks HTTP to ``MoodleSandbox``;
the import connectors read what ``ExportWriter`` dropped in a folder, as a teacher would.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from connectors._http import CallStats
from connectors.errors import AuthError
from connectors.moodle import MoodleSettings
from connectors.moodle import build as build_moodle
from connectors.soma import SomaSettings
from connectors.soma import build as build_soma
from connectors.uzdevumi import UzdevumiSettings
from connectors.uzdevumi import build as build_uzdevumi
from mappings.model import ActivityRef
from mappings.uzdots import find_activities
from sandbox.exports import ExportWriter
from sandbox.moodle import MoodleSandbox
from sandbox.scenario import load_scenario
from sandbox.world import World
from tests.connectors.imports.fakes import MemoryLedger

pytestmark = pytest.mark.e2e

RIGA = ZoneInfo("Europe/Riga")
SCENARIO = Path(__file__).resolve().parents[1] / "fixtures" / "moodle" / "scenario.json"
UZDOTS = (
    "Patstāvīgais darbs skolo.lv: https://skolo.lv/mod/assign/view.php?id=41 un "
    "https://www.skolo.lv/mod/assign/view.php?id=42, tests https://skolo.lv/mod/quiz/view.php?id=44."
    " Vecā saite: https://skolo.lv/mod/assign/view.php?id=999. "
    "Uzdevumi: https://www.uzdevumi.lv/p/fizika/oma-likums/1234 un "
    "uzdevumi.lv/p/fizika/jauda/77; soma: https://app.soma.lv/lesson/555 . Termiņš 30.11.2026 17:00"
)
RUN_1 = dt.datetime(2026, 11, 30, 18, 0, tzinfo=RIGA)
RUN_2 = dt.datetime(2026, 12, 1, 18, 0, tzinfo=RIGA)


@pytest.fixture
def world() -> World:
    return World(load_scenario(SCENARIO), now=RUN_1)


@pytest.fixture
def moodle(world):
    with MoodleSandbox(world) as server:
        yield server


def refs(platform: str) -> dict[int | str, ActivityRef]:
    found = [r for r in find_activities(UZDOTS) if r.platform == platform]
    return {(r.cmid if r.cmid is not None else r.url): r for r in found}


def emails(world: World, *students: str) -> list[str]:
    return sorted(world.scenario.student(s).email for s in students)


def moodle_source(server: MoodleSandbox, stats: CallStats, **values):
    values.setdefault("token", SecretStr("sandbox-moodle-token"))
    settings = MoodleSettings(enabled=True, base_url=server.base_url, **values)
    return build_moodle(settings, stats=stats, sleep=lambda _s: None)


# ----------------------------------------------------------------------------- Moodle


def test_two_runs_against_the_moodle_sandbox(moodle, world):
    links = refs("moodle")
    stats = CallStats()

    first = moodle_source(moodle, stats, course_ids=[5, 6]).fetch(list(links.values()), RUN_1)

    assert first[links[41]].found and first[links[41]].due == dt.datetime(2026, 11, 30, 17, 0,
                                                                          tzinfo=RIGA)
    assert sorted(r.email for r in first[links[41]].records) == emails(world, "s1")  # s2: draft
    assert first[links[42]].found and first[links[42]].records == ()
    assert [(r.kind, r.email) for r in first[links[44]].records] == [
        ("attempt", world.scenario.student("s1").email)]
    assert first[links[999]].found is False
    assert moodle.stats() == {
        "mod_assign_get_assignments": 1, "mod_quiz_get_quizzes_by_courses": 1,
        "core_course_get_course_module": 1,  # the link to cmid 999
        "mod_assign_get_submissions": 1, "core_enrol_get_enrolled_users": 2,
        "mod_quiz_get_user_attempts": 4,  # one per enrolled student
    }
    assert stats.snapshot()["calls"] == {"moodle": sum(moodle.stats().values())}

    world.set_now(RUN_2)
    second = moodle_source(moodle, stats, course_ids=[5, 6]).fetch(list(links.values()), RUN_2)

    late = [r for r in second[links[41]].records if r.email == emails(world, "s2")[0]]
    assert sorted(r.email for r in second[links[41]].records) == emails(world, "s1", "s2")
    assert late[0].at == dt.datetime(2026, 11, 30, 19, 0, tzinfo=RIGA)  # after the due time
    assert [r.name for r in second[links[42]].records] == ["Oskars Vītols"]
    assert sorted(r.email for r in second[links[44]].records) == emails(world, "s1", "s2")


def test_without_configured_courses_links_are_located_one_by_one(moodle):
    links = refs("moodle")

    evidence = moodle_source(moodle, CallStats()).fetch(list(links.values()), RUN_1)

    assert [cmid for cmid, ref in links.items() if evidence[ref].found] == [41, 42, 44]
    assert moodle.stats()["core_course_get_course_module"] == 4
    # the course modules say what is needed: each submission's first save is its last change
    assert "mod_assign_get_assignments" not in moodle.stats()
    assert "mod_quiz_get_quizzes_by_courses" not in moodle.stats()
    unknown = [ref for cmid, ref in links.items() if cmid not in (41, 42, 44)]
    assert [evidence[ref].gap for ref in unknown] == ["invalid_link"]


def test_password_login_over_loopback(moodle):
    source = moodle_source(moodle, CallStats(), token=None, username="kartiba",
                           password=SecretStr("sandbox-moodle-password"))

    text = source.health()
    source.fetch([refs("moodle")[41]], RUN_1)

    assert "Sandbox skolo" in text
    assert moodle.stats()["login"] == 1


def test_a_wrong_token_is_an_auth_error(moodle):
    source = moodle_source(moodle, CallStats(), token=SecretStr("not-the-token"))

    with pytest.raises(AuthError):
        source.health()


# ----------------------------------------------------------------------------- exports


def test_uzdevumi_exports_written_by_a_teacher_are_imported_once(world, tmp_path):
    ledger = MemoryLedger()
    writer = ExportWriter(world, "uzdevumi", tmp_path)
    source = build_uzdevumi(UzdevumiSettings(enabled=True, drop_dir=tmp_path), ledger=ledger)
    links = refs("uzdevumi")
    oma, jauda = (links[u] for u in sorted(links, key=lambda u: "jauda" in u))

    written = writer.write_new("both")
    first = source.fetch([oma, jauda], RUN_1)

    assert sorted(p.suffix for p in written) == [".csv", ".xlsx"]  # one file per task
    assert source.last_report.files == 2 and source.last_report.errors == []
    assert [(r.email, r.at) for r in first[oma].records] == [
        (emails(world, "s1")[0], dt.datetime(2026, 11, 30, 14, 0, tzinfo=RIGA))]
    assert [r.name for r in first[jauda].records] == ["Oskars Vītols"]

    world.set_now(RUN_2)
    assert len(writer.write_new("both")) == 1
    second = source.fetch([oma, jauda], RUN_2)

    assert source.last_report.files == 1
    assert ledger.record_calls == 3
    assert sorted(r.email for r in second[oma].records) == emails(world, "s1", "s2")
    assert writer.write_new("both") == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_soma_exports_in_either_format(world, tmp_path, fmt):
    ledger = MemoryLedger()
    ExportWriter(world, "soma", tmp_path).write_new(fmt)
    source = build_soma(SomaSettings(enabled=True, drop_dir=tmp_path), ledger=ledger)
    (lesson,) = refs("soma").values()

    evidence = source.fetch([lesson], RUN_1)

    assert [(r.platform, r.kind, r.email) for r in evidence[lesson].records] == [
        ("soma", "result", emails(world, "s2")[0])]
    assert ledger.names("soma") == [f"soma-eksports-001.{fmt}"]


# ----------------------------------------------------------------------------- kartiba check


SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def check_over(name: str, tmp_path, monkeypatch, capsys) -> tuple[int, list[str]]:
    """``kartiba check`` over a scenario's sandboxes, on its first run's day."""
    from contextlib import ExitStack

    from sandbox.stack import start_sandboxes, to_toml
    from sync_jobs import moodle_rights
    from sync_jobs.cli import main

    scenario = load_scenario(SCENARIOS / name)
    monkeypatch.setenv("KARTIBA_SECRETS_DIR", "/nonexistent")
    monkeypatch.setattr(moodle_rights, "read_clock", lambda: scenario.runs[0])
    with ExitStack() as stack:
        boxes = start_sandboxes(scenario, tmp_path, stack)
        boxes.world.set_now(scenario.runs[0])
        config = tmp_path / "kartiba.toml"
        config.write_text(to_toml(boxes.settings_tree), encoding="utf-8")
        code = main(["--config", str(config), "check"])
    lines = [line for line in capsys.readouterr().out.splitlines() if " moodle:" in line]
    return code, lines


def test_check_names_the_missing_right_when_e_mails_are_withheld(tmp_path, monkeypatch, capsys):
    code, lines = check_over("71_moodle_rights_missing.json", tmp_path, monkeypatch, capsys)

    assert code == 1
    assert ("FAIL moodle: course 5: core_enrol_get_enrolled_users: no e-mails in course 5 "
            "(needs moodle/course:useremail)") in lines


def test_check_names_the_missing_right_behind_warnings(tmp_path, monkeypatch, capsys):
    code, lines = check_over("72_moodle_warnings_without_grade_right.json", tmp_path,
                             monkeypatch, capsys)

    assert code == 1
    assert ("FAIL moodle: assignment 7: mod_assign_get_submissions: warningcode 1 for "
            "assignment 7 (needs mod/assign:grade)") in lines


def test_check_passes_with_the_documented_role_and_warns_of_a_dead_link(tmp_path, monkeypatch,
                                                                       capsys):
    code, lines = check_over("70_moodle_as_real_moodle.json", tmp_path, monkeypatch, capsys)

    assert code == 0
    assert "ok  moodle: course 5: 10 students with e-mails" in lines
    assert any(line.startswith("WARN moodle: a lesson links cmid 999") and
               "invalidrecordunknown" in line for line in lines)
    assert not any(line.startswith("FAIL") for line in lines)
