"""Alert e-mails: recipients of each alert and the messages (Latvian/English templates)."""

from sync_jobs.alerts.compose import (
    AlertItem,
    Recipient,
    parse_alerts_header,
    render_digest,
    render_message,
)
from sync_jobs.alerts.recipients import resolve

__all__ = ["AlertItem", "Recipient", "parse_alerts_header", "render_digest", "render_message",
           "resolve"]
