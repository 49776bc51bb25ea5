"""A progress bar for long backfills: drawn by ``rich`` on a terminal, silent under cron.

While the bar is shown, kartiba's log handler writes through rich's own stderr redirection,
so log lines are printed above the bar instead of breaking it. Without a terminal on stdout
(cron, systemd, a pipe) nothing is drawn and logging is left as it is.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Advance = Callable[[str], None]


def _kartiba_handlers() -> list[logging.StreamHandler]:
    return [h for h in logging.getLogger().handlers
            if getattr(h, "_kartiba", False) and isinstance(h, logging.StreamHandler)]


@contextmanager
def _logs_above(stream: TextIO) -> Iterator[None]:
    """Point kartiba's log handlers at ``stream`` (rich's redirected stderr) for a while."""
    handlers = _kartiba_handlers()
    previous = [h.setStream(stream) for h in handlers]
    try:
        yield
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            if old is not None:
                handler.setStream(old)


@contextmanager
def progress_bar(total: int, label: str, *, enabled: bool | None = None) -> Iterator[Advance]:
    """A bar of ``total`` steps; yields ``advance(note)`` to call after each step.

    Args:
        total: number of steps.
        label: text before the bar.
        enabled: draw the bar; default: only when stdout is a terminal.
    """
    if enabled is None:
        enabled = sys.stdout.isatty()
    if not enabled:
        yield lambda _note: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[note]}"))
    with Progress(*columns, redirect_stderr=True, redirect_stdout=True) as progress:
        task = progress.add_task(label, total=max(total, 1), note="")
        with _logs_above(sys.stderr):
            yield lambda note: progress.update(task, advance=1, note=note)
