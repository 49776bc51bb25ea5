"""SMTP: the mailer that submits kartiba's alert and digest e-mails."""

from __future__ import annotations

from connectors._http import CALLS, CallStats
from connectors.smtp.client import Mailer, MailerSession, map_error
from connectors.smtp.settings import SmtpSettings


def build(settings: SmtpSettings, *, stats: CallStats = CALLS, **_deps: object) -> Mailer:
    """The mailer for these settings (other dependencies are accepted and ignored)."""
    return Mailer(settings, stats=stats)


__all__ = ["Mailer", "MailerSession", "SmtpSettings", "build", "map_error"]
