"""``kartiba check``: creates nothing, warns without a settings file, on clock skew, DNS."""

from __future__ import annotations

import re
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from time import time

import pytest

from tests.cli.conftest import kartiba, settings_env


def test_over_the_sandbox_every_system_ok_once_named(world):
    boxes, config, scenario = world
    result = kartiba("--config", str(config), "check")
    assert result.rc == 0, result.out + result.err
    for system in ("state", "eklase", "zoom", "teams", "meet", "moodle", "uzdevumi", "soma",
                   "smtp"):
        assert f"ok   {system}:" in result.out or f"ok  {system}:" in result.out
    for line in result.out.splitlines():
        system = line[5:].split(":", 1)[0]
        assert f"{system}: {system}" not in line, line  # no "zoom: zoom: ok"


def test_json(world):
    boxes, config, scenario = world
    result = kartiba("check", "--json", "--config", str(config))
    assert result.rc == 0
    levels = {}
    for item in result.json():
        levels.setdefault(item["system"], item["level"])
    assert levels["eklase"] == "ok" and levels["settings"] == "ok"


def test_no_settings_file_warns_and_strict_fails_and_no_state_is_created(world, tmp_path):
    boxes, config, scenario = world
    state = tmp_path / "fresh" / "state.sqlite"
    env = settings_env(boxes.settings_tree) | {"KARTIBA_STATE__PATH": str(state)}
    result = kartiba("check", env=env)
    assert result.rc == 0, result.out + result.err
    assert "WARN settings: no settings file at /nonexistent/k.toml" in result.out
    assert "does not exist yet" in result.out
    assert not state.exists() and not state.parent.exists()
    strict = kartiba("check", "--strict", env=env)
    assert strict.rc == 1
    assert not state.exists()


class _SkewedDate(BaseHTTPRequestHandler):
    """Answers everything with a Date 405 648 s in the past."""

    def _answer(self) -> None:
        self.send_response_only(200)
        self.send_header("Date", formatdate(time() - 405_648, usegmt=True))
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def skewed():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SkewedDate)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_clock_skew_against_an_upstream_warns(world, skewed):
    boxes, config, scenario = world
    env = settings_env(boxes.settings_tree) | {"KARTIBA_MOODLE__BASE_URL": skewed}
    result = kartiba("check", env=env)
    warning = [line for line in result.out.splitlines() if line.startswith("WARN moodle")]
    assert warning, result.out
    seconds = int(re.search(r"by (\d+) s", warning[0]).group(1))
    assert abs(seconds - 405_648) <= 5
    assert kartiba("check", "--strict", env=env).rc == 1


def test_unknown_host_is_said_plainly_and_url_credentials_are_scrubbed(world):
    boxes, config, scenario = world
    env = settings_env(boxes.settings_tree) | {
        "KARTIBA_MOODLE__BASE_URL": "https://kartiba:hunter2@no-such-host.invalid"}
    result = kartiba("check", env=env, timeout=180)
    line = next(x for x in result.out.splitlines() if " moodle:" in x)
    assert line.startswith("FAIL") and "cannot resolve host" in line, result.out
    assert "gaierror" not in result.out
    assert "hunter2" not in result.out + result.err
