"""Packaging as an admin installs it: systemd units, cron, logrotate, dependencies."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.cli.conftest import KARTIBA, kartiba, settings_env

ROOT = Path(__file__).parents[2]
SYSTEMD = ROOT / "contrib" / "systemd"


def _unit(name: str) -> dict[str, list[str]]:
    """Directive -> values of a unit file (repeated directives kept in order)."""
    values: dict[str, list[str]] = {}
    for line in (SYSTEMD / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def _systemd_credentials(unit: dict[str, list[str]], source: Path, runtime: Path) -> Path:
    """Lay out what systemd.exec(5) does for ``LoadCredential=ID:DIRECTORY``: each file of the
    directory becomes ``$CREDENTIALS_DIRECTORY/ID_<file>``."""
    runtime.mkdir()
    for spec in unit["LoadCredential"]:
        cred_id, path = spec.split(":", 1)
        assert path == "/etc/kartiba/secrets"
        for entry in source.iterdir():
            (runtime / f"{cred_id}_{entry.name}").write_bytes(entry.read_bytes())
    return runtime


def _unit_environment(unit: dict[str, list[str]], credentials: Path) -> dict[str, str]:
    env = {}
    for assignment in unit.get("Environment", []):
        key, value = assignment.split("=", 1)
        env[key] = value.replace("%d", str(credentials))
    return env


@pytest.mark.parametrize("unit_name", ["kartiba.service", "kartiba-purge.service"])
def test_secrets_are_found_in_systemds_credentials_layout(world, tmp_path, unit_name):
    boxes, config, scenario = world
    unit = _unit(unit_name)
    secrets = tmp_path / "etc-kartiba-secrets"
    secrets.mkdir()
    (secrets / "zoom__client_secret").write_text(
        boxes.settings_tree["zoom"]["client_secret"] + "\n", encoding="utf-8")
    credentials = _systemd_credentials(unit, secrets, tmp_path / "credentials")
    env = settings_env(boxes.settings_tree)
    del env["KARTIBA_ZOOM__CLIENT_SECRET"]
    unit_env = _unit_environment(unit, credentials)
    unit_env.pop("KARTIBA_CONFIG")
    with_unit = kartiba("check", "--json", env=env | unit_env
                        | {"CREDENTIALS_DIRECTORY": str(credentials)})
    levels = {i["system"]: i["level"] for i in with_unit.json() if i["system"] == "zoom"}
    assert levels == {"zoom": "ok"}, with_unit.out
    # systemd without %d support: $CREDENTIALS_DIRECTORY alone is enough
    alone = kartiba("check", "--json", env=env | {"CREDENTIALS_DIRECTORY": str(credentials)})
    assert {i["level"] for i in alone.json() if i["system"] == "zoom"} == {"ok"}
    # and without the credential, zoom cannot get a token: the layout is what made it work
    without = kartiba("check", "--json", env=env)
    assert without.rc != 0


def test_units_verify_with_systemd_analyze(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for unit in SYSTEMD.iterdir():
        text = unit.read_text(encoding="utf-8").replace("/usr/local/bin/kartiba", str(KARTIBA))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    names = sorted(str(p) for p in tmp_path.iterdir())
    proc = subprocess.run([analyze, "verify", *names], capture_output=True, text=True,
                          check=False, cwd=tmp_path, timeout=60)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                if "kartiba" in line and ("nknown" in line or "ailed" in line
                                          or "rror" in line)]
    assert proc.returncode == 0 and problems == [], proc.stdout + proc.stderr


def test_purge_has_a_timer_like_cron():
    cron = (ROOT / "cron.d" / "kartiba").read_text(encoding="utf-8")
    assert "kartiba purge" in cron
    service = _unit("kartiba-purge.service")
    assert service["ExecStart"] == ["/usr/local/bin/kartiba purge"]
    timer = configparser.ConfigParser()
    timer.read(SYSTEMD / "kartiba-purge.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"


def test_logrotate_covers_the_cron_log():
    cron = (ROOT / "cron.d" / "kartiba").read_text(encoding="utf-8")
    logs = set(re.findall(r">>(\S+)", cron))
    rotate = (ROOT / "contrib" / "logrotate" / "kartiba").read_text(encoding="utf-8")
    assert logs == {"/var/log/kartiba/cron.log"}
    assert rotate.splitlines()[2].startswith("/var/log/kartiba/cron.log {")
    if shutil.which("logrotate"):
        proc = subprocess.run(["logrotate", "--debug", str(ROOT / "contrib/logrotate/kartiba")],
                              capture_output=True, text=True, check=False, timeout=30)
        assert "error" not in proc.stderr.lower(), proc.stderr


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_dependency_has_a_major_upper_bound_and_is_pinned_by_the_constraints():
    project = _pyproject()["project"]
    specs = project["dependencies"] + [
        s for extra in project["optional-dependencies"].values() for s in extra
        if not s.startswith("kartiba")]
    unbounded = [s for s in specs if "<" not in s]
    assert unbounded == []
    pins = {line.split("==")[0].lower().replace("_", "-") for line in
            (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
            if "==" in line}
    names = {re.split(r"[<>=!~\[]", s)[0].lower().replace("_", "-") for s in specs}
    assert names - pins == set()


def test_ci_installs_with_the_constraints_and_runs_readmes_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2  # exactly two set-up commands
    assert block[0].endswith("pip install -e '.[sandbox]' && kartiba demo")
    test_command = block[1].split(" && ")[-1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci
    assert "-c constraints.txt -e '.[test]'" in ci


def test_a_production_install_needs_no_sandbox_library():
    """Issue 15, dependencies: aiosmtpd and pyyaml only for the sandbox (kartiba[sandbox])."""
    code = r"""
import importlib, importlib.abc, pkgutil, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"aiosmtpd", "yaml"}:
            raise ImportError(f"{name} is blocked")
sys.meta_path.insert(0, Block())
import connectors, mappings, sync_jobs
skip = {"sync_jobs.demo", "sync_jobs.report"}
for package in (connectors, mappings, sync_jobs):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name not in skip:
            importlib.import_module(info.name)
from sync_jobs.cli import main
sys.exit(main(["demo"]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'kartiba[sandbox]'" in proc.stderr


def test_no_repository_doc_points_outside_the_repository():
    """Issue 14: a package user has no ../shared nor DESIGN.md; docs/ carries what they said."""
    docs = [ROOT / "README.md", ROOT / "kartiba.example.toml", *sorted((ROOT / "docs").glob("*.md")),
            *ROOT.glob("connectors/*/CONTRACT.md"), ROOT / "tests" / "scenarios" / "README.md"]
    code = [p for d in ("connectors", "mappings", "sync_jobs", "sandbox")
            for p in (ROOT / d).rglob("*.py")]
    outside = re.compile(r"\.\./shared|/work/shared|shared/seed|shared/scenario|DESIGN\.md")
    found = [str(p.relative_to(ROOT)) for p in docs + code
             if p.is_file() and outside.search(p.read_text(encoding="utf-8"))]
    assert found == []
    for name in ("KARTIBA.md", "POLICY.md", "SCENARIOS.md"):
        assert (ROOT / "docs" / name).is_file()
