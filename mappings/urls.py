"""URL text helpers for the rules: split, percent-encode and decode, read a query.

Pure string functions (RFC 3986 shapes) so that `mappings` needs no networking module; they
behave like the standard library's ``urlsplit``/``quote``/``unquote``/``parse_qs`` for the
links teachers paste into UZDOTS (tests compare them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_SPLIT: Final = re.compile(
    r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):)?"
    r"(?://(?P<netloc>[^/?#]*))?(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?$",
    re.DOTALL,
)
_ESCAPES: Final = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_ALWAYS_SAFE: Final = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


@dataclass(frozen=True, slots=True)
class UrlParts:
    """The five parts of a URL, as written (nothing decoded)."""

    scheme: str
    netloc: str
    path: str
    query: str
    fragment: str

    @property
    def _hostport(self) -> str:
        return self.netloc.rpartition("@")[2]

    @property
    def hostname(self) -> str | None:
        """The host, lowercased (brackets of an IPv6 literal removed); None when empty."""
        hostport = self._hostport
        if hostport.startswith("["):
            host = hostport[1:hostport.find("]")] if "]" in hostport else hostport[1:]
        else:
            host = hostport.partition(":")[0]
        return host.lower() or None

    @property
    def port(self) -> int | None:
        """The port number, None when absent.

        Raises:
            ValueError: a port that is not a number from 0 to 65535.
        """
        hostport = self._hostport
        if hostport.startswith("["):
            hostport = hostport[hostport.find("]") + 1:] if "]" in hostport else ""
        _, colon, port = hostport.partition(":")
        if not colon or port == "":
            return None
        if not (port.isascii() and port.isdigit()) or int(port) > 65535:
            raise ValueError(f"port could not be read: {port!r}")
        return int(port)


def split(url: str) -> UrlParts:
    """Split a URL into scheme, netloc, path, query and fragment (like ``urlsplit``)."""
    found = _SPLIT.match(url)
    if found is None:  # pragma: no cover - the pattern matches any string
        raise ValueError("not a URL")
    scheme = (found.group("scheme") or "").lower()
    return UrlParts(scheme, found.group("netloc") or "", found.group("path") or "",
                    found.group("query") or "", found.group("fragment") or "")


def unquote(text: str) -> str:
    """Decode %XX escapes as UTF-8 (invalid sequences become U+FFFD, like ``unquote``)."""
    return _ESCAPES.sub(lambda m: bytes.fromhex(m.group(0).replace("%", "")).decode(
        "utf-8", errors="replace"), text)


def quote(text: str, safe: str = "/") -> str:
    """Percent-encode everything but unreserved characters and ``safe`` (like ``quote``)."""
    keep = _ALWAYS_SAFE | frozenset(safe.encode("ascii", errors="ignore"))
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode("utf-8"))


def query_values(query: str) -> dict[str, list[str]]:
    """Values by name of a query string; blank values left out (like ``parse_qs``)."""
    out: dict[str, list[str]] = {}
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        if not equals or not value:
            continue
        out.setdefault(unquote(name.replace("+", " ")), []).append(
            unquote(value.replace("+", " ")))
    return out
