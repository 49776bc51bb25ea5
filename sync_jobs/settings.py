"""Application settings: one nested model from a TOML file, a secrets directory, the environment.

Precedence (highest first): environment variables ``KARTIBA_<SECTION>__<FIELD>`` (and
``KARTIBA_LOG_LEVEL``), files in the secrets directory (one file per setting, named
``<section>__<field>``, e.g. ``zoom__client_secret``), the TOML file (``--config``, default
``/etc/kartiba/kartiba.toml``), then the defaults. Anything invalid stops the run with
:class:`SettingsError`, whose message names the setting; the CLI exits with code 2.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from connectors.eklase.settings import EklaseSettings
from connectors.meet.settings import MeetSettings
from connectors.moodle.settings import MoodleSettings
from connectors.smtp.settings import SmtpSettings
from connectors.soma.settings import SomaSettings
from connectors.teams.settings import TeamsSettings
from connectors.uzdevumi.settings import UzdevumiSettings
from connectors.zoom.settings import ZoomSettings
from mappings.policy import DEFAULT_POLICY, Policy, PolicyError

DEFAULT_CONFIG = Path("/etc/kartiba/kartiba.toml")
DEFAULT_SECRETS_DIR = Path("/run/secrets/kartiba")
ENV_PREFIX = "KARTIBA_"


class SettingsError(ValueError):
    """Invalid settings; the message names each offending setting."""


class SchoolSettings(BaseModel):
    """[school]: who the school is and who oversees remote learning (point 6)."""

    model_config = ConfigDict(extra="forbid")
    name: str = ""
    oversight: list[str] = []  # e-mail addresses of the deputy directors etc.
    language: Literal["lv", "en"] = "lv"
    notify_parents: bool = False  # point 32: off by default

    @field_validator("oversight")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if "@" not in v]
        if bad:
            raise ValueError(f"not an e-mail address: {len(bad)} entr(y/ies)")
        return value


class StateSettings(BaseModel):
    """[state]: the SQLite state store (outbox, ledger, audit)."""

    model_config = ConfigDict(extra="forbid")
    path: Path = Path("/var/lib/kartiba/state.sqlite")
    # evidence, verdicts and ledger rows are kept this long; at least a school year, since
    # the quota alerts (point 7) are once per group x subject per school year via the ledger
    retention_days: int = Field(400, ge=366)
    stale_lock_s: int = Field(3600, ge=60)
    # a run ends itself after this long (its work continues at the next run); a run that finds
    # the lock held longer exits 1 and oversight is mailed once a day while it lasts
    max_run_s: int = Field(1800, ge=60)


class IdentitySettings(BaseModel):
    """[identity]: display names students use on meeting platforms (alias table)."""

    model_config = ConfigDict(extra="forbid")
    aliases: dict[str, list[str]] = {}  # student id -> display names


class CalendarSettings(BaseModel):
    """[calendar]: the school's own non-teaching days (point 16 working days)."""

    model_config = ConfigDict(extra="forbid")
    non_teaching_days: list[dt.date] = []


class JobSettings(BaseModel):
    """[jobs]: when the jobs consider themselves due (Riga time; cron only wakes them)."""

    model_config = ConfigDict(extra="forbid")
    digest_weekday: int = Field(4, ge=0, le=6)  # Monday = 0; Friday by default
    digest_time: dt.time = dt.time(15, 0)
    quota_time: dt.time = dt.time(6, 0)
    max_workers: int = Field(4, ge=1, le=32)


class Settings(BaseModel):
    """The whole application's settings."""

    model_config = ConfigDict(extra="forbid")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    school: SchoolSettings = SchoolSettings()
    state: StateSettings = StateSettings()
    policy: dict[str, Any] = {}
    calendar: CalendarSettings = CalendarSettings()
    identity: IdentitySettings = IdentitySettings()
    jobs: JobSettings = JobSettings()
    eklase: EklaseSettings = EklaseSettings()
    zoom: ZoomSettings = ZoomSettings()
    teams: TeamsSettings = TeamsSettings()
    meet: MeetSettings = MeetSettings()
    moodle: MoodleSettings = MoodleSettings()
    uzdevumi: UzdevumiSettings = UzdevumiSettings()
    soma: SomaSettings = SomaSettings()
    smtp: SmtpSettings = SmtpSettings()

    @property
    def policy_obj(self) -> Policy:
        """The effective rule policy (defaults + [policy] overrides + calendar days)."""
        overrides = dict(self.policy)
        if self.calendar.non_teaching_days:
            overrides.setdefault("non_teaching_days", list(self.calendar.non_teaching_days))
        return DEFAULT_POLICY.with_overrides(overrides)


# --------------------------------------------------------------------------- sources


