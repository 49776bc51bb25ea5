"""Settings of the uzdevumi.lv import connector: section ``[uzdevumi]``.

Every field can come from the environment as ``KARTIBA_UZDEVUMI__<FIELD>`` (for example
``KARTIBA_UZDEVUMI__DROP_DIR``) or from the TOML file; see
:class:`connectors._imports.settings.ImportSettings` for the fields.
"""

from __future__ import annotations

from connectors._imports.settings import ImportSettings


class UzdevumiSettings(ImportSettings):
    """uzdevumi.lv has no public API: teachers export a task's results (CSV/XLSX) into
    ``drop_dir``, where kartiba imports each file once."""
