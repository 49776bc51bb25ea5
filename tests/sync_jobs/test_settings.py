"""Settings: TOML + secrets dir + environment, invalid values named (exit 2 in the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_jobs.cli import main
from sync_jobs.settings import SettingsError, from_environment, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kartiba.toml"
    path.write_text(text, encoding="utf-8")
    return path


NO_SECRETS = {"KARTIBA_SECRETS_DIR": "/nonexistent"}


@pytest.mark.parametrize(
    ("toml", "env", "needle"),
    [
        pytest.param('[zoom]\nplan = "enterprise"\n', {}, "zoom.plan", id="bad-enum"),
        pytest.param("[zoom]\nclient_idd = 'x'\n", {}, "zoom.client_idd", id="unknown-key"),
        pytest.param("", {"KARTIBA_SMTP__PORT": "99999"}, "smtp.port", id="env-out-of-range"),
        pytest.param("[policy]\nmin_presence_share = 1.5\n", {}, "min_presence_share",
                     id="policy-range"),
        pytest.param("[policy]\nno_such_rule = 1\n", {}, "no_such_rule", id="policy-unknown"),
        pytest.param("[school]\noversight = ['not-an-address']\n", {}, "school.oversight",
                     id="oversight-email"),
        pytest.param("[state\n", {}, "not valid TOML", id="broken-toml"),
    ],
)
def test_invalid_settings_name_the_setting(tmp_path, toml, env, needle):
    path = write(tmp_path, toml)
    with pytest.raises(SettingsError) as err:
        load_settings(path, environ={**NO_SECRETS, **env})
    assert needle in str(err.value)


def test_precedence_env_over_secrets_over_file(tmp_path):
    path = write(tmp_path, '[zoom]\nclient_id = "from-file"\naccount_id = "file"\n')
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "zoom__client_secret").write_text("s3cret\n")
    (secrets / "zoom__account_id").write_text("from-secret")
    settings = load_settings(path, environ={"KARTIBA_SECRETS_DIR": str(secrets),
                                            "KARTIBA_ZOOM__CLIENT_ID": "from-env"})
    assert settings.zoom.client_id == "from-env"
    assert settings.zoom.account_id == "from-secret"
    assert settings.zoom.client_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())


def test_environment_tree_parses_json_lists():
    tree = from_environment({"KARTIBA_SCHOOL__OVERSIGHT": '["a@b.lv"]',
                             "KARTIBA_LOG_LEVEL": "DEBUG", "OTHER": "x"})
    assert tree == {"school": {"oversight": ["a@b.lv"]}, "log_level": "DEBUG"}


def test_policy_overrides_reach_the_rules(tmp_path):
    path = write(tmp_path, '[policy]\nmin_presence_share = 0.75\n'
                           '[calendar]\nnon_teaching_days = ["2026-11-16"]\n')
    policy = load_settings(path, environ=NO_SECRETS).policy_obj
    assert policy.min_presence_share == 0.75
    assert [d.isoformat() for d in policy.non_teaching_days] == ["2026-11-16"]


def test_cli_exits_2_naming_the_setting(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, '[eklase]\nmode = "fax"\n')
    monkeypatch.setenv("KARTIBA_SECRETS_DIR", "/nonexistent")
    assert main(["--config", str(path), "status"]) == 2
    assert "eklase.mode" in capsys.readouterr().err


def test_missing_config_file_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KARTIBA_SECRETS_DIR", "/nonexistent")
    assert main(["--config", str(tmp_path / "nope.toml"), "status"]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_example_settings_file_is_valid(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "smtp__password").write_text("x")
    settings = load_settings(Path(__file__).parents[2] / "kartiba.example.toml",
                             environ={"KARTIBA_SECRETS_DIR": str(secrets)})
    assert settings.eklase.lesson_types["Attālināti tiešsaistē"] == "remote_sync"


def test_a_run_past_its_maximum_duration_ends_the_process():
    """Issue 15 #5: a hung run ends itself (the kernel frees the lock, the next run heals)."""
    import subprocess
    import sys

    code = ("import time, sync_jobs.runner as r\n"
            "r.HARD_GRACE_S = 1\n"
            "with r._hard_deadline(0, 'run-x'):\n"
            "    time.sleep(30)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=20, check=False)
    assert proc.returncode == 1
    assert "run run-x exceeded state.max_run_s" in proc.stderr
