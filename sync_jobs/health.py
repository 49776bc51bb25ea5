"""``kartiba check``: settings, state store, every enabled system, clocks — without writing.

``check`` creates nothing: a state store that does not exist yet is reported (its folder must
be writable for the first run), an existing one is opened read-only. Each upstream's HTTP
``Date`` header is compared with this machine's clock, since a skewed clock moves every
deadline of the kārtība (17:00 UZDOTS, due times, the 50 % window).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from connectors.errors import KartibaError
from sync_jobs import wiring
from sync_jobs.logs import scrub_text
from sync_jobs.settings import DEFAULT_CONFIG, Settings

#: clock difference to an upstream above which ``check`` warns (seconds)
MAX_SKEW_S = 60
#: the HTTP base setting of each system whose server's Date header is compared
URL_SETTINGS = {"eklase": "endpoint", "zoom": "api_url", "teams": "graph_url",
                "meet": "api_url", "moodle": "base_url"}
_SKEW_IN_MESSAGE = re.compile(r"clock difference (\d+(?:\.\d+)?) s")


@dataclass(frozen=True)
class CheckResult:
    """One line of ``kartiba check``: level is OK, WARN or FAIL."""

    system: str
    level: str
    message: str

    def line(self) -> str:
        """``ok   zoom: token obtained`` (secrets and URL credentials scrubbed)."""
        tag = {"OK": "ok ", "WARN": "WARN", "FAIL": "FAIL"}[self.level]
        return f"{tag} {self.system}: {scrub_text(self.message)}"

    def as_dict(self) -> dict[str, str]:
        """For ``--json``."""
        return {"system": self.system, "level": self.level.lower(),
                "message": scrub_text(self.message)}


def check_all(settings: Settings, config: Path | None = None) -> Iterator[CheckResult]:
    """Every check, in order: settings file, state store, each system with its clock."""
    yield from _settings_file(config)
    yield _state(settings)
    for name, call, url in _checks(settings):
        result = _call(name, call)
        yield result
        yield from _skew(name, result.message, url)
        if name == "moodle" and result.level == "OK":  # the rights, on the linked courses
            from sync_jobs.moodle_rights import moodle_rights

            yield from moodle_rights(settings, CheckResult)  # type: ignore[misc]


def _settings_file(config: Path | None) -> Iterator[CheckResult]:
    path = Path(config or os.environ.get("KARTIBA_CONFIG") or DEFAULT_CONFIG)
    if path.is_file():
        yield CheckResult("settings", "OK", f"valid ({path})")
    else:
        yield CheckResult("settings", "WARN", f"no settings file at {path} (nor "
                          "$KARTIBA_CONFIG): only defaults and the environment are used")


def _state(settings: Settings) -> CheckResult:
    path = settings.state.path
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), Path("/"))
        if os.access(folder, os.W_OK):
            return CheckResult("state", "OK", f"{path} does not exist yet; the first run "
                               "creates it")
        return CheckResult("state", "FAIL", f"{path} does not exist and {folder} is not "
                           "writable: the first run cannot create it")
    try:
        uri = f"file:{path}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=5) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        return CheckResult("state", "FAIL", f"{path}: {exc}")
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    if not writable:
        return CheckResult("state", "FAIL", f"{path} (schema v{version}) is not writable: "
                           "runs cannot record their work")
    return CheckResult("state", "OK", f"{path} (schema v{version})")


def _checks(settings: Settings) -> list[tuple[str, Callable[[], object], str]]:
    def url(name: str) -> str:
        section = getattr(settings, name, None)
        return str(getattr(section, URL_SETTINGS.get(name, ""), "") or "")

    checks: list[tuple[str, Callable[[], object], str]] = [
        ("eklase", lambda: wiring.journal(settings).health(), url("eklase"))]
    for name, source in wiring.meeting_sources(settings).items():
        checks.append((name, source.health, url(name)))
    for name, source in wiring.activity_sources(settings, ledger=_NoLedger()).items():
        checks.append((name, source.health, url(name)))
    mailer = wiring.mailer(settings)
    if mailer is not None:
        checks.append(("smtp", mailer.health, ""))
    return checks


class _NoLedger:
    """An import ledger that records nothing: ``check`` only looks at the drop folders."""

    def file_seen(self, system: str, sha256: str) -> bool:
        return False

    def record_file(self, *args: object, **kwargs: object) -> None:
        return None

    def imported_records(self, system: str, urls: object) -> list:
        return []


def _unprefixed(name: str, message: str) -> str:
    """The message without the system's own name in front (no ``zoom: zoom: ok``)."""
    return message.removeprefix(f"{name}: ").removeprefix(f"{name} ")


def _call(name: str, call: Callable[[], object]) -> CheckResult:
    try:
        message = str(call())
    except KartibaError as exc:
        return CheckResult(name, "FAIL", _unprefixed(name, _plain(exc.message, exc)))
    except OSError as exc:
        return CheckResult(name, "FAIL", _plain(f"{type(exc).__name__}: {exc}", exc))
    return CheckResult(name, "OK", _unprefixed(name, message).removeprefix("ok: ") or "ok")


def _plain(message: str, exc: BaseException) -> str:
    """A readable reason: name-resolution failures as 'cannot resolve host'."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror) or "gaierror" in str(cause) \
                or "Name or service not known" in str(cause):
            return f"cannot resolve host ({_host_in(message) or 'see the URL setting'})"
        cause = cause.__cause__ or cause.__context__
    if "gaierror" in message or "Name or service not known" in message:
        return f"cannot resolve host ({_host_in(message) or 'see the URL setting'})"
    return message


def _host_in(text: str) -> str:
    found = re.search(r"host='([^']+)'", text) or re.search(r"https?://([^/:\s]+)", text)
    return found.group(1) if found else ""


def _skew(name: str, message: str, url: str) -> Iterator[CheckResult]:
    seconds = _reported_skew(message)
    if seconds is None and url:
        seconds = _http_date_skew(url)
    if seconds is not None and abs(seconds) > MAX_SKEW_S:
        yield CheckResult(name, "WARN", f"this machine's clock differs from the upstream's by "
                          f"{abs(seconds):.0f} s (more than {MAX_SKEW_S} s): check NTP/timedatectl")


def _reported_skew(message: str) -> float | None:
    found = _SKEW_IN_MESSAGE.search(message)
    return float(found.group(1)) if found else None


def _http_date_skew(url: str, timeout: float = 5.0) -> float | None:
    """Seconds between the upstream's HTTP ``Date`` and this clock; None when unknown."""
    import requests

    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    try:
        answer = requests.head(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException:
        return None
    stamp = answer.headers.get("Date")
    if not stamp:
        return None
    try:
        theirs = parsedate_to_datetime(stamp)
    except (TypeError, ValueError):
        return None
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - theirs).total_seconds()
