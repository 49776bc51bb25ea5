"""The one place that reads the clock. Jobs get ``now`` from here once per run."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

RIGA = ZoneInfo("Europe/Riga")


def read_clock() -> dt.datetime:
    """The current instant in Riga time (aware)."""
    return dt.datetime.now(dt.UTC).astimezone(RIGA)


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 instant with offset (``--now``), in Riga time.

    Raises:
        ValueError: when the text is not ISO 8601 or has no UTC offset.
    """
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (e.g. 2026-11-30T18:00:00+02:00)")
    return value.astimezone(RIGA)
