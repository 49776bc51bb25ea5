"""Settings of the SMTP mailer.

Environment (nested in the app settings, prefix ``KARTIBA_SMTP__``): ``KARTIBA_SMTP__HOST``,
``KARTIBA_SMTP__PORT``, ``KARTIBA_SMTP__SECURITY`` (none | starttls | ssl),
``KARTIBA_SMTP__USERNAME``, ``KARTIBA_SMTP__PASSWORD``, ``KARTIBA_SMTP__SENDER``,
``KARTIBA_SMTP__TIMEOUT``, ``KARTIBA_SMTP__CA_BUNDLE``, ``KARTIBA_SMTP__LOCAL_HOSTNAME``.
"""

from __future__ import annotations

import ipaddress
from email.utils import parseaddr
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (localhost or a loopback address)."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SmtpSettings(BaseModel):
    """Where and how kartiba submits its e-mails.

    Attributes:
        host: SMTP server (the submission relay of the school's mail service).
        port: 25 (relay), 587 (submission with STARTTLS) or 465 (implicit TLS).
        security: "starttls" (default), "ssl" (implicit TLS) or "none" (plain; only without
            credentials unless the server is on loopback).
        username: login name; no login when unset.
        password: login password (never logged).
        sender: envelope and From address of every message.
        timeout: seconds for connecting and for each SMTP command.
        ca_bundle: CA bundle to verify the server with instead of the system store (TLS
            verification is never switched off).
        local_hostname: name for EHLO; the machine's FQDN when unset.
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "kartiba@localhost"
    timeout: float = Field(default=30.0, gt=0)
    ca_bundle: str | None = None
    local_hostname: str | None = None

    @field_validator("sender")
    @classmethod
    def _sender_is_address(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or address != value.strip():
            raise ValueError("sender must be a bare e-mail address like kartiba@school.lv")
        return address

    @model_validator(mode="after")
    def _credentials_safe(self) -> SmtpSettings:
        if self.username and self.password is None:
            raise ValueError("password is required when username is set")
        if self.username and self.security == "none" and not is_loopback(self.host):
            raise ValueError("refusing to send credentials in clear text: use security "
                             "starttls or ssl for a non-loopback SMTP server")
        return self
