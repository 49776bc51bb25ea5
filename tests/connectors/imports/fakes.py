"""An in-memory ImportLedger for tests (the real one is the state store)."""

from __future__ import annotations

from collections.abc import Sequence

from mappings.model import ActivityRecord


class MemoryLedger:
    """Files and their rows, kept in dicts; counts ``record_file`` calls."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], tuple[str, list[ActivityRecord]]] = {}
        self.record_calls = 0

    def file_seen(self, system: str, sha256: str) -> bool:
        return (system, sha256) in self.files

    def record_file(self, system: str, sha256: str, name: str,
                    records: Sequence[ActivityRecord]) -> None:
        assert (system, sha256) not in self.files, "a file must be recorded once"
        self.record_calls += 1
        self.files[(system, sha256)] = (name, list(records))

    def imported_records(self, system: str, urls: Sequence[str]) -> list[ActivityRecord]:
        wanted = set(urls)
        return [r for (s, _), (_, records) in self.files.items() if s == system
                for r in records if r.activity_url in wanted]

    def names(self, system: str) -> list[str]:
        return sorted(name for (s, _), (name, _) in self.files.items() if s == system)
