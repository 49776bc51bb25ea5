"""``kartiba check``: settings are valid (already, to get here) and each enabled system answers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from connectors.errors import KartibaError
from sync_jobs import wiring
from sync_jobs.settings import Settings
from sync_jobs.state import StateStore


def check_all(settings: Settings) -> Iterator[tuple[str, bool, str]]:
    """(system, ok, message) for the state store, the journal, every platform and SMTP."""
    yield "settings", True, "valid"
    try:
        store = StateStore.open(settings.state.path)
    except (OSError, sqlite3.Error) as exc:
        yield "state", False, f"{settings.state.path}: {type(exc).__name__}"
        return
    with store:
        yield "state", True, f"{settings.state.path} (schema v{store.schema_version})"
        yield from _connectors(settings, store)


def _connectors(settings: Settings, store: StateStore) -> Iterator[tuple[str, bool, str]]:
    checks = [("eklase", lambda: wiring.journal(settings).health())]
    for name, source in wiring.meeting_sources(settings, webhooks=store).items():
        checks.append((name, source.health))
    for name, source in wiring.activity_sources(settings, ledger=store).items():
        checks.append((name, source.health))
    mailer = wiring.mailer(settings)
    if mailer is not None:
        checks.append(("smtp", mailer.health))
    for name, call in checks:
        try:
            yield name, True, str(call())
        except KartibaError as exc:
            yield name, False, exc.message
        except OSError as exc:
            yield name, False, f"{type(exc).__name__}"
