"""soma.lv connector: import of teachers' exported results from a drop folder (point 31).

The reading, checking and ledger logic is shared with uzdevumi.lv in :mod:`connectors._imports`.
"""

from __future__ import annotations

from connectors._imports import ImportActivitySource, build_source
from connectors.base import ImportLedger
from connectors.soma.settings import SomaSettings

SYSTEM = "soma"

__all__ = ["SYSTEM", "SomaSettings", "build"]


def build(settings: SomaSettings, *,
          ledger: ImportLedger | None = None) -> ImportActivitySource:
    """The soma.lv activity source; ``ledger`` is the state store's import ledger."""
    return build_source(SYSTEM, settings, ledger)