def _set_path(tree: dict, path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_value(raw: str) -> Any:
    """Environment values: JSON for lists/objects/numbers where it parses, else the string."""
    import json

    text = raw.strip()
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return raw
    return raw


def from_environment(environ: dict[str, str]) -> dict:
    """Settings tree from ``KARTIBA_<SECTION>__<FIELD>`` variables (and KARTIBA_LOG_LEVEL)."""
    tree: dict = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in {"KARTIBA_CONFIG", "KARTIBA_SECRETS_DIR"}:
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
        if path:
            # a *_json setting is JSON text itself (e.g. meet.service_account_json)
            value = raw if path[-1].endswith("_json") else _env_value(raw)
            _set_path(tree, path, value)
    return tree


def from_secrets_dir(directory: Path, *, prefixed_only: bool = False) -> dict:
    """Settings tree from one-file-per-secret (``zoom__client_secret`` holds the value).

    A ``kartiba_`` prefix is stripped: systemd's ``LoadCredential=kartiba:/etc/kartiba/secrets``
    hands the files over as ``$CREDENTIALS_DIRECTORY/kartiba_<file>``.

    Args:
        directory: the secrets directory.
        prefixed_only: read only ``kartiba_*`` files (a credentials directory shared with
            other credentials of the unit).
    """
    tree: dict = {}
    if not directory.is_dir():
        return tree
    prefix = ENV_PREFIX.lower()
    for entry in sorted(directory.iterdir()):
        name = entry.name.lower()
        if not entry.is_file() or name.startswith(".") or (
                prefixed_only and not name.startswith(prefix)):
            continue
        _warn_if_shared(entry)
        _set_path(tree, name.removeprefix(prefix).split("__"),
                  entry.read_text(encoding="utf-8").strip())
    return tree


def _warn_if_shared(entry: Path) -> None:
    """A secret file other users can read is named in a warning (issue 15, 19)."""
    if entry.stat().st_mode & 0o044:
        logging.getLogger("kartiba.settings").warning(
            "secret file %s is readable by other users; chmod 600 it", entry.name)


def secrets_tree(environ: dict[str, str]) -> dict:
    """Secrets from ``$KARTIBA_SECRETS_DIR`` (default /run/secrets/kartiba) and, under systemd,
    the ``kartiba_*`` files of ``$CREDENTIALS_DIRECTORY``."""
    tree = from_secrets_dir(Path(environ.get("KARTIBA_SECRETS_DIR") or DEFAULT_SECRETS_DIR))
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if credentials and Path(credentials) != Path(environ.get("KARTIBA_SECRETS_DIR") or "/-"):
        tree = _merge(from_secrets_dir(Path(credentials), prefixed_only=True), tree)
    return tree


def from_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist (use --config)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None


def _loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if not str(p).startswith("function-"))


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        name = _loc(err["loc"])
        env = ENV_PREFIX + "__".join(str(p).upper() for p in err["loc"] if isinstance(p, str))
        msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"invalid setting {name} ({env}): {msg}")
    return "\n".join(lines)


def load_settings(
    config: Path | str | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict | None = None,
    require_file: bool = False,
) -> Settings:
    """Load and validate the settings.

    Args:
        config: TOML file; None = ``$KARTIBA_CONFIG`` or the default path when it exists.
        environ: environment to read (defaults to ``os.environ``).
        overrides: a settings tree applied last (used by ``kartiba demo``).
        require_file: fail when the file does not exist.

    Raises:
        SettingsError: naming every invalid setting.
    """
    environ = dict(os.environ if environ is None else environ)
    path = Path(config or environ.get("KARTIBA_CONFIG") or DEFAULT_CONFIG)
    tree: dict = {}
    if config or require_file or path.exists():
        tree = from_toml(path)
    tree = _merge(tree, secrets_tree(environ))
    tree = _merge(tree, from_environment(environ))
    tree = _merge(tree, overrides or {})
    try:
        settings = Settings.model_validate(tree)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    try:
        settings.policy_obj  # noqa: B018 - validate the overrides now, not mid-run
    except PolicyError as exc:
        raise SettingsError(f"invalid setting {exc}") from None
    _check_sender(settings.smtp.sender)
    return settings


def _check_sender(sender: str) -> None:
    """``smtp.sender`` must be plain ASCII: every message's envelope and From use it.

    Raises:
        SettingsError: a non-ASCII sender (a relay without SMTPUTF8 refuses every message).
    """
    if not sender.isascii():
        raise SettingsError(
            "invalid setting smtp.sender (KARTIBA_SMTP__SENDER): must be an ASCII address "
            "(write a non-ASCII domain in its xn-- form); a relay refuses every message otherwise")


def secret(value: SecretStr | None) -> str:
    """The plain value of an optional secret (for the connectors' auth only)."""
    return value.get_secret_value() if value is not None else ""
