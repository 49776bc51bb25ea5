"""The sandbox's shared world: a scenario plus the instant the servers pretend it is.

Every stand-in server shows only what exists at ``world.now``: a Zoom instance that has not
ended is "not ended yet", a UZDOTS entry created later is not there, a notice received later
is not known, a submission made later does not exist yet.
"""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

from sandbox.scenario import Scenario

RIGA = ZoneInfo("Europe/Riga")


class World:
    """A scenario and a settable clock, shared (thread-safely) by the sandbox servers."""

    def __init__(self, scenario: Scenario, now: dt.datetime | None = None) -> None:
        self.scenario = scenario
        self._now = now or (scenario.runs[0] if scenario.runs else dt.datetime.now(dt.UTC))
        self.lock = threading.RLock()

    @property
    def now(self) -> dt.datetime:
        with self.lock:
            return self._now

    def set_now(self, now: dt.datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        with self.lock:
            self._now = now

    def visible(self, at: dt.datetime | None) -> bool:
        """Whether something that happened at ``at`` has happened by now."""
        return at is None or at <= self.now

    @staticmethod
    def local(day: dt.date, hhmm: str) -> dt.datetime:
        """A Riga wall-clock time on a day, as an aware datetime."""
        hour, minute = (int(p) for p in hhmm.split(":"))
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=RIGA)
