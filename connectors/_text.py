"""Cleaning upstream text at the connector boundary: names and e-mail addresses.

Upstream records are typed by hand somewhere: a teacher's name may end in a newline, a group
name may carry CR/LF, an address may hold a Latvian letter or two addresses. Such values must
not reach a mail header (where CR/LF is an injection and a non-ASCII address needs SMTPUTF8)
or stop a run. Names are cleaned (control, format and separator characters become one space);
addresses are normalised or refused (empty string), never guessed.
"""

from __future__ import annotations

import re
import unicodedata

#: Unicode categories that are never part of a displayed name: controls (CR, LF, TAB, NUL),
#: format characters (zero-width, bidi overrides) and line/paragraph separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
#: Of those, the ones that separate words (become a space); format characters just go.
_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
#: What an address may not contain anywhere (whitespace, list and header punctuation).
_NOT_IN_ADDRESS = re.compile(r"[\s,;<>()\[\]\\\"]")
_LOCAL_ASCII = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$")


def clean_name(value: object) -> object:
    """A display name without control characters: line breaks, tabs and other controls
    become a space, invisible format characters (zero-width space, bidi marks) go, and runs
    of spaces collapse.

    A pydantic ``mode="before"`` validator: anything that is not a string passes unchanged
    (the field's own type check reports it).
    """
    if not isinstance(value, str):
        return value
    shown = "".join(_shown(ch) for ch in value)
    return " ".join(shown.split())


def _shown(ch: str) -> str:
    category = unicodedata.category(ch)
    if category in _BREAKING_CATEGORIES:
        return " "
    return "" if category in _INVISIBLE_CATEGORIES else ch


def _ascii_domain(domain: str) -> str | None:
    """The domain in its ASCII (IDNA) form, lower-cased; None when it is not a host name."""
    domain = domain.rstrip(".").lower()
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", label)
                                  for label in labels):
        return None
    return ascii_domain


def _local_ok(local: str) -> bool:
    if not local or len(local) > 64 or local.startswith(".") or local.endswith("."):
        return False
    if ".." in local:
        return False
    if local.isascii():
        return bool(_LOCAL_ASCII.match(local))
    # SMTPUTF8 (RFC 6531): letters and digits of any script, with the ASCII atext symbols
    return all(ch.isalnum() or _LOCAL_ASCII.match(ch) for ch in local)


def normalise_address(value: str) -> str | None:
    """One e-mail address in a sendable form, or None when it is not exactly one address.

    The domain is IDNA-encoded (``skola.lv``, ``xn--...``); a non-ASCII local part is kept
    (it needs a relay that offers SMTPUTF8; the mailer tells when it does not).

    Args:
        value: the address as the upstream gave it (surrounding spaces allowed).

    Returns:
        ``local@ascii-domain``, or None for a value with controls, spaces, a comma, two
        ``@``, no domain, or a domain that is not a host name.
    """
    text = unicodedata.normalize("NFC", value.strip())
    if not text or _NOT_IN_ADDRESS.search(text) or any(
            unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text):
        return None
    local, at, domain = text.rpartition("@")
    if not at or "@" in local or not _local_ok(local):
        return None
    ascii_domain = _ascii_domain(domain)
    return f"{local}@{ascii_domain}" if ascii_domain else None


def clean_address(value: object) -> object:
    """A pydantic ``mode="before"`` validator: a usable address, or "" (none usable).

    None and "" stay "" (no address). Use :func:`normalise_address` where the caller must
    tell an unusable address from a missing one.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return ""
    return normalise_address(value) or ""
