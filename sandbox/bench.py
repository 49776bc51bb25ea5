"""The benchmark (issue 7): a whole school's day against the sandbox, measured on the sandbox side.

``python -m sandbox.bench --scale K [--plan pro|business] [--seed S] --json`` generates a school
of K × 900 students (:mod:`sandbox.school`), serves it through the loopback stand-ins with
their rate limits on (:mod:`sandbox.stack`), writes a settings file pointing kartiba at them,
and runs ``kartiba run --now ISO`` as a separate process at each instant of the scenario's
day (every job that is due, as cron does), then once more at the last instant (the rerun).
It prints ONE JSON line (keys in :func:`run_bench`'s docstring).

Everything is counted where it arrives: requests each stand-in received (Zoom, e-klase,
Moodle, Graph, Meet), messages the SMTP sink accepted, marks the journal stored. CPU time and
peak memory are the kartiba processes' (``getrusage(RUSAGE_CHILDREN)``). The driver imports
neither ``connectors`` nor ``sync_jobs``; Zoom webhooks are left out (the generated school
has no removals by the host, the only thing they add; chat comes from cloud recordings).

The yardstick (``minimum_calls``) is :func:`sandbox.school.minimum_calls` at the day's last
instant (the run that can judge every lesson), with the journal read covering the school year
when the quota job (point 7) runs that day, plus the journal basics of each earlier run of the
day (a separate process must read the school again). See :func:`day_minimum`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.httpserver import LoopbackServer, Request, Response
from sandbox.scenario import Scenario, parse_scenario
from sandbox.school import ESSENTIAL_EKLASE_CALLS, RIGA, generate_school, minimum_calls
from sandbox.stack import Sandboxes, start_sandboxes, to_toml
from sandbox.zoom import QPS

REPO = Path(__file__).resolve().parents[1]
HEAVY_PATH = re.compile(r"^/v2/report/meetings/[^/]+/participants$")
#: The systems the yardstick covers (call_ratio is over these).
COVERED = ("zoom", "moodle", "eklase")
SYSTEMS = ("zoom", "eklase", "moodle", "teams", "meet", "smtp")
#: When the quota job (point 7) is due: from 06:00 Riga (the settings' default quota_time).
QUOTA_TIME = dt.time(6, 0)
#: Lessons are read from the gateway in windows of this many days (``eklase.chunk_days``).
CHUNK_DAYS = 7
#: Days of one sync's journal read for the attendance and UZDOTS checks (the formula's default).
DAY_READ = 1


# =========================================================================== sandbox-side meters


@dataclass
class HeavyMeter:
    """Times of Zoom Heavy requests (participant reports) as the Zoom stand-in served them."""

    calls: list[tuple[float, float, int]] = field(default_factory=list)  # (start, end, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, server: LoopbackServer) -> None:
        """Route ``server``'s requests through this meter (an instance attribute shadows the
        class's ``handle``; the request handler looks it up on every request)."""
        inner: Callable[[Request], Response] = server.handle

        def handle(request: Request) -> Response:
            if not HEAVY_PATH.match(request.raw_path):
                return inner(request)
            started = time.monotonic()
            response = inner(request)
            with self.lock:
                self.calls.append((started, time.monotonic(), response.status))
            return response

        server.handle = handle  # type: ignore[method-assign]

    def mark(self) -> int:
        with self.lock:
            return len(self.calls)

    def since(self, mark: int) -> list[tuple[float, float, int]]:
        with self.lock:
            return list(self.calls[mark:])


def _servers(boxes: Sandboxes) -> dict[str, LoopbackServer]:
    return {"zoom": boxes.zoom, "eklase": boxes.eklase, "moodle": boxes.moodle,
            "teams": boxes.graph, "meet": boxes.meet}


def _received(boxes: Sandboxes) -> dict[str, int]:
    """Requests each stand-in received so far, and messages the SMTP sink accepted."""
    counts = {name: server.requests_seen for name, server in _servers(boxes).items()}
    counts["smtp"] = len(boxes.smtp.messages)
    return counts


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in SYSTEMS}


