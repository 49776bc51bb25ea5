"""cron.d/kartiba is valid Debian cron (with the user field) and runs real CLI commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sync_jobs.cli import build_parser
from sync_jobs.jobs import JOBS

ROOT = Path(__file__).parents[2]
CRON = ROOT / "cron.d" / "kartiba"
RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def entries() -> list[list[str]]:
    lines = [line.strip() for line in CRON.read_text(encoding="utf-8").splitlines()]
    return [line.split(None, 6) for line in lines
            if line and not line.startswith("#") and not ENV.match(line)]


def field_ok(field: str, low: int, high: int) -> bool:
    for part in field.split(","):
        base, _, step = part.partition("/")
        if step and not step.isdigit():
            return False
        if base == "*":
            continue
        bounds = base.split("-")
        if not all(b.isdigit() and low <= int(b) <= high for b in bounds) or len(bounds) > 2:
            return False
    return True


def test_no_cron_tz_and_every_line_is_valid():
    text = CRON.read_text(encoding="utf-8")
    assert "CRON_TZ" not in "\n".join(line for line in text.splitlines()
                                       if not line.startswith("#"))
    rows = entries()
    assert rows
    for row in rows:
        assert len(row) == 7, row
        for field, (low, high) in zip(row[:5], RANGES, strict=True):
            assert field_ok(field, low, high), (field, row)
        assert row[5] == "kartiba"  # the user field (Debian /etc/cron.d format)


@pytest.mark.parametrize("row", [pytest.param(r, id=" ".join(r[6].split()[:3]))
                                 for r in entries()])
def test_each_command_parses_with_the_cli(row):
    command = shlex.split(row[6].split(">>")[0])
    assert command[0] == "kartiba"
    args = build_parser().parse_args(command[1:])
    if args.command == "run":
        assert set(args.jobs) <= set(JOBS)


def test_every_job_is_scheduled():
    scheduled = {job for row in entries() for job in shlex.split(row[6].split(">>")[0])[2:]}
    assert set(JOBS) <= scheduled


def test_systemd_units_exist():
    service = (ROOT / "contrib" / "systemd" / "kartiba.service").read_text(encoding="utf-8")
    timer = (ROOT / "contrib" / "systemd" / "kartiba.timer").read_text(encoding="utf-8")
    assert "ExecStart=/usr/local/bin/kartiba run" in service
    assert "OnCalendar=" in timer
