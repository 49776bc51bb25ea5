"""A user's mistake is one line naming the problem and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from sync_jobs.cli import build_parser
from tests.cli.conftest import kartiba


@pytest.mark.parametrize("args, needle", [
    pytest.param(["notice", "add", "--student", "s1", "--kind", "illness", "--from", "2026-12-03",
                  "--to", "2026-12-01"], "before from", id="notice-to-before-from"),
    pytest.param(["notice", "import", "nonexist.csv"], "nonexist.csv", id="notice-import-missing"),
    pytest.param(["demo", "--scenario", "nonexist.json"], "nonexist.json", id="demo-missing"),
    pytest.param(["sandbox", "serve", "--scenario", "nonexist.json"], "nonexist.json",
                 id="sandbox-missing"),
    pytest.param(["run", "--from", "2026-12-03", "--to", "2026-12-01"], "before", id="backfill"),
    pytest.param(["run", "--now", "2026-12-01T18:00"], "offset", id="now-without-offset"),
    pytest.param(["run", "--bogus"], "--bogus", id="unknown-option"),
    pytest.param(["sandbox", "clock", "2026-12-01T18:00+02:00", "--settings-out",
                  "/nonexistent/s.toml"], "sandbox", id="clock-without-sandbox"),
])
def test_user_mistakes_are_one_line_exit_2(tmp_path, args, needle):
    env = {"KARTIBA_STATE__PATH": str(tmp_path / "state.sqlite")}
    result = kartiba(*args, env=env, cwd=tmp_path)
    assert result.rc == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kartiba: "), result.err
    assert needle in lines[0]


def test_invalid_setting_is_one_line_exit_2(tmp_path):
    result = kartiba("status", env={"KARTIBA_ZOOM__PLAN": "gold"})
    assert result.rc == 2 and "zoom.plan" in result.err


def test_non_ascii_sender_is_refused_by_settings_validation(tmp_path):
    """Issue 15 #17: a non-ASCII smtp.sender is an invalid setting, not a failure of every run."""
    result = kartiba("check", env={"KARTIBA_SMTP__SENDER": "kartība@skola.lv",
                                   "KARTIBA_STATE__PATH": str(tmp_path / "s.sqlite")})
    assert result.rc == 2
    assert "smtp.sender" in result.err and "ASCII" in result.err


def test_version():
    result = kartiba("--version")
    assert result.rc == 0 and result.out.startswith("kartiba ")


@pytest.mark.parametrize("args", [
    ["--config", "{c}", "--log-level", "debug", "status"],
    ["status", "--config", "{c}", "--log-level", "DEBUG"],
    ["--log-level", "WARNING", "notice", "list", "--config", "{c}"],
])
def test_global_options_before_or_after_the_command(tmp_path, args):
    config = tmp_path / "k.toml"
    config.write_text(f'[state]\npath = "{tmp_path / "state.sqlite"}"\n', encoding="utf-8")
    assert kartiba("notice", "list", "--config", str(config)).rc == 0  # creates the store
    result = kartiba(*[a.replace("{c}", str(config)) for a in args])
    assert result.rc == 0, result.err


def _actions(parser, path=()):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, (*path, name))
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def test_every_option_and_argument_has_help():
    missing = [(" ".join(path), action.dest) for path, action in _actions(build_parser())
               if not action.help]
    assert missing == []


def test_notice_import_help_describes_the_csv_format():
    out = kartiba("notice", "import", "--help").out
    for needle in ("student", "received_at", "semicolon", "Windows-1257", "FILE:LINE"):
        assert needle in out
