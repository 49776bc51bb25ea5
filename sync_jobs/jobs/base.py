"""What a job is: a name, a due check and ``run(ctx)``, like a Moodle scheduled task."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sync_jobs.context import RunContext


class Job(Protocol):
    """A scheduled job. ``run`` returns the counts it logs at the end."""

    name: str

    def is_due(self, ctx: RunContext) -> bool:
        """Whether the job has work at ``ctx.now`` when cron runs "all that are due"."""
        ...

    def run(self, ctx: RunContext) -> Counter[str]: ...