# =========================================================================== the yardstick


def quota_due(instant: dt.datetime) -> bool:
    """Whether the daily quota job runs at ``instant`` (first run of the day from 06:00)."""
    return instant.astimezone(RIGA).time() >= QUOTA_TIME


def school_year_days(day: dt.date) -> int:
    """Days of the school year (1 September - 31 August) that ``day`` belongs to."""
    first = day.year if day.month >= 9 else day.year - 1
    return (dt.date(first + 1, 9, 1) - dt.date(first, 9, 1)).days


def day_minimum(doc: dict, day_runs: Sequence[dt.datetime]) -> dict[str, int]:
    """The fewest calls the day's runs need, per covered system.

    * The last run of the day judges every lesson: ``minimum_calls(doc, at=last, days=D)``
      with D = 1, or the school year's days when the quota job (point 7: every remote lesson
      of the school year counts) first runs at that instant.
    * Each earlier run is a process of its own: it needs the journal basics
      (``GetServiceInfo``, ``GetTeachers``, ``GetRoster``, ``GetSubjects``) and its lesson read
      (the school year when the quota job runs there, else one chunk); no Zoom or Moodle call
      (no lesson can be judged before the last run of the generated day).
    """
    quota_at = next((r for r in day_runs if quota_due(r)), None)
    last = day_runs[-1]
    year = school_year_days(last.astimezone(RIGA).date())
    out = dict(minimum_calls(doc, at=last, days=year if quota_at == last else DAY_READ))
    for run in day_runs[:-1]:
        days = year if run == quota_at else DAY_READ
        out["eklase"] += ESSENTIAL_EKLASE_CALLS + math.ceil(days / CHUNK_DAYS)
    return {name: out[name] for name in COVERED}


def call_ratio(calls: dict[str, int], minimum: dict[str, int]) -> float:
    """Calls of the covered systems over their minimum."""
    least = sum(minimum[name] for name in COVERED)
    return round(sum(calls[name] for name in COVERED) / least, 3) if least else 0.0


def achieved_rps(per_run: Sequence[Sequence[tuple[float, float, int]]]) -> tuple[float, float]:
    """(Heavy calls answered per second while the Heavy phase lasted, seconds of that phase).

    The phase of a run lasts from the arrival of its first Heavy request to the answer of its
    last; the rate is the answered (non-429) Heavy requests over the phases of all runs.
    """
    answered, seconds = 0, 0.0
    for calls in per_run:
        if not calls:
            continue
        seconds += max(end for _, end, _ in calls) - min(start for start, _, _ in calls)
        answered += sum(1 for _, _, status in calls if status != 429)
    return (round(answered / seconds, 2) if seconds > 0 else 0.0), round(seconds, 2)


# =========================================================================== running kartiba


@dataclass
class RunRecord:
    """What one ``kartiba run`` did, seen from the sandbox."""

    at: dt.datetime
    wall_s: float
    calls: dict[str, int]
    marks_written: int
    heavy: list[tuple[float, float, int]]
    summary: dict[str, int]

    def row(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "wall_s": round(self.wall_s, 2), "calls": self.calls,
                "marks_written": self.marks_written, "summary": self.summary}


_SUMMARY = re.compile(r"^kartiba run \S+: (.*)$", re.MULTILINE)


def parse_summary(stdout: str) -> dict[str, int]:
    """The counts of kartiba's one-line run summary (``kartiba run ID: key=value ...``)."""
    match = _SUMMARY.search(stdout)
    if not match:
        return {}
    pairs = (part.split("=", 1) for part in match.group(1).split() if "=" in part)
    return {key: int(value) for key, value in pairs if value.lstrip("-").isdigit()}


def kartiba_command(config: Path, instant: dt.datetime) -> list[str]:
    """``kartiba --config F run --now ISO``: every due job, in a process of its own."""
    return [sys.executable, "-m", "sync_jobs.cli", "--config", str(config), "run", "--now",
            instant.isoformat()]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KARTIBA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["KARTIBA_SECRETS_DIR"] = "/nonexistent"
    env["KARTIBA_LOG_LEVEL"] = "WARNING"
    return env


