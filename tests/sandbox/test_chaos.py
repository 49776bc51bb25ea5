"""The chaos driver: its school, its comparison, its kill plan, and a small smoke run."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage

import pytest

from sandbox.chaos import (
    CHAOS_KINDS,
    DEFAULT_KILL_PHASES,
    DEFAULT_RATES,
    SERVER_KINDS,
    SMTP_KINDS,
    Expect,
    KillPlan,
    Received,
    compare,
    journal_marks,
    mail_items,
    main,
    parse_rates,
    small_school,
)
from sandbox.eklase import EklaseSandbox
from sandbox.faults import GENERIC_KINDS, hook_name
from sandbox.graph import GraphSandbox
from sandbox.meet import MeetSandbox
from sandbox.moodle import MoodleSandbox
from sandbox.scenario import parse_scenario
from sandbox.zoom import ZoomSandbox

# --------------------------------------------------------------------------- the school


@pytest.mark.parametrize(("students", "groups"), [
    pytest.param(20, 1, id="one-group"),
    pytest.param(60, 3, id="three-groups"),
    pytest.param(61, 4, id="rounded-up"),
])
def test_small_school_keeps_whole_groups_and_their_world(students: int, groups: int) -> None:
    doc = small_school(seed=3, students=students)
    scenario = parse_scenario(doc)  # strict: every reference must resolve
    assert len(scenario.groups) == groups
    assert len(scenario.students) == 20 * groups
    gids = {g.id for g in scenario.groups}
    sids = {s.id for s in scenario.students}
    assert {x.group for x in scenario.lessons} == gids
    assert len(scenario.lessons) == 7 * groups
    texts = " ".join(x.uzdots.text for x in scenario.lessons if x.uzdots)
    linked = set(re.findall(r"zoom\.us/j/(\d+)", texts))
    assert {m.id for m in scenario.zoom.meetings} == linked
    assert {n.student for n in scenario.notices} <= sids
    assert {r.student for r in scenario.uzdevumi.rows} <= sids
    assert {s.student for s in scenario.moodle.submissions} <= sids


def test_small_school_is_seeded() -> None:
    assert small_school(5, 40) == small_school(5, 40)
    assert small_school(5, 40) != small_school(6, 40)


# --------------------------------------------------------------------------- what was received


def test_journal_marks_are_the_created_writes() -> None:
    writes = [
        {"lesson": "L1", "student": "s1", "code": "n", "excused": False, "status": "created"},
        {"lesson": "L1", "student": "s1", "code": "n", "excused": False,
         "status": "already-present"},
        {"lesson": "L1", "student": "s2", "code": "n", "excused": True, "status": "refused"},
        {"lesson": "L2", "student": "s2", "code": "n", "excused": True, "status": "created"},
    ]
    assert journal_marks(writes) == Counter({("L1", "s1", "n", False): 1,
                                             ("L2", "s2", "n", True): 1})


@dataclass
class _Mail:
    message: EmailMessage
    rcpt_tos: list[str]


def _mail(to: list[str], items: list[dict] | None = None, digest: str | None = None) -> _Mail:
    message = EmailMessage()
    if items is not None:
        message["X-Kartiba-Alerts"] = json.dumps(items)
    if digest is not None:
        message["X-Kartiba-Digest"] = digest
    return _Mail(message, to)


def test_mail_items_count_each_alert_per_recipient() -> None:
    absence = {"kind": "absence", "lesson": "L1", "student": "s1", "points": ["22", "32"],
               "excused": False}
    late = {"kind": "uzdots_late", "lesson": "L2", "student": None, "points": ["16"],
            "excused": None}
    messages = [_mail(["Ilze@school.lv"], [absence, late]),
                _mail(["ilze@school.lv", "dep@school.lv"], [late]),
                _mail(["ct@school.lv"], digest="2026-W49"),
                _mail(["x@school.lv"])]
    assert mail_items(messages) == Counter({
        ("ilze@school.lv", "absence", "L1", "s1", False): 1,
        ("ilze@school.lv", "uzdots_late", "L2", None, None): 2,
        ("dep@school.lv", "uzdots_late", "L2", None, None): 1,
        ("ct@school.lv", "digest", "2026-W49", None, None): 1,
    })


def test_mail_items_count_each_worklist_row_per_recipient() -> None:
    mail = _mail(["ilze@school.lv"])
    mail.message.set_content("worklist")
    mail.message.add_attachment(b"x", maintype="application", subtype="octet-stream",
                                filename="w.xlsx")
    mail.message.add_attachment("Datums;Skol\u0113ns\r\n01.12.2026;A\r\n01.12.2026;B\r\n"
                                .encode(), maintype="text", subtype="csv", filename="w.csv")
    assert mail_items([mail, mail]) == Counter({
        ("ilze@school.lv", "worklist", "01.12.2026", "A"): 2,
        ("ilze@school.lv", "worklist", "01.12.2026", "B"): 2,
    })


A, B, C = ("L1", "s1", "n", False), ("L1", "s2", "n", True), ("L2", "s3", "n", False)


@pytest.mark.parametrize(("clean", "chaos", "expected"), [
    pytest.param({A: 1, B: 1}, {A: 1, B: 1}, (0, 0, 0), id="equal"),
    pytest.param({A: 1, B: 1}, {A: 2, B: 1}, (1, 0, 0), id="duplicate"),
    pytest.param({A: 1, B: 1}, {A: 1}, (0, 1, 0), id="lost"),
    pytest.param({A: 1}, {A: 1, C: 1}, (0, 0, 1), id="extra"),
    pytest.param({A: 1}, {A: 1, C: 3}, (2, 0, 1), id="extra-and-repeated"),
    pytest.param({A: 2}, {A: 2}, (0, 0, 0), id="twice-in-both"),
    pytest.param({A: 1, B: 1}, {A: 3, C: 1}, (2, 1, 1), id="mixed"),
])
def test_compare_counts_duplicates_losses_and_extras(clean: dict, chaos: dict,
                                                     expected: tuple[int, int, int]) -> None:
    for_marks = compare(Received(marks=Counter(clean)), Received(marks=Counter(chaos)))
    assert (for_marks.duplicate_marks, for_marks.lost_marks, for_marks.extra_marks) == expected
    assert for_marks.identical == (expected == (0, 0, 0))
    for_mail = compare(Received(alerts=Counter(clean)), Received(alerts=Counter(chaos)))
    assert (for_mail.duplicate_emails, for_mail.lost_emails,
            for_mail.extra_emails) == expected
    assert len(for_mail.differences) == len({*clean, *chaos} - {
        k for k in clean if clean.get(k) == chaos.get(k)})


# --------------------------------------------------------------------------- the kill plan


def _choices(plan: KillPlan, expect: Expect, n: int = 200) -> list:
    return [plan.choose(attempt % 3, 0, expect) for attempt in range(n)]


def test_kill_plan_is_seeded() -> None:
    expect = Expect(duration=4.0, requests=70, writes=9, mails=6)
    assert _choices(KillPlan(4), expect) == _choices(KillPlan(4), expect)
    assert _choices(KillPlan(4), expect) != _choices(KillPlan(5), expect)


@pytest.mark.parametrize(("expect", "phases"), [
    pytest.param(Expect(2.0, 50, 9, 6), set(DEFAULT_KILL_PHASES), id="everything"),
    pytest.param(Expect(2.0, 50, 0, 0), {"time", "fetch"}, id="no-writes-no-mail"),
    pytest.param(Expect(2.0, 50, 0, 3), {"time", "fetch", "mail"}, id="mail-only"),
])
def test_kill_points_fit_what_the_instant_does(expect: Expect, phases: set[str]) -> None:
    kills = [k for k in _choices(KillPlan(1, probability=1.0), expect, 400) if k is not None]
    assert {k.phase for k in kills} == phases
    limits = {"fetch": expect.requests, "write": expect.writes, "mail": expect.mails,
              "time": expect.duration}
    assert all(0 < k.at <= limits[k.phase] for k in kills)
    assert all(k.delay <= expect.mail_gap for k in kills)


@pytest.mark.parametrize(("probability", "kills_so_far", "any_kill"), [
    pytest.param(0.0, 0, False, id="never"),
    pytest.param(1.0, 2, False, id="enough-kills-for-this-instant"),
    pytest.param(1.0, 0, True, id="always"),
])
def test_kill_probability_and_cap(probability: float, kills_so_far: int, any_kill: bool) -> None:
    plan = KillPlan(9, probability=probability)
    kills = [plan.choose(0, kills_so_far, Expect(1.0, 10, 1, 1)) for _ in range(50)]
    assert any(k is not None for k in kills) == any_kill


# --------------------------------------------------------------------------- fault kinds

_HOOKS = {"soap": {EklaseSandbox}, "ws_error": {MoodleSandbox},
          "token_expired": {ZoomSandbox, GraphSandbox, MeetSandbox},
          "page_token_expired": {ZoomSandbox, GraphSandbox, MeetSandbox}}


def test_chaos_rates_cover_every_kind() -> None:
    assert set(DEFAULT_RATES) == {*GENERIC_KINDS, *SERVER_KINDS, *SMTP_KINDS, *CHAOS_KINDS}


@pytest.mark.parametrize("kind", [pytest.param(k, id=k) for k in SERVER_KINDS])
def test_server_kinds_hit_the_servers_with_a_hook(kind: str) -> None:
    servers = {EklaseSandbox, ZoomSandbox, GraphSandbox, MeetSandbox, MoodleSandbox}
    hooked = {cls for cls in servers if callable(getattr(cls, hook_name(kind), None))}
    assert hooked == _HOOKS[kind]


@pytest.mark.parametrize(("items", "expected"), [
    pytest.param([], {}, id="none"),
    pytest.param(["ws_error=0.3"], {"ws_error": 0.3}, id="one"),
    pytest.param(["soap=0", " reset = 1"], {"soap": 0.0, "reset": 1.0}, id="two"),
])
def test_rate_overrides(items: list[str], expected: dict[str, float]) -> None:
    assert parse_rates(items) == expected


@pytest.mark.parametrize(("argv", "message"), [
    pytest.param(["--rate", "nosuch=0.1"], "KIND=P", id="unknown-kind"),
    pytest.param(["--rate", "soap"], "KIND=P", id="no-value"),
    pytest.param(["--rate", "soap=x"], "number", id="not-a-number"),
    pytest.param(["--rate", "soap=1.5"], "between 0 and 1", id="above-1"),
    pytest.param(["--rate", "soap=0.9"], "sum to at most 1", id="sum-above-1"),
])
def test_bad_rate_overrides_exit_2(argv: list[str], message: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seeds", "1", *argv]) == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------- smoke run


@pytest.mark.e2e
def test_chaos_smoke_two_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seeds", "2", "--scale-students", "40", "--kill-probability", "1",
                 "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1  # ONE JSON line
    result = json.loads(lines[0])
    assert result["seeds"] == 2
    faults = result["faults_injected"]
    assert faults["total"] == sum(v for k, v in faults.items() if k != "total") > 0
    assert set(faults) - {"total"} <= {*GENERIC_KINDS, *SERVER_KINDS, *SMTP_KINDS,
                                        *CHAOS_KINDS}
    assert result["crashes"] >= 1
    assert result["clean_failures"] == 0 and result["incomplete"] == 0
    # issue 8: faults and kills never lose or double a mark in the journal
    assert result["duplicate_marks"] == 0
    assert result["lost_marks"] == 0 and result["extra_marks"] == 0
    # ... nor lose or double an alert e-mail: the journal and the mail equal a clean run's
    assert result["duplicate_emails"] == 0 and result["lost_emails"] == 0
    assert result["identical"] == 2


def test_copies_with_one_message_id_are_one_message_redelivered() -> None:
    from types import SimpleNamespace

    from sandbox.chaos import by_message_id

    def msg(mid: str):
        return SimpleNamespace(message={"Message-ID": mid})

    first, redelivered = by_message_id([msg("<a@x>"), msg("<b@x>"), msg("<a@x>")])
    assert [m.message["Message-ID"] for m in first] == ["<a@x>", "<b@x>"]
    assert redelivered == 1
