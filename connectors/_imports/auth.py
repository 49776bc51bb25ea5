"""Access to the drop folder: the trust boundary of the file imports.

There is no API and no credential: whoever can write into the drop folder can make kartiba
believe a student did their work. The folder must exist and be readable; a folder any local
user may write into is reported (the administrator should restrict it to the teachers'
upload account and kartiba's user).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from connectors.errors import ConfigError

log = logging.getLogger("kartiba.imports")


def check_drop_dir(system: str, path: Path | None) -> Path:
    """Validate the drop folder of one import connector.

    Returns:
        The folder's path.

    Raises:
        ConfigError: no folder is configured, it does not exist, is not a folder, or
        cannot be read.
    """
    setting = f"{system}.drop_dir"
    if path is None:
        raise ConfigError(f"{system}: no drop folder configured", setting=setting)
    if not path.is_dir():
        raise ConfigError(f"{system}: drop folder {path} does not exist or is not a folder",
                          setting=setting)
    if not os.access(path, os.R_OK | os.X_OK):
        raise ConfigError(f"{system}: drop folder {path} is not readable", setting=setting)
    mode = path.stat().st_mode
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        log.warning("%s: drop folder %s is writable by every local user: anyone could plant "
                    "an export; restrict it (chmod o-w)", system, path)
    return path
