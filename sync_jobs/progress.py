"""A progress bar for long backfills: drawn on a terminal, silent under cron."""

from __future__ import annotations

import sys


class Progress:
    """``step()`` per item; prints only when stderr is a terminal."""

    def __init__(self, total: int, label: str, stream=None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.count = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()

    def step(self, note: str = "") -> None:
        self.count += 1
        if self.enabled:
            width = 30
            filled = int(width * self.count / self.total)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.count}/{self.total} {note}")
            self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
