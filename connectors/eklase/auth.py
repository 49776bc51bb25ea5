"""WS-Security UsernameToken for the journal gateway, built afresh for every HTTP attempt.

The gateway authenticates every SOAP request by the UsernameToken in its ``wsse:Security``
header; the authenticated account becomes the author of the marks it writes. A gateway that
remembers nonces refuses a token it has seen before, so the header is never reused: the
transport calls :meth:`SecurityHeader.sign` once per HTTP attempt, retries included.

Token shape (contract v1.1): ``Username``, ``Password`` (PasswordText, or PasswordDigest =
Base64(SHA-1(nonce + created + password))), ``Nonce`` (16 random bytes, Base64) and
``wsu:Created`` (UTC, whole seconds, ``Z`` form) in both modes; optionally a ``wsu:Timestamp``
(Created, Expires) for gateways whose WS-Security policy asks for one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from collections.abc import Callable

from lxml import etree

from connectors.eklase.settings import EklaseSettings
from connectors.errors import ConfigError

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = f"{_PROFILE}#PasswordText"
PASSWORD_DIGEST = f"{_PROFILE}#PasswordDigest"
BASE64_BINARY = ("http://docs.oasis-open.org/wss/2004/01/"
                 "oasis-200401-wss-soap-message-security-1.0#Base64Binary")
#: How long a wsu:Timestamp stays valid (the gateway's freshness window).
TIMESTAMP_TTL = dt.timedelta(minutes=5)

Clock = Callable[[], dt.datetime]


def utc_stamp(when: dt.datetime) -> str:
    """An instant as WS-Security wants it: UTC, whole seconds, ``Z`` form."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """PasswordDigest of the UsernameToken profile: Base64(SHA-1(nonce + created + password))."""
    raw = hashlib.sha1(nonce + created.encode() + password.encode())  # noqa: S324 - the profile
    return base64.b64encode(raw.digest()).decode("ascii")


def _child(parent: etree._Element, ns: str, name: str, text: str | None = None
           ) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}")
    element.text = text
    return element


class SecurityHeader:
    """Builds the ``wsse:Security`` header of one HTTP attempt.

    Args:
        settings: the account (username, password, digest or text, Timestamp or not).
        clock: the wall clock (UTC); tests pass a fixed or skewed one.
        nonce: where nonces come from (16 random bytes by default).

    Raises:
        ConfigError: the username or password is not set.
    """

    def __init__(self, settings: EklaseSettings, *, clock: Clock | None = None,
                 nonce: Callable[[], bytes] | None = None) -> None:
        if not settings.username:
            raise ConfigError("eklase: the gateway username is not set",
                              setting="eklase.username")
        self._password = settings.password.get_secret_value()
        if not self._password:
            raise ConfigError("eklase: the gateway password is not set",
                              setting="eklase.password")
        self.username = settings.username
        self.use_digest = settings.use_digest
        self.timestamp = settings.ws_timestamp
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._nonce = nonce or (lambda: os.urandom(16))

    def element(self) -> etree._Element:
        """A fresh ``wsse:Security`` element: new nonce, Created = now."""
        now = self._clock()
        created = utc_stamp(now)
        security = etree.Element(f"{{{WSSE}}}Security", nsmap={"wsse": WSSE, "wsu": WSU})
        if self.timestamp:
            stamp = _child(security, WSU, "Timestamp")
            _child(stamp, WSU, "Created", created)
            _child(stamp, WSU, "Expires", utc_stamp(now + TIMESTAMP_TTL))
        token = _child(security, WSSE, "UsernameToken")
        _child(token, WSSE, "Username", self.username)
        nonce = self._nonce()
        if self.use_digest:
            password = _child(token, WSSE, "Password",
                              password_digest(nonce, created, self._password))
            password.set("Type", PASSWORD_DIGEST)
        else:
            password = _child(token, WSSE, "Password", self._password)
            password.set("Type", PASSWORD_TEXT)
        _child(token, WSSE, "Nonce", base64.b64encode(nonce).decode("ascii")).set(
            "EncodingType", BASE64_BINARY)
        _child(token, WSU, "Created", created)
        return security

    def sign(self, envelope: bytes) -> bytes:
        """The envelope with its ``wsse:Security`` header replaced by a fresh one."""
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(envelope, parser=parser)
        header = root.find(f"{{{SOAP_ENV}}}Header")
        if header is None:
            header = etree.Element(f"{{{SOAP_ENV}}}Header")
            root.insert(0, header)
        for old in header.findall(f"{{{WSSE}}}Security"):
            header.remove(old)
        header.insert(0, self.element())
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def security_header(settings: EklaseSettings, *, clock: Clock | None = None) -> SecurityHeader:
    """The per-attempt WS-Security header builder of the configured account.

    Raises:
        ConfigError: when the username or password is not set.
    """
    return SecurityHeader(settings, clock=clock)
