"""The sandbox as a place to try things: a movable clock, received mail as .eml, the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.conftest import KARTIBA, PRESENCE, kartiba


def _wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def served(tmp_path):
    """``kartiba sandbox serve`` of scenario 01 as a process, stopped with SIGTERM."""
    settings = tmp_path / "sandbox-kartiba.toml"
    mail = tmp_path / "mail"
    log = (tmp_path / "serve.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KARTIBA_")}
    proc = subprocess.Popen(
        [str(KARTIBA), "sandbox", "serve", "--scenario", str(PRESENCE), "--now",
         "2026-11-30T08:00:00+02:00", "--settings-out", str(settings), "--mail-dir", str(mail)],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        _wait_for(lambda: settings.exists() and "stop with Ctrl-C" in
                  (tmp_path / "serve.log").read_text(), "the sandbox to serve")
        yield settings, mail, tmp_path / "serve.log"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    assert proc.returncode == 0  # SIGTERM stops it cleanly, like Ctrl-C


def test_serve_with_a_movable_clock_and_a_mail_folder(served):
    settings, mail, log = served
    c = ("--config", str(settings))
    # before the lesson ended the stand-ins have no report: nothing is judged, nothing mailed
    early = kartiba(*c, "run", "attendance", "--now", "2026-11-30T08:00:00+02:00")
    assert early.rc == 0 and list(mail.glob("*.eml")) == []
    moved = kartiba("sandbox", "clock", "2026-11-30T18:00:00+02:00", "--settings-out",
                    str(settings))
    assert moved.rc == 0, moved.err
    _wait_for(lambda: "sandbox clock: 2026-11-30T18:00:00+02:00" in log.read_text(),
              "the clock to move")
    late = kartiba(*c, "run", "attendance", "--now", "2026-11-30T18:00:00+02:00")
    assert late.rc == 0 and "marks_written=" in late.out, late.out + late.err
    _wait_for(lambda: list(mail.glob("*.eml")), "the mail to be written")
    message = next(mail.glob("*.eml")).read_bytes()
    assert b"Message-ID:" in message and b"X-Kartiba-Alerts" in message


def test_demo_says_where_its_report_and_mails_are(tmp_path):
    out = tmp_path / "out"
    result = kartiba("demo", "--scenario", str(PRESENCE), "--out", str(out), timeout=300)
    assert result.rc == 0, result.err
    assert f"report: {out / 'report.html'}" in result.out
    assert f"mails:  {out / 'mail'}/" in result.out
    assert (out / "report.html").is_file() and list((out / "mail").glob("*.eml"))


def test_the_progress_bar_prints_logs_above_itself(tmp_path):
    """Issue 18: rich draws the bar on a terminal; a log line is printed above it, whole."""
    import pty

    code = (
        "import logging\n"
        "from sync_jobs.logs import configure_logging\n"
        "from sync_jobs.progress import progress_bar\n"
        "configure_logging('INFO')\n"
        "with progress_bar(3, 'backfill') as advance:\n"
        "    for day in ('d1', 'd2', 'd3'):\n"
        "        logging.getLogger('kartiba.test').warning('LOGLINE %s', day)\n"
        "        advance(day)\n")
    main, child = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen([str(Path(KARTIBA).parent / "python"), "-c", code],
                            stdin=child, stdout=child, stderr=child, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "backfill" in text and "3/3" in text
    for day in ("d1", "d2", "d3"):
        line = next(x for x in text.splitlines() if f"LOGLINE {day}" in x)
        assert "━" not in line.split("LOGLINE")[1]  # the bar never runs into a log line


def test_no_bar_without_a_terminal(world):
    boxes, config, scenario = world
    result = kartiba("--config", str(config), "run", "attendance", "--from", "2026-11-30",
                     "--to", "2026-11-30")
    assert result.rc == 0 and "━" not in result.out + result.err and "\r" not in result.out
