"""uzdevumi.lv connector: import of teachers' exported results from a drop folder (point 31).

The reading, checking and ledger logic is shared with soma.lv in :mod:`connectors._imports`.
"""

from __future__ import annotations

from connectors._imports import ImportActivitySource, build_source
from connectors.base import ImportLedger
from connectors.uzdevumi.settings import UzdevumiSettings

SYSTEM = "uzdevumi"

__all__ = ["SYSTEM", "UzdevumiSettings", "build"]


def build(settings: UzdevumiSettings, *,
          ledger: ImportLedger | None = None) -> ImportActivitySource:
    """The uzdevumi.lv activity source; ``ledger`` is the state store's import ledger."""
    return build_source(SYSTEM, settings, ledger)
