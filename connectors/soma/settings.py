"""Settings of the soma.lv import connector: section ``[soma]``.

Every field can come from the environment as ``KARTIBA_SOMA__<FIELD>`` (for example
``KARTIBA_SOMA__DROP_DIR``) or from the TOML file; see
:class:`connectors._imports.settings.ImportSettings` for the fields.
"""

from __future__ import annotations

from connectors._imports.settings import ImportSettings


class SomaSettings(ImportSettings):
    """soma.lv has no public API: teachers export their pupils' results (CSV/XLSX) into
    ``drop_dir``, where kartiba imports each file once."""
