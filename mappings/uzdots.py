"""Reading the e-klase "UZDOTS" entry (kārtība p. 16; docs/KARTIBA.md).

Point 16 asks the teacher to say, in the UZDOTS diary entry, when the online lesson happens
and its link, when the work is due, and the assessment criteria. This module reads those
out of the free text teachers write:

* meeting links: Zoom (any ``*.zoom.us`` host, ``/j/``, ``/w/``, ids typed with spaces after
  "Meeting ID"/"Sapulces ID"/"ID:"), Microsoft Teams ``meetup-join`` links, Google Meet codes;
* activity links: Moodle (skolo.lv or any host, ``/mod/<name>/view.php?id=N``), uzdevumi.lv,
  soma.lv;
* the due date/time in the Latvian forms teachers use ("Termiņš: 30.11.2026 17:00",
  "līdz 30.11. plkst. 17.00", "iesniegt līdz 2026-11-30", "līdz 5. decembrim", ...);
* whether assessment criteria are given (an attachment, or a word such as "kritēriji").

The text is untrusted: every regular expression is linear (possessive quantifiers, bounded
repeats, starts pinned by look-behinds), so a megabyte of odd Unicode is read in well under
a second and never raises.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, parse_qs, quote, unquote, urlsplit

from mappings.calendar import local
from mappings.model import ActivityRef, MeetingRef, UzdotsInfo
from mappings.policy import Policy

#: Time of a due date written without a time ("Termiņš: 01.12.2026.").
DATE_ONLY_TIME: Final = dt.time(23, 59)

# --------------------------------------------------------------------------- text clean-up

_INVISIBLE: Final = dict.fromkeys(
    map(
        ord,
        "\u00ad\u034f\u061c\u115f\u1160\u180e\u200b\u200c\u200d\u200e\u200f"
        "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064"
        "\u2066\u2067\u2068\u2069\ufeff",
    ),
    None,
)
_WHITESPACE: Final = re.compile(r"\s++")
_COMBINING: Final = re.compile(r"[\u0300-\u036f]++")


def clean_text(text: str) -> str:
    """HTML entities decoded, NFC, invisible/bidi characters removed, whitespace collapsed."""
    text = unicodedata.normalize("NFC", html.unescape(text)).translate(_INVISIBLE)
    return _WHITESPACE.sub(" ", text).strip()


def fold_text(text: str) -> str:
    """Casefolded text with diacritics removed ("Kritēriji" → "kriteriji")."""
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()


# --------------------------------------------------------------------------- URLs

#: A URL with or without scheme: host, then a path. The look-behind pins every start to a
#: token boundary, so runs of letters/dots are scanned once (linear time).
_URL: Final = re.compile(
    r"(?<![\w.@/\-])(?:https?://)?[a-z0-9][a-z0-9.\-]*+(?::\d{1,5})?/[^\s<>\"'`{}|\\^\[\]]*+",
    re.IGNORECASE,
)
_TRAILING: Final = ".,;:!?'\"»”’“…*_>"
_PATH_SAFE: Final = "/!$&'()*+,;=:@-._~"
_QUERY_SAFE: Final = "/?!$&'()*+,;=:@-._~"
_SCHEME: Final = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)


def _strip_trailing(url: str) -> str:
    while url:
        last = url[-1]
        unbalanced = last == ")" and url.count("(") < url.count(")")
        if last in _TRAILING or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _with_scheme(url: str) -> str:
    return url if _SCHEME.match(url) else "https://" + url


def _host_of(parts: SplitResult) -> str:
    host = (parts.hostname or "").lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _on(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def normalise_url(url: str) -> str:
    """One spelling of a link, for matching import rows to UZDOTS links.

    https scheme; lowercase host without ``www.``; default port dropped; percent-encoding
    made uniform; no trailing slash or punctuation; no fragment. Idempotent.

    >>> normalise_url("http://WWW.Uzdevumi.lv/p/matematika/12/#top")
    'https://uzdevumi.lv/p/matematika/12'

    Raises:
        ValueError: ``url`` has no host.
    """
    text = _strip_trailing(clean_text(url))
    parts = urlsplit(_with_scheme(text))
    host = _host_of(parts)
    if not host or " " in host:
        raise ValueError("not a URL: no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("not a URL: bad port") from exc
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE).rstrip("/")
    query = quote(unquote(parts.query), safe=_QUERY_SAFE)
    result = f"https://{netloc}{path}" + (f"?{query}" if query else "")
    while True:  # "…/p/:/" → "…/p": trailing slashes and punctuation, until none is left
        shorter = _strip_trailing(result).rstrip("/")
        if shorter == result:
            return result
        result = shorter


_ZOOM_PATH: Final = re.compile(r"/(?:j|w|s|wc/join|wc)/(\d{9,11})(?:/|$)", re.IGNORECASE)
_MEET_PATH: Final = re.compile(r"/([a-z]{3})-?([a-z]{4})-?([a-z]{3})/?$", re.IGNORECASE)
_MOODLE_PATH: Final = re.compile(r"^(.*?)/mod/([a-z][a-z0-9_]*)/view\.php$", re.IGNORECASE)
_TEAMS_PATHS: Final = ("/l/meetup-join/", "/meet/")


def _zoom(url: str, parts: SplitResult, host: str) -> MeetingRef | None:
    if not (_on(host, "zoom.us") or _on(host, "zoom.com")):
        return None
    found = _ZOOM_PATH.match(parts.path)
    if found is None:
        return None
    # The query (``pwd=``) is a passcode: kept out of the ref so it never reaches a log.
    return MeetingRef("zoom", found.group(1), f"https://{host}{parts.path}")


def _teams(url: str, parts: SplitResult, host: str) -> MeetingRef | None:
    if not (_on(host, "teams.microsoft.com") or _on(host, "teams.live.com")):
        return None
    if not parts.path.lower().startswith(_TEAMS_PATHS):
        return None
    key = unquote(f"https://{host}{parts.path}" + (f"?{parts.query}" if parts.query else ""))
    return MeetingRef("teams", key, url)


def _meet(url: str, parts: SplitResult, host: str) -> MeetingRef | None:
    if host != "meet.google.com":
        return None
    found = _MEET_PATH.match(parts.path)
    if found is None:
        return None
    code = "-".join(found.groups()).lower()
    return MeetingRef("meet", code, f"https://meet.google.com/{code}")


def _activity(url: str, parts: SplitResult, host: str) -> ActivityRef | None:
    for domain, platform in (("uzdevumi.lv", "uzdevumi"), ("soma.lv", "soma")):
        if _on(host, domain):
            if parts.path.strip("/") == "":
                return None  # the home page is not a task
            return ActivityRef(platform, normalise_url(url))
    found = _MOODLE_PATH.match(parts.path)
    if found is None:
        return None
    ids = parse_qs(parts.query).get("id", [])
    if not ids or not ids[0].isdigit() or not ids[0].isascii():
        return None
    cmid = int(ids[0])
    prefix, modname = found.group(1), found.group(2).lower()
    canonical = f"https://{host}{prefix}/mod/{modname}/view.php?id={cmid}"
    return ActivityRef("moodle", canonical, kind=modname, cmid=cmid)


@dataclass(frozen=True)
class _Link:
    url: str
    parts: SplitResult
    host: str


def _links(text: str) -> Iterable[_Link]:
    """Every URL-like token of a cleaned text, scheme ensured, trailing punctuation cut."""
    for found in _URL.finditer(text):
        url = _strip_trailing(found.group(0))
        end = found.start() + len(url)
        if url.lower().endswith("context=") and text.startswith("{", end):
            # A Teams link pasted decoded: ...?context={"Tid":"...","Oid":"..."}
            close = text.find("}", end, end + 500)
            if close != -1:
                url = text[found.start() : close + 1]
        url = _with_scheme(url)
        try:
            parts = urlsplit(url)
            host = _host_of(parts)
        except ValueError:
            continue
        if "." in host:
            yield _Link(url, parts, host)


# --------------------------------------------------------------------------- meetings

#: A Zoom meeting id typed as digits (often in groups) after a label.
_ZOOM_ID: Final = re.compile(
    r"(?<!\w)(?:meeting id|sapulces id|konferences id|zoom id|zoom|id)"
    r" ?(?:nr\.?)? ?[:.\-–—]? ?(\d{3})[ \-]?(\d{3,4})[ \-]?(\d{3,4})(?![\d\w])",
    re.IGNORECASE,
)


def _unique(items: Iterable, key) -> tuple:
    seen: dict = {}
    for item in items:
        seen.setdefault(key(item), item)
    return tuple(seen.values())


def _find_meetings(cleaned: str) -> tuple[MeetingRef, ...]:
    refs: list[MeetingRef] = []
    for link in _links(cleaned):
        for reader in (_zoom, _teams, _meet):
            ref = reader(link.url, link.parts, link.host)
            if ref is not None:
                refs.append(ref)
                break
    for found in _ZOOM_ID.finditer(cleaned):
        digits = "".join(found.groups())
        refs.append(MeetingRef("zoom", digits, f"https://zoom.us/j/{digits}"))
    return _unique(refs, key=lambda r: (r.platform, r.key))


def find_meetings(text: str) -> tuple[MeetingRef, ...]:
    """Synchronous meeting links in a UZDOTS text, in order of appearance, deduplicated.

    Keys: Zoom = the meeting id digits; Teams = the join URL, URL-decoded; Meet = the code
    ``abc-defg-hij`` in lowercase.
    """
    return _find_meetings(clean_text(text))


def _find_activities(cleaned: str) -> tuple[ActivityRef, ...]:
    refs = []
    for link in _links(cleaned):
        try:
            ref = _activity(link.url, link.parts, link.host)
        except ValueError:
            continue
        if ref is not None:
            refs.append(ref)
    return _unique(refs, key=lambda r: (r.platform, r.url))


def find_activities(text: str) -> tuple[ActivityRef, ...]:
    """Asynchronous activity links (Moodle, uzdevumi.lv, soma.lv), deduplicated.

    Moodle: any host whose path ends ``/mod/<modname>/view.php?id=N`` (kind = modname,
    cmid = N, url canonical). uzdevumi.lv / soma.lv: ``normalise_url`` of the link.
    """
    return _find_activities(clean_text(text))


# --------------------------------------------------------------------------- criteria


def has_criteria(
    text: str, attachments: Sequence[str] = (), words: Iterable[str] = ("kritērij", "vērtēšan")
) -> bool:
    """Whether the UZDOTS gives assessment criteria (kārtība p. 16).

    True when there is any attachment, or the text contains one of the word stems
    (case and diacritics ignored: "Kritēriji", "VĒRTĒŠANAS", "kriteriji", "vertesanas").
    """
    if any(name.strip() for name in attachments):
        return True
    folded = fold_text(clean_text(text))
    return any(stem and stem in folded for stem in (fold_text(w.strip()) for w in words))


# --------------------------------------------------------------------------- due date

_TAG: Final = re.compile(r"<[^<>]{0,2000}+>")

#: Tokens of dates and times in folded text (lowercase, no diacritics), left to right.
_DUE_TOKENS: Final = re.compile(
    r"""
    (?P<clock>\b(?:plkst|pulksten|pl)\b\.?\ ?(?P<ch>\d{1,2})(?:[:.](?P<cm>\d{2}))?(?!\d))
  | (?P<iso>(?<![\d.])(?P<iy>\d{4})-(?P<imo>\d{1,2})-(?P<id>\d{1,2})(?!\d)
        (?:[t\ ](?P<ih>\d{1,2}):(?P<imi>\d{2})(?!\d))?)
  | (?P<named>(?<![\d.])(?:(?P<ny>\d{4})\.?\ ?(?:g\.|gada)\ ?)?(?P<nd>\d{1,2})\.\ ?
        (?P<nmo>janvar|februar|mart|april|maij|junij|julij|august|septembr|oktobr|novembr
            |decembr|(?:janv|febr|apr|aug|sept|sep|okt|nov|dec)(?=\.))[a-z]{0,8}+)
  | (?P<num>(?<![\d.:])(?P<a>\d{1,2})[./](?P<b>\d{1,2})
        (?:[./](?:(?P<y4>\d{4})|(?P<y2>\d{2})(?![\d:]))\.?|\.)?(?!\d))
  | (?P<hm>(?<![\d.:])(?P<hh>\d{1,2}):(?P<hmi>\d{2})(?!\d))
  | (?P<today>\bsodien[a-z]{0,6}+)
  | (?P<wday>\b(?P<wd>pirmd|otrd|tresd|ceturtd|piektd|sestd|svetd)(?:ien[a-z]{0,5}+|\.))
    """,
    re.VERBOSE,
)

#: Month by the first three letters of its (folded) name.
_MONTHS: Final = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "mai": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "okt": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_WEEKDAYS: Final = ("pirmd", "otrd", "tresd", "ceturtd", "piektd", "sestd", "svetd")

#: Words that mark a date as the due date ("Termiņš", "līdz", "iesniegt", "jānodod" ...).
_LABEL: Final = re.compile(r"termin|lidz|iesnie|nodot|nodod|nodos|deadline|\bdue\b|until")
#: Labels strong enough to make a time without a date the due time (of the lesson day).
_STRONG_LABEL: Final = re.compile(r"termin|iesnie|nodot|nodod|nodos|deadline|\bdue\b")
#: A sentence break followed by more words: the label window starts after the last one.
_SENTENCE_BREAK: Final = re.compile(r"[.!?;] (?=[a-z])")
#: What may stand between a date and its time ("30.11.2026. g., plkst. 17:00", "30.11. līdz 17").
_DATE_TIME_GAP: Final = re.compile(r"[ ,]*+(?:g\.|gada)?[ ,]*+(?:lidz|-|–)?[ ,]*+")
_LABEL_WINDOW: Final = 40
_TIME_KINDS: Final = frozenset({"clock", "hm"})
_DATE_KINDS: Final = frozenset({"iso", "named", "num", "today", "wday"})


@dataclass(frozen=True)
class _Token:
    kind: str
    start: int
    end: int
    groups: re.Match[str]  # read by group name: ``token.groups["a"]``


def _tokens(folded: str) -> list[_Token]:
    tokens = []
    for found in _DUE_TOKENS.finditer(folded):
        kind = found.lastgroup or ""
        tokens.append(_Token(kind, found.start(), found.end(), found))
    return tokens


def _as_time(hour: str | None, minute: str | None) -> tuple[int, int] | None:
    if hour is None:
        return None
    h, m = int(hour), int(minute or 0)
    if m > 59 or h > 24 or (h == 24 and m):
        return None
    return h, m


def _token_time(token: _Token) -> tuple[int, int] | None:
    g = token.groups
    if token.kind == "clock":
        return _as_time(g["ch"], g["cm"])
    if token.kind == "hm":
        return _as_time(g["hh"], g["hmi"])
    return None


def _time_after_date(folded: str, date: _Token, token: _Token) -> tuple[int, int] | None:
    """The time written right after a date: "plkst. 17:00", "17:00", or "17.00"."""
    if not _gap_ok(folded, date, token):
        return None
    if token.kind in _TIME_KINDS:
        return _token_time(token)
    g = token.groups
    if token.kind != "num" or g["y4"] or g["y2"] or len(g["b"]) != 2:
        return None
    if folded[token.end - 1] == ".":
        return None  # "04.12." is a date
    month = int(g["b"])
    gap = folded[date.end : token.start]
    bare_gap = gap.strip(" ,") == ""
    # "17.00" cannot be a date; "10.10" is a time only right after a date with a year.
    if not 1 <= month <= 12 or (bare_gap and _has_year(date)):
        return _as_time(g["a"], g["b"])
    return None


def _has_year(token: _Token) -> bool:
    g = token.groups
    return bool(g["iy"] or g["ny"] or g["y4"] or g["y2"])


def _nearest_year(day: int, month: int, lesson_day: dt.date) -> dt.date | None:
    """The date day.month nearest the lesson day, preferring dates after it."""
    best: tuple[int, dt.date] | None = None
    for year in (lesson_day.year - 1, lesson_day.year, lesson_day.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        delta = (candidate - lesson_day).days
        cost = delta if delta >= 0 else -2 * delta
        if best is None or cost < best[0]:
            best = (cost, candidate)
    return best[1] if best else None


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _token_date(token: _Token, lesson_day: dt.date) -> tuple[dt.date | None, bool]:
    """(date, has_explicit_year) of a date token; date None when not a valid date."""
    g = token.groups
    if token.kind == "iso":
        return _safe_date(int(g["iy"]), int(g["imo"]), int(g["id"])), True
    if token.kind == "named":
        day, month = int(g["nd"]), _MONTHS[g["nmo"][:3]]
        if g["ny"]:
            return _safe_date(int(g["ny"]), month, day), True
        return _nearest_year(day, month, lesson_day), False
    if token.kind == "num":
        day, month = int(g["a"]), int(g["b"])
        if g["y4"]:
            return _safe_date(int(g["y4"]), month, day), True
        if g["y2"]:
            return _safe_date(2000 + int(g["y2"]), month, day), True
        if not 1 <= month <= 12:
            return None, False
        return _nearest_year(day, month, lesson_day), False
    if token.kind == "today":
        return lesson_day, False
    if token.kind == "wday":
        weekday = _WEEKDAYS.index(g["wd"])
        ahead = (weekday - lesson_day.weekday() - 1) % 7 + 1  # strictly after the lesson day
        return lesson_day + dt.timedelta(days=ahead), False
    return None, False


def _window(folded: str, floor: int, start: int) -> str:
    """The text before a token in which a label counts: same sentence, ≤ 40 characters."""
    window = folded[max(floor, start - _LABEL_WINDOW) : start]
    breaks = list(_SENTENCE_BREAK.finditer(window))
    return window[breaks[-1].end() :] if breaks else window


def _gap_ok(folded: str, left: _Token, right: _Token) -> bool:
    gap = folded[left.end : right.start]
    return len(gap) <= 20 and _DATE_TIME_GAP.fullmatch(gap) is not None


@dataclass(frozen=True)
class _Candidate:
    at: dt.datetime
    labelled: bool


def _instant(day: dt.date, hm: tuple[int, int] | None, date_only_time: dt.time) -> dt.datetime:
    if hm is None:
        return local(day, date_only_time)
    if hm[0] == 24:
        return local(day + dt.timedelta(days=1), dt.time(0, 0))
    return local(day, dt.time(*hm))


def _candidates(folded: str, lesson_day: dt.date, date_only_time: dt.time) -> list[_Candidate]:
    tokens = _tokens(folded)
    out: list[_Candidate] = []
    floor = 0  # end of the previous date/time group: labels before it belong to it
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            token.kind in _TIME_KINDS
            and nxt
            and nxt.kind in _DATE_KINDS
            and _gap_ok(folded, token, nxt)
        ):
            # "plkst. 17:00, 30.11.": the time comes first.
            day, has_year = _token_date(nxt, lesson_day)
            if day is not None:
                labelled = _LABEL.search(_window(folded, floor, token.start)) is not None
                out.append(_Candidate(_instant(day, _token_time(token), date_only_time), labelled))
                floor, i = nxt.end, i + 2
                continue
        if token.kind in _DATE_KINDS:
            day, has_year = _token_date(token, lesson_day)
            if day is not None:
                if (
                    token.kind == "wday"
                    and nxt
                    and nxt.kind in _DATE_KINDS
                    and _gap_ok(folded, token, nxt)
                ):
                    i += 1  # "piektdien, 04.12.": the explicit date decides
                    continue
                labelled = _LABEL.search(_window(folded, floor, token.start)) is not None
                hm = None
                end, step = token.end, 1
                if token.kind == "iso" and token.groups["ih"] is not None:
                    hm = _as_time(token.groups["ih"], token.groups["imi"])
                elif nxt and (after := _time_after_date(folded, token, nxt)) is not None:
                    hm, end, step = after, nxt.end, 2
                relative = not has_year and token.kind in ("num", "named")
                needs_label = token.kind in ("today", "wday") or (relative and hm is None)
                if labelled or not needs_label:
                    out.append(_Candidate(_instant(day, hm, date_only_time), labelled))
                floor, i = end, i + step
                continue
        if token.kind in _TIME_KINDS:
            hm = _token_time(token)
            window = _window(folded, floor, token.start)
            prev = tokens[i - 1] if i else None
            is_range = (
                prev is not None
                and prev.kind in _TIME_KINDS
                and folded[prev.end : token.start].strip() in ("lidz", "-", "–")
            )
            strong = _STRONG_LABEL.search(window) is not None or (
                token.kind == "clock" and window.rstrip().endswith("lidz")
            )
            if hm is not None and strong and not is_range:
                out.append(_Candidate(_instant(lesson_day, hm, date_only_time), True))
            floor = token.end
        i += 1
    return out


def _due_text(cleaned: str) -> str:
    """Folded text with links and HTML tags blanked out (dates inside URLs are not dues)."""
    return fold_text(_TAG.sub(" ", _URL.sub(" ", cleaned)))


def _find_due(cleaned: str, lesson_day: dt.date, date_only_time: dt.time) -> dt.datetime | None:
    candidates = _candidates(_due_text(cleaned), lesson_day, date_only_time)
    # A date before the lesson day or a year after it is a reference, not this lesson's due.
    latest_day = lesson_day + dt.timedelta(days=366)
    usable = [c for c in candidates if lesson_day <= c.at.date() <= latest_day]
    labelled = [c for c in usable if c.labelled]
    chosen = labelled or usable
    return max(c.at for c in chosen) if chosen else None


def find_due(
    text: str, lesson_day: dt.date, *, date_only_time: dt.time = DATE_ONLY_TIME
) -> dt.datetime | None:
    """The due date/time a UZDOTS text gives, as an aware Riga datetime (kārtība p. 16, 35).

    Reads "Termiņš: 30.11.2026 17:00", "līdz 30.11. plkst. 17:00", "Termiņš: 01.12.2026."
    (date only ⇒ ``date_only_time``, 23:59), "iesniegt līdz 2026-11-30 17:00",
    "līdz 30.11.2026. plkst. 17.00", "līdz 5. decembrim", "līdz piektdienai" (the first such
    weekday after the lesson day), "līdz šodienas 17:00" (the lesson day) and a bare
    "Termiņš: plkst. 15:00" (the lesson day).

    A date without a year takes the year nearest the lesson day (after it preferred): a
    December lesson's "līdz 05.01." is next January. A date without a year and without a
    time counts only when labelled ("līdz", "Termiņš", "iesniegt"). Of several dates the
    labelled ones win, and of those the latest; dates before the lesson day are references
    and ignored.

    Returns:
        The due instant, or None when the text gives none.
    """
    return _find_due(clean_text(text), lesson_day, date_only_time)


# --------------------------------------------------------------------------- all at once


def parse_uzdots(
    text: str,
    lesson_day: dt.date,
    attachments: Sequence[str] = (),
    criteria_words: Iterable[str] = Policy().criteria_words,
    *,
    date_only_time: dt.time = DATE_ONLY_TIME,
) -> UzdotsInfo:
    """Everything the rules need from one UZDOTS entry (kārtība p. 16).

    Args:
        text: the entry's text (plain or HTML).
        lesson_day: the day of the lesson the entry belongs to (for years and weekdays).
        attachments: file names attached to the entry.
        criteria_words: word stems that show assessment criteria (policy ``criteria_words``).
        date_only_time: time of a due date written without one.

    Returns:
        ``UzdotsInfo`` with meetings, activities, due (aware, Riga, or None) and has_criteria.
    """
    cleaned = clean_text(text or "")
    return UzdotsInfo(
        meetings=_find_meetings(cleaned),
        activities=_find_activities(cleaned),
        due=_find_due(cleaned, lesson_day, date_only_time),
        has_criteria=has_criteria(cleaned, attachments, criteria_words),
    )
