"""``kartiba check``: settings are valid (already, to get here) and each enabled system answers."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.errors import KartibaError
from sync_jobs import wiring
from sync_jobs.settings import Settings


def check_all(settings: Settings) -> Iterator[tuple[str, bool, str]]:
    """(system, ok, message) for the journal, every enabled platform and SMTP."""
    yield "settings", True, "valid"
    checks = [("eklase", lambda: wiring.journal(settings).health())]
    for name, source in wiring.meeting_sources(settings).items():
        checks.append((name, source.health))
    for name, source in wiring.activity_sources(settings).items():
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
