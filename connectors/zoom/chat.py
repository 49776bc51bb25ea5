"""Parser of the meeting chat file of a Zoom cloud recording (``file_type`` ``"CHAT"``).

Each message starts a line ``HH:MM:SS<TAB>Sender Name:<TAB>message``; the time is the offset
from the recording's ``recording_start``. Older files write ``HH:MM:SS<TAB> From  Name : msg``
or ``... From Name to Everyone: msg``; both are read. The parser tolerates a UTF-8 BOM, CRLF
or CR line ends, tabs inside a message, and messages spanning several lines (a line that
does not start with a time continues the previous message). Lines before the first message
that are not messages are reported and skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from connectors.errors import RecordError
from mappings.model import ChatLine

log = logging.getLogger("kartiba.zoom")

_LINE_END = re.compile(r"\r\n|\r|\n")
_STAMP = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)[\t ]+(.*)$")
_LEGACY = re.compile(r"^From\s+(?P<name>.+?)(?:\s+to\s+(?P<to>[^:]+?))?\s*:\s?(?P<text>.*)$")


def _sender_and_text(rest: str) -> tuple[str, str] | None:
    """Split what follows the time into (sender, message); None when it is not a message."""
    if rest.startswith("From ") or rest.startswith("From\t"):
        match = _LEGACY.match(rest)
        if match:
            return match.group("name").strip(), match.group("text").strip()
    name, sep, text = rest.partition(":\t")
    if sep:
        return name.strip(), text.strip()
    if rest.endswith(":"):  # a message with no text
        return rest[:-1].strip(), ""
    name, sep, text = rest.partition(": ")
    if sep and name.strip():
        return name.strip(), text.strip()
    return None


def parse_chat(content: bytes | str, recording_start: dt.datetime, *,
               source: str = "chat") -> tuple[tuple[ChatLine, ...], list[RecordError]]:
    """Chat lines with absolute aware times, and the lines that could not be read.

    Args:
        content: the file as downloaded (bytes are decoded as UTF-8, BOM removed).
        recording_start: the recording's start (aware): the offsets count from it.
        source: a name for reports (e.g. the instance uuid), never personal data.

    Raises:
        ValueError: when ``recording_start`` is naive.
    """
    if recording_start.tzinfo is None:
        raise ValueError("recording_start must be timezone-aware")
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    text = text.removeprefix("\ufeff")
    lines: list[list] = []  # [at, name, [text parts]]
    errors: list[RecordError] = []
    for number, raw in enumerate(_LINE_END.split(text), start=1):
        stamp = _STAMP.match(raw)
        parts = _sender_and_text(stamp.group(4)) if stamp else None
        if stamp and parts:
            hours, minutes, seconds = (int(stamp.group(i)) for i in (1, 2, 3))
            at = recording_start + dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
            lines.append([at, parts[0], [parts[1]]])
        elif lines:
            lines[-1][2].append(raw)  # continuation of a multi-line message
        elif raw.strip():
            errors.append(RecordError(f"zoom: unreadable chat line skipped ({source} line "
                                      f"{number})", system="zoom", record=f"{source}:{number}"))
    for error in errors:
        log.warning("%s", error.message)
    chat = tuple(ChatLine(at=at, name=name, text="\n".join(parts).strip())
                 for at, name, parts in lines)
    return chat, errors
