"""Helpers shared by the connector tests: retries and rate limiters that never really sleep."""

from __future__ import annotations

import pytest

from connectors._http import LimiterRegistry, RateLimiter


class SleepRecorder:
    """Stands in for time.sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class RecordingLimiters(LimiterRegistry):
    """Fresh rate limiters that wait through a :class:`SleepRecorder` (no real sleeping,
    also after a 429 empties the bucket)."""

    def __init__(self, sleep: SleepRecorder) -> None:
        super().__init__()
        self._sleep = sleep

    def get(self, key: tuple[str, ...], rate: float, burst: float | None = None) -> RateLimiter:
        return RateLimiter(rate, burst, sleep=self._sleep)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