class Driver:
    """Runs kartiba at instants of the sandbox world and records each run."""

    def __init__(self, boxes: Sandboxes, config: Path, meter: HeavyMeter,
                 timeout_s: float = 1800.0) -> None:
        self.boxes = boxes
        self.config = config
        self.meter = meter
        self.timeout_s = timeout_s
        self.env = _environment()

    def run_at(self, instant: dt.datetime) -> RunRecord:
        """Move the world to ``instant``, drop the new export files, run kartiba once."""
        self.boxes.world.set_now(instant)
        for writer in self.boxes.exports.values():
            writer.write_new("both")
        before, writes, heavy = (_received(self.boxes), len(self.boxes.eklase.writes),
                                 self.meter.mark())
        started = time.monotonic()
        done = subprocess.run(kartiba_command(self.config, instant), cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=self.timeout_s,
                              check=False)
        wall = time.monotonic() - started
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"kartiba run at {instant.isoformat()} exited with "
                               f"{done.returncode}:\n{tail}")
        written = sum(1 for w in self.boxes.eklase.writes[writes:] if w["status"] == "created")
        return RunRecord(instant, wall, _diff(_received(self.boxes), before), written,
                         self.meter.since(heavy), parse_summary(done.stdout))


def day_and_rerun(runs: Sequence[dt.datetime]) -> tuple[list[dt.datetime], dt.datetime]:
    """The day's distinct instants in order, and the instant of the rerun (the last one)."""
    if not runs:
        raise ValueError("the scenario has no runs")
    day: list[dt.datetime] = []
    for instant in runs:
        if not day or instant != day[-1]:
            day.append(instant)
    return day, day[-1]


# =========================================================================== the benchmark


def run_bench(scale: int, plan: str = "pro", seed: int = 0, workdir: Path | None = None,
              jobs_workers: int | None = None) -> dict[str, Any]:
    """Run the benchmark and return its figures.

    Args:
        scale: K (K × 900 students).
        plan: the Zoom plan served and configured ("pro" or "business").
        seed: the generator's seed.
        workdir: where the settings, state and drop folders go (a temporary folder if None).
        jobs_workers: ``jobs.max_workers`` for kartiba (its default when None).

    Returns:
        ``scale, students, lessons, remote_lessons, meetings, upstream_calls{system},
        minimum_calls{system}, call_ratio, rate_limit_rps, achieved_rps, zoom_429,
        wall_s, cpu_s, peak_rss_mb, rerun{upstream_calls, marks_written, emails}`` and, for
        reading the figures: ``plan, seed, heavy_calls, heavy_phase_s, zoom_429_share,
        marks_written, emails, eklase_operations, runs[]``.
    """
    if plan not in QPS:
        raise ValueError(f"unknown plan {plan!r}")
    doc = generate_school(scale, seed)
    scenario = parse_scenario(doc, f"school(scale={scale}, seed={seed})")
    day, rerun_at = day_and_rerun(scenario.runs)
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kbench-")))
        workdir.mkdir(parents=True, exist_ok=True)
        boxes = start_sandboxes(scenario, workdir, stack, plan=plan)
        meter = HeavyMeter()
        meter.wrap(boxes.zoom)
        config = write_settings(boxes, workdir, plan, jobs_workers)
        driver = Driver(boxes, config, meter)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        day_records = [driver.run_at(instant) for instant in day]
        rerun = driver.run_at(rerun_at)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        zoom_stats = boxes.zoom.stats()
        operations = dict(sorted(boxes.eklase.calls.items()))
    return _figures(scale, plan, seed, scenario, doc, day_records, rerun, usage, after,
                    zoom_stats, operations)


