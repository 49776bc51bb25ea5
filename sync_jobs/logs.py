"""Logging set-up: one line per event, ids only; a filter scrubs secrets and e-mail addresses.

The code logs ids and counts only; the filter is a safety net for text that comes from
elsewhere (an upstream error message, an exception string).
"""

from __future__ import annotations

import logging
import re
import sys

from connectors._http import scrub

#: ``scheme://user:password@host`` — the credentials part of a URL (a setting may carry it)
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")


def scrub_text(text: str) -> str:
    """``scrub`` plus URL credentials: ``https://u:p@host`` becomes ``https://***@host``.

    Args:
        text: any text about to be printed or logged.

    Returns:
        The text without secrets, e-mail addresses or URL credentials.
    """
    return scrub(_USERINFO.sub(r"\g<scheme>***@", text))

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ScrubFilter(logging.Filter):
    """Rewrites each record's message with secrets and e-mail addresses removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg, record.args = scrub_text(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Log to stderr (cron mails or redirects it) at ``level``, through the scrub filter."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_kartiba", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(ScrubFilter())
    handler._kartiba = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("urllib3", "zeep", "mail.log", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
