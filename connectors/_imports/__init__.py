"""Shared machinery of the file-import connectors (uzdevumi.lv, soma.lv): one implementation.

``connectors.uzdevumi`` and ``connectors.soma`` are thin packages: their own settings
section and a ``build`` factory around :class:`ImportActivitySource`.
"""

from __future__ import annotations

from connectors._imports.models import ImportReport
from connectors._imports.settings import DEFAULT_COLUMNS, FIELDS, ImportSettings
from connectors._imports.source import ImportActivitySource
from connectors.base import ImportLedger
from connectors.errors import ConfigError

__all__ = ["DEFAULT_COLUMNS", "FIELDS", "ImportActivitySource", "ImportReport",
           "ImportSettings", "build_source"]


def build_source(system: str, settings: ImportSettings,
                 ledger: ImportLedger | None) -> ImportActivitySource:
    """An import source for one system.

    Raises:
        ConfigError: no ledger (state store) was given, or no drop folder is configured.
    """
    if ledger is None:
        raise ConfigError(f"{system}: the import needs the state store as its ledger",
                          setting=f"{system}.enabled")
    if settings.drop_dir is None:
        raise ConfigError(f"{system}: set {system}.drop_dir", setting=f"{system}.drop_dir")
    return ImportActivitySource(system, settings, ledger)