def write_settings(boxes: Sandboxes, workdir: Path, plan: str,
                   jobs_workers: int | None) -> Path:
    """The settings file pointing kartiba at the stand-ins (mode 0600: it holds secrets).

    As a school would configure it: the Zoom plan, and the skolo.lv courses teachers link
    (``moodle.course_ids``: one ``mod_assign_get_assignments`` finds every linked assignment).
    """
    tree = dict(boxes.settings_tree)
    tree["log_level"] = "WARNING"
    tree["zoom"] = {**tree["zoom"], "plan": plan}
    courses = [course.id for course in boxes.world.scenario.moodle.courses]
    tree["moodle"] = {**tree["moodle"], "course_ids": courses}
    if jobs_workers is not None:
        tree["jobs"] = {"max_workers": jobs_workers}
    path = workdir / "kartiba.toml"
    path.touch(mode=0o600)
    path.write_text(to_toml(tree), encoding="utf-8")
    return path


def _figures(scale: int, plan: str, seed: int, scenario: Scenario, doc: dict,
             day: Sequence[RunRecord], rerun: RunRecord, usage, after, zoom_stats: dict,
             operations: dict[str, int]) -> dict[str, Any]:
    calls: Counter[str] = Counter()
    for record in day:
        calls.update(record.calls)
    upstream = {name: calls[name] for name in SYSTEMS}
    minimum = day_minimum(doc, [r.at for r in day])
    rps, phase = achieved_rps([r.heavy for r in (*day, rerun)])
    heavy_total = sum(len(r.heavy) for r in (*day, rerun))
    limited = sum(zoom_stats["rate_limited"].values())
    meetings = (len(scenario.zoom.meetings) + len(scenario.teams.meetings)
                + len(scenario.meet.conferences))
    return {
        "scale": scale,
        "students": len(scenario.students),
        "lessons": len(scenario.lessons),
        "remote_lessons": sum(1 for x in scenario.lessons if x.mode != "in_person"),
        "meetings": meetings,
        "upstream_calls": upstream,
        "minimum_calls": minimum,
        "call_ratio": call_ratio(upstream, minimum),
        "rate_limit_rps": QPS[plan]["Heavy"],
        "achieved_rps": rps,
        "zoom_429": limited,
        "wall_s": round(sum(r.wall_s for r in (*day, rerun)), 2),
        "cpu_s": round((after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime),
                       2),
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),
        "rerun": {"upstream_calls": rerun.calls, "marks_written": rerun.marks_written,
                  "emails": rerun.calls["smtp"]},
        "plan": plan,
        "seed": seed,
        "heavy_calls": heavy_total,
        "heavy_phase_s": phase,
        "zoom_429_share": round(limited / heavy_total, 4) if heavy_total else 0.0,
        "marks_written": sum(r.marks_written for r in day),
        "emails": upstream["smtp"],
        "eklase_operations": operations,
        "runs": [r.row() for r in (*day, rerun)],
    }


def _text(figures: dict[str, Any]) -> str:
    """A few readable lines (without ``--json``)."""
    f = figures
    return "\n".join([
        f"scale {f['scale']}: {f['students']} students, {f['lessons']} lessons "
        f"({f['remote_lessons']} remote), {f['meetings']} meetings, plan {f['plan']}",
        f"calls {f['upstream_calls']}",
        f"minimum {f['minimum_calls']}  ratio {f['call_ratio']}",
        f"Zoom Heavy {f['achieved_rps']}/{f['rate_limit_rps']} req/s, {f['zoom_429']} x 429",
        f"wall {f['wall_s']} s, cpu {f['cpu_s']} s, peak RSS {f['peak_rss_mb']} MB",
        f"rerun {f['rerun']}",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sandbox.bench --scale K [--plan pro|business] [--seed S] [--json]``."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.bench",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=int, default=1, help="K: K x 900 students (default 1)")
    parser.add_argument("--plan", choices=sorted(QPS), default="pro",
                        help="Zoom plan: its rate limits are served and configured (default pro)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--workers", type=int, default=None,
                        help="kartiba's jobs.max_workers (default: kartiba's default)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep settings, state and drop folders here (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    figures = run_bench(args.scale, args.plan, args.seed, args.workdir, args.workers)
    print(json.dumps(figures, ensure_ascii=False, separators=(",", ":")) if args.json
          else _text(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
