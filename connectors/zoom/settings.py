"""Settings of the Zoom connector and its webhook receiver: section ``[zoom]``.

Every field can come from the environment as ``KARTIBA_ZOOM__<FIELD>`` (for example
``KARTIBA_ZOOM__CLIENT_SECRET`` or ``KARTIBA_ZOOM__WEBHOOK_SECRET``) or from the secrets file
``zoom__<field>``. The application's settings nest this model; a validation error names the
offending field.
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """Whether a host name or address is the loopback interface."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_bind(bind: str) -> tuple[str, int]:
    """``"host:port"`` (IPv6 as ``"[::1]:8790"``) as a (host, port) pair; port 0 = any free.

    Raises:
        ValueError: when the text is not a host and a port in 0..65535.
    """
    host, sep, port = bind.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError("expected host:port, e.g. 127.0.0.1:8790")
    return host, int(port)


class ZoomSettings(BaseModel):
    """A Zoom Server-to-Server OAuth app of the school's account, and the webhook receiver.

    The app needs read access to past meeting instances, participant reports and cloud
    recordings (classic scopes ``meeting:read:admin``, ``report:read:admin``,
    ``recording:read:admin``, or their granular equivalents).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    account_id: str = ""
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    api_url: str = "https://api.zoom.us/v2"
    oauth_url: str = "https://zoom.us/oauth/token"
    plan: Literal["pro", "business"] = "pro"  # sizes the per-category rate limiters
    # share of the plan's per-category limits kartiba paces at; the rest is left to the
    # account's other apps and to network jitter (Zoom counts requests per second)
    rate_share: float = Field(0.9, gt=0, le=1)
    webhook_secret: SecretStr | None = None  # the app's "Secret Token" for event subscriptions
    webhook_bind: str = "127.0.0.1:8790"  # loopback by default; put a TLS proxy in front
    webhook_max_age_s: int = Field(300, gt=0, le=3600)  # older signed requests are rejected
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    #: the whole of one call (all its attempts, waits and the answer's last byte), seconds
    total_timeout: float = Field(300.0, gt=0)
    max_answer_mb: float = Field(50.0, gt=0)  # a larger answer fails that call
    ca_bundle: str | None = None  # extra CA bundle file; TLS verification is never disabled
    max_workers: int = Field(4, ge=1, le=32)  # instances fetched in parallel per meeting

    @field_validator("account_id", "client_id", "client_secret")
    @classmethod
    def _required_when_enabled(cls, value: str | SecretStr, info: ValidationInfo):
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if info.data.get("enabled") and not text.strip():
            raise ValueError(f"{info.field_name} is required when zoom is enabled")
        return value

    @field_validator("api_url", "oauth_url")
    @classmethod
    def _https_url(cls, value: str, info: ValidationInfo) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{info.field_name} must be an absolute http(s) URL")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError(f"{info.field_name} must use https (http only on loopback)")
        return value.rstrip("/")

    @field_validator("webhook_bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        if split_bind(value)[1] == 0:
            raise ValueError("webhook_bind needs a fixed port (Zoom posts to a fixed URL)")
        return value

    def missing(self) -> list[str]:
        """Names of the credentials that are empty (checked again when the source is built)."""
        out = [name for name in ("account_id", "client_id") if not getattr(self, name).strip()]
        if not self.client_secret.get_secret_value().strip():
            out.append("client_secret")
        return out
