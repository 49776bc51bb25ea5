"""WS-Security UsernameToken for the journal gateway.

The gateway authenticates every SOAP request by the UsernameToken in its ``wsse:Security``
header; the authenticated account becomes the author of the marks it writes.
"""

from __future__ import annotations

from zeep.wsse.username import UsernameToken

from connectors.eklase.settings import EklaseSettings
from connectors.errors import ConfigError


def username_token(settings: EklaseSettings) -> UsernameToken:
    """The zeep WS-Security plugin for the configured account.

    Raises:
        ConfigError: when the username or password is not set.
    """
    if not settings.username:
        raise ConfigError("eklase: the gateway username is not set", setting="eklase.username")
    password = settings.password.get_secret_value()
    if not password:
        raise ConfigError("eklase: the gateway password is not set", setting="eklase.password")
    return UsernameToken(settings.username, password, use_digest=settings.use_digest)
