"""The benchmark driver: its pure helpers, and one small run at scale 1 (shape, calls; no times)."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from sandbox import bench
from sandbox.school import generate_school, minimum_calls

RIGA = ZoneInfo("Europe/Riga")
DAY = dt.date(2026, 11, 30)


def at(hhmm: str, day: dt.date = DAY) -> dt.datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=RIGA)


# =========================================================================== helpers


@pytest.mark.parametrize(("runs", "day", "rerun"), [
    pytest.param(["07:00", "18:00", "18:00"], ["07:00", "18:00"], "18:00", id="rerun-listed"),
    pytest.param(["18:00"], ["18:00"], "18:00", id="one-instant"),
    pytest.param(["07:00", "12:00", "18:00"], ["07:00", "12:00", "18:00"], "18:00",
                 id="distinct"),
])
def test_day_and_rerun(runs, day, rerun) -> None:
    got_day, got_rerun = bench.day_and_rerun([at(r) for r in runs])
    assert got_day == [at(r) for r in day]
    assert got_rerun == at(rerun)


def test_day_and_rerun_needs_runs() -> None:
    with pytest.raises(ValueError):
        bench.day_and_rerun([])


@pytest.mark.parametrize(("calls", "expected"), [
    pytest.param([], (0.0, 0.0), id="no-heavy-calls"),
    pytest.param([[(0.0, 0.1, 200), (1.0, 1.1, 200), (2.0, 2.1, 200)]], (3 / 2.1, 2.1),
                 id="one-run"),
    pytest.param([[(0.0, 0.1, 200), (1.0, 1.1, 429), (2.0, 2.1, 200)]], (2 / 2.1, 2.1),
                 id="429-not-counted"),
    pytest.param([[(0.0, 0.5, 200)], [(10.0, 10.5, 200)]], (2.0, 1.0),
                 id="gap-between-runs-excluded"),
])
def test_achieved_rps(calls, expected) -> None:
    rps, phase = bench.achieved_rps(calls)
    assert rps == pytest.approx(expected[0], abs=0.01)
    assert phase == pytest.approx(expected[1], abs=0.01)


@pytest.mark.parametrize(("stdout", "expected"), [
    pytest.param("kartiba run abc123: alerts=3 emails=2 marks_written=5\n",
                 {"alerts": 3, "emails": 2, "marks_written": 5}, id="counts"),
    pytest.param("kartiba run abc123: nothing to do\n", {}, id="nothing"),
    pytest.param("kartiba: another run is in progress; this one did nothing\n", {},
                 id="locked-out"),
])
def test_parse_summary(stdout, expected) -> None:
    assert bench.parse_summary(stdout) == expected


@pytest.mark.parametrize(("calls", "minimum", "ratio"), [
    pytest.param({"zoom": 10, "moodle": 5, "eklase": 5, "smtp": 99},
                 {"zoom": 10, "moodle": 5, "eklase": 5}, 1.0, id="at-minimum-smtp-ignored"),
    pytest.param({"zoom": 12, "moodle": 5, "eklase": 5, "smtp": 0},
                 {"zoom": 10, "moodle": 5, "eklase": 5}, 1.1, id="above"),
    pytest.param({"zoom": 0, "moodle": 0, "eklase": 0, "smtp": 0},
                 {"zoom": 0, "moodle": 0, "eklase": 0}, 0.0, id="nothing-needed"),
])
def test_call_ratio(calls, minimum, ratio) -> None:
    assert bench.call_ratio(calls, minimum) == pytest.approx(ratio)


def test_day_minimum_counts_the_school_year_once_and_each_run_s_basics() -> None:
    doc = generate_school(1, seed=3)
    morning, evening = at("07:00"), at("18:00")
    year = bench.school_year_days(DAY)
    alone = bench.day_minimum(doc, [evening])  # the quota job first runs in the evening
    assert alone == {k: v for k, v in minimum_calls(doc, at=evening, days=year).items()
                     if k in bench.COVERED}
    day = bench.day_minimum(doc, [morning, evening])  # ... or in the morning
    one_day = minimum_calls(doc, at=evening, days=1)
    assert (day["zoom"], day["moodle"]) == (one_day["zoom"], one_day["moodle"])
    assert day["eklase"] == one_day["eklase"] + 4 + -(-year // bench.CHUNK_DAYS)


@pytest.mark.parametrize(("day", "days"), [
    pytest.param(dt.date(2026, 11, 30), 365, id="2026-27"),
    pytest.param(dt.date(2027, 11, 30), 366, id="2027-28-leap"),
    pytest.param(dt.date(2028, 8, 31), 366, id="last-day-of-2027-28"),
])
def test_school_year_days(day, days) -> None:
    assert bench.school_year_days(day) == days


@pytest.mark.parametrize(("instant", "due"), [
    pytest.param(at("05:59"), False, id="before-06"),
    pytest.param(at("06:00"), True, id="at-06"),
    pytest.param(at("18:00"), True, id="evening"),
])
def test_quota_due(instant, due) -> None:
    assert bench.quota_due(instant) is due


# =========================================================================== one run at scale 1


KEYS = {"scale", "students", "lessons", "remote_lessons", "meetings", "upstream_calls",
        "minimum_calls", "call_ratio", "rate_limit_rps", "achieved_rps", "zoom_429", "wall_s",
        "cpu_s", "peak_rss_mb", "rerun"}


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict:
    """One benchmark of the smallest school (Business plan: the Zoom phase is short)."""
    return bench.run_bench(1, plan="business", seed=0,
                           workdir=tmp_path_factory.mktemp("bench"))


@pytest.mark.e2e
def test_bench_reports_the_school_and_every_figure(figures: dict) -> None:
    assert set(figures) >= KEYS
    assert (figures["scale"], figures["students"], figures["lessons"],
            figures["remote_lessons"]) == (1, 900, 315, 105)
    assert set(figures["upstream_calls"]) == set(bench.SYSTEMS)
    assert set(figures["minimum_calls"]) == set(bench.COVERED)
    assert set(figures["rerun"]) == {"upstream_calls", "marks_written", "emails"}
    assert figures["rate_limit_rps"] == 40
    assert json.loads(json.dumps(figures)) == figures  # one JSON line can carry it


@pytest.mark.e2e
def test_bench_calls_are_counted_on_the_sandbox_side(figures: dict) -> None:
    calls, least = figures["upstream_calls"], figures["minimum_calls"]
    doc = generate_school(1, seed=0)
    assert figures["meetings"] == len(doc["zoom"]["meetings"])
    for system in bench.COVERED:
        assert calls[system] >= least[system], system  # nobody beats the minimum
    assert calls["moodle"] == least["moodle"]  # course_ids configured: no look-up per link
    total = sum(calls[s] for s in bench.COVERED) / sum(least[s] for s in bench.COVERED)
    assert figures["call_ratio"] == pytest.approx(total, abs=0.001)
    assert calls["teams"] == calls["meet"] == 0  # the generated school has no such meetings
    assert figures["marks_written"] > 0 and calls["smtp"] > 0
    ops = figures["eklase_operations"]
    assert ops["SetAttendanceMark"] == figures["marks_written"]
    assert ops["GetNotices"] <= 1  # notices only where lessons are judged: the 18:00 run


@pytest.mark.e2e
def test_rerun_writes_and_mails_nothing_and_calls_no_platform(figures: dict) -> None:
    rerun = figures["rerun"]
    assert rerun["marks_written"] == 0
    assert rerun["emails"] == 0
    assert rerun["upstream_calls"]["zoom"] == rerun["upstream_calls"]["moodle"] == 0
    assert 0 < rerun["upstream_calls"]["eklase"] < figures["upstream_calls"]["eklase"]


@pytest.mark.e2e
def test_zoom_heavy_calls_are_paced_below_the_limit(figures: dict) -> None:
    assert figures["heavy_calls"] > 0
    assert figures["zoom_429"] <= 0.05 * figures["heavy_calls"]
    assert 0 < figures["achieved_rps"] <= figures["rate_limit_rps"] * 1.05


@pytest.mark.e2e
def test_call_ratio_target(figures: dict) -> None:
    """Issue 7: the sync stays within 10 % of the fewest calls the APIs allow."""
    assert figures["call_ratio"] <= 1.10
