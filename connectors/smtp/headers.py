"""Address headers and the words every kartiba e-mail shares (alerts, digests, worklists).

Address headers are built from :class:`email.headerregistry.Address` objects, never from
text pasted together, so a display name such as ``x <attacker@evil.example> Liepiņš`` stays
a quoted display name and cannot add or replace an address. A recipient field must hold
exactly one plain address (:func:`single_address`); anything else (two addresses, a comma,
an empty field, control characters) is refused and the caller decides where the message
goes instead.
"""

from __future__ import annotations

import datetime as dt
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from connectors._text import clean_name as text_clean_name
from connectors._text import normalise_address

RIGA = ZoneInfo("Europe/Riga")

#: How the sender is named in From: the product name alone would read as a misspelling of
#: "kārtība" in a Latvian sentence.
SENDER_NAME = {"lv": "kārtības automātika (kartiba)", "en": "remote-learning automation (kartiba)"}

_LABEL_CHARS = re.compile(r"[A-Za-z0-9.-]+")


def single_address(text: str | None) -> str | None:
    """The one plain ASCII address a recipient field holds, or None when it holds anything else.

    Accepted: ``local@domain.tld`` with surrounding blanks. Refused: empty text, more than one
    address (``a@x.lv, b@y.lv``), display names or angle brackets, control characters, a
    domain without a dot, non-ASCII characters (no SMTPUTF8 is assumed of the relay; the
    e-klase boundary already gives an internationalised domain in its IDNA form). The rules
    are :func:`connectors._text.normalise_address`'s.

    Args:
        text: the address field as the school data has it.
    """
    value = (text or "").strip()
    return normalise_address(value) if value.isascii() else None


def clean_name(name: str | None) -> str:
    """A display name without control characters (CR/LF would fold or forge headers)."""
    return text_clean_name(name or "")


def address(name: str | None, addr: str) -> Address:
    """One header address: ``name`` is only ever a display name, ``addr`` must be plain.

    Raises:
        ValueError: ``addr`` is not exactly one plain address.
    """
    plain = single_address(addr)
    if plain is None:
        raise ValueError("not exactly one plain e-mail address")
    local, domain = plain.split("@")
    return Address(display_name=clean_name(name), username=local, domain=domain)


def sender_address(sender: str, lang: str = "lv") -> Address:
    """The From address: the configured sender (validated by the settings) under kartiba's
    display name."""
    return Address(display_name=SENDER_NAME.get(lang, SENDER_NAME["lv"]),
                   addr_spec=sender.strip())


def set_common_headers(msg: EmailMessage, *, sender: str, to: Address, subject: str,
                       message_id: str, now: dt.datetime | None, lang: str) -> None:
    """From, To, Subject, Date, Message-ID, Auto-Submitted and Content-Language of a message.

    Args:
        msg: a message without these headers yet.
        sender: the configured sender address.
        to: the recipient (see :func:`address`).
        subject: the subject line.
        message_id: ``<...@...>``, deterministic per content so a resend is recognised.
        now: the run's instant (Date, in Riga time); None leaves Date to the mail server.
        lang: ``lv`` or ``en``.
    """
    msg["From"] = sender_address(sender, lang)
    msg["To"] = to
    msg["Subject"] = clean_name(subject)
    if now is not None:
        msg["Date"] = format_datetime(now.astimezone(RIGA))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = lang


def plural_lv(n: int, one: str, many: str) -> str:
    """Latvian noun agreement: 1, 21, 31... take the singular (11, 111... do not)."""
    return one if n % 10 == 1 and n % 100 != 11 else many


def domain_of(sender: str) -> str:
    """The sender's domain for Message-IDs (``kartiba.invalid`` when it has none usable)."""
    domain = sender.rpartition("@")[2].strip()
    return domain if _LABEL_CHARS.fullmatch(domain) else "kartiba.invalid"
