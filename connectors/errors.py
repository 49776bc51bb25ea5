"""One error hierarchy for every connector.

Each error carries a user-facing message (safe to print and log: ids only, no secrets, no
personal data) separate from its internal detail, like Airbyte's CDK does.
"""

from __future__ import annotations


class KartibaError(Exception):
    """Base of every error kartiba raises on purpose.

    Args:
        message: user-facing text, already scrubbed of secrets and personal data.
        detail: internal detail for debugging (also scrubbed, never shown by default).
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class ConfigError(KartibaError):
    """Settings or credentials are wrong: fix the configuration, retrying will not help."""

    def __init__(self, message: str, *, setting: str = "", detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.setting = setting


class UpstreamError(KartibaError):
    """An upstream system answered with an error or not at all."""

    def __init__(
        self, message: str, *, upstream: str = "", status: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(message, detail=detail)
        self.upstream = upstream
        self.status = status


class AuthError(UpstreamError):
    """Credentials were refused (after one token renewal)."""


class PermissionDeniedError(UpstreamError):
    """Authenticated, but the account lacks a scope or capability."""


class RateLimitedError(UpstreamError):
    """Rate limit hit and the wait the upstream asked for is too long to wait now."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class TransientError(UpstreamError):
    """A retryable failure (5xx, reset, timeout) that persisted through all retries."""


class NotFoundError(UpstreamError):
    """The upstream has no such object (meeting, activity...)."""


class NotReadyError(UpstreamError):
    """The data is not available yet (e.g. Zoom error 3001: meeting not ended): try later."""


class ProtocolError(UpstreamError):
    """The upstream answered something that does not follow its documented shape."""


class RecordError(KartibaError):
    """One malformed record or import row; reported with system and id/line, the rest goes on."""

    def __init__(self, message: str, *, system: str, record: str, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.system = system
        self.record = record


class ContractError(RecordError):
    """A record the journal gateway answered against its contract (e.g. a lesson time without
    its UTC offset, an unknown lessonType label): an error of the gateway, not of the data.
    The record is skipped like any :class:`RecordError`, but the work it carries is left
    undone, so the run reports it and exits non-zero until the gateway (or the label table)
    is fixed."""
