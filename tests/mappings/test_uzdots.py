"""Reading UZDOTS entries (kārtība p. 16: link, due date, criteria; p. 35: due time)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.model import ActivityRef, MeetingRef
from mappings.uzdots import (
    clean_text,
    find_activities,
    find_due,
    find_meetings,
    has_criteria,
    normalise_url,
    parse_uzdots,
)

D = dt.date
EET = dt.timezone(dt.timedelta(hours=2))  # Riga winter time
EEST = dt.timezone(dt.timedelta(hours=3))  # Riga summer time
MON = D(2026, 11, 30)  # a Monday
DEC = D(2026, 12, 21)


def riga(y: int, mo: int, d: int, h: int = 23, mi: int = 59, tz=EET) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=tz)


def zoom(key: str, url: str = "") -> MeetingRef:
    return MeetingRef("zoom", key, url or f"https://zoom.us/j/{key}")


def moodle(kind: str, cmid: int, host: str = "https://skolo.lv") -> ActivityRef:
    return ActivityRef("moodle", f"{host}/mod/{kind}/view.php?id={cmid}", kind=kind, cmid=cmid)


TEAMS_ENCODED = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_ZjE2NzQ%40thread.v2/0"
    "?context=%7b%22Tid%22%3a%2212ab%22%2c%22Oid%22%3a%2234cd%22%7d"
)
TEAMS_DECODED = (
    "https://teams.microsoft.com/l/meetup-join/19:meeting_ZjE2NzQ@thread.v2/0"
    '?context={"Tid":"12ab","Oid":"34cd"}'
)

CASES = [
    pytest.param(
        "Tiešsaistes stunda Zoom: https://zoom.us/j/81234567890?pwd=Q2xBcmVhZHk. Sākums plkst. "
        "9:00. Mājas darbs: uzrakstīt referātu. Termiņš: 30.11.2026 17:00. Vērtēšanas kritēriji "
        "pievienoti pielikumā.",
        MON, (), [zoom("81234567890")], [], riga(2026, 11, 30, 17, 0), True,
        id="p16-complete-sync-entry",
    ),
    pytest.param(
        "Pieslēgties: https://dttt.zoom.us/j/81234567890 (Meeting ID: 812 3456 7890, kods 123456).",
        MON, (), [zoom("81234567890", "https://dttt.zoom.us/j/81234567890")], [], None, False,
        id="p16-vanity-host-and-spaced-id-deduplicated",
    ),
    pytest.param(
        "Saite: us02web.zoom.us/j/85512345678?pwd=abc",
        MON, (), [zoom("85512345678", "https://us02web.zoom.us/j/85512345678")], [], None, False,
        id="p16-regional-host-without-scheme",
    ),
    pytest.param(
        "Zoom sapulce. Sapulces ID: 845 1234 5678 Piekļuves kods: 7XyZ",
        MON, (), [zoom("84512345678")], [], None, False,
        id="p16-latvian-meeting-id-with-spaces",
    ),
    pytest.param(
        "Vebinārs https://zoom.us/w/91234567890, ID: 812-3456-7890",
        MON, (), [zoom("91234567890", "https://zoom.us/w/91234567890"), zoom("81234567890")], [],
        None, False, id="p16-webinar-and-dashed-id",
    ),
    pytest.param(
        f"Stunda notiks MS Teams: {TEAMS_ENCODED}. Termiņš līdz 01.12.",
        MON, (), [MeetingRef("teams", TEAMS_DECODED, TEAMS_ENCODED)], [], riga(2026, 12, 1),
        False, id="p16-teams-link-decoded-key-and-yearless-due",
    ),
    pytest.param(
        "Google Meet: meet.google.com/abc-defg-hij — lūdzu ieslēgt kameras!",
        MON, (), [MeetingRef("meet", "abc-defg-hij", "https://meet.google.com/abc-defg-hij")], [],
        None, False, id="p16-meet-code",
    ),
    pytest.param(
        "Saite https://meet.google.com/ABCDEFGHIJ?authuser=1",
        MON, (), [MeetingRef("meet", "abc-defg-hij", "https://meet.google.com/abc-defg-hij")], [],
        None, False, id="p16-meet-code-uppercase-no-dashes",
    ),
    pytest.param(
        "Tiešsaistē https://zoom.us/j/81234567890, pēc tam pildīt testu "
        "https://skolo.lv/mod/quiz/view.php?id=44 līdz 30.11.2026. plkst. 17.00. Kritēriji: "
        "10 jautājumi, 1 punkts par katru.",
        MON, (), [zoom("81234567890")], [moodle("quiz", 44)], riga(2026, 11, 30, 17, 0), True,
        id="p16-zoom-and-moodle-quiz-dotted-time",
    ),
    pytest.param(
        "Iesniegt darbu: https://skolo.lv/mod/assign/view.php?id=41&action=editsubmission#top "
        "(iesniegt līdz 2026-11-30 17:00)",
        MON, (), [], [moodle("assign", 41)], riga(2026, 11, 30, 17, 0), False,
        id="p31-moodle-assign-iso-due",
    ),
    pytest.param(
        "Materiāli: https://moodle.dttt.lv/moodle/mod/page/view.php?id=7.",
        MON, (), [], [moodle("page", 7, "https://moodle.dttt.lv/moodle")], None, False,
        id="p31-moodle-other-host-with-prefix",
    ),
    pytest.param(
        "Izpildīt uzdevumus www.uzdevumi.lv/p/matematika/10-klase/funkcijas/uzdevumi/12345/ "
        "līdz 02.12. plkst. 20:00.",
        MON, (), [],
        [ActivityRef("uzdevumi", "https://uzdevumi.lv/p/matematika/10-klase/funkcijas/uzdevumi/12345")],
        riga(2026, 12, 2, 20, 0), False, id="p31-uzdevumi-normalised-yearless-with-time",
    ),
    pytest.param(
        "Lasīt https://app.soma.lv/lessons/8871?tab=tasks. Termiņš: 01.12.2026.",
        MON, (), [], [ActivityRef("soma", "https://app.soma.lv/lessons/8871?tab=tasks")],
        riga(2026, 12, 1), False, id="p31-soma-date-only-due-2359",
    ),
    pytest.param(
        "Darbs jānodod līdz 05.01. plkst. 9:00",
        DEC, (), [], [], riga(2027, 1, 5, 9, 0), False, id="p35-year-rollover-numeric",
    ),
    pytest.param(
        "Termiņš – 8. janvāris. Vērtēšanas kritēriji e-klasē.",
        DEC, (), [], [], riga(2027, 1, 8), True, id="p35-year-rollover-month-name",
    ),
    pytest.param(
        "Iesniegt līdz 2026. gada 4. decembrim.",
        MON, (), [], [], riga(2026, 12, 4), False, id="p35-month-name-with-year",
    ),
    pytest.param(
        "Atkārtot 3. nodaļu, sagatavoties kontroldarbam.",
        MON, (), [], [], None, False, id="p16-no-due-no-link",
    ),
    pytest.param(
        "Kontroldarbs 02.12.2026.",
        MON, (), [], [], riga(2026, 12, 2), False, id="p35-unlabelled-full-date",
    ),
    pytest.param(
        "Saskaņā ar MK 08.02.2022. noteikumiem Nr. 111 darbs jāiesniedz līdz 30.11. plkst. 15:00",
        MON, (), [], [], riga(2026, 11, 30, 15, 0), False, id="p35-old-reference-date-ignored",
    ),
    pytest.param(
        "Stunda no 9:00 līdz 9:45 Zoom https://zoom.us/j/81234567890",
        MON, (), [zoom("81234567890")], [], None, False, id="p30-lesson-time-range-is-not-due",
    ),
    pytest.param(
        "Termiņš: šodien līdz plkst. 15.00",
        MON, (), [], [], riga(2026, 11, 30, 15, 0), False, id="p35-today-with-time",
    ),
    pytest.param(
        "Darbu nodot līdz piektdienai plkst. 12:00",
        MON, (), [], [], riga(2026, 12, 4, 12, 0), False, id="p35-weekday",
    ),
    pytest.param(
        "Darbu iesniegt līdz piektdienai, 11.12.",
        MON, (), [], [], riga(2026, 12, 11), False, id="p35-weekday-then-explicit-date-wins",
    ),
    pytest.param(
        "Pirmā daļa līdz 01.12., otrā daļa līdz 03.12. plkst. 17:00",
        MON, (), [], [], riga(2026, 12, 3, 17, 0), False, id="p35-several-labelled-latest",
    ),
    pytest.param(
        "30.11.2026 tiešsaistes stunda plkst. 9:00 https://zoom.us/j/81234567890. Mājasdarbs "
        "jāiesniedz līdz 01.12.2026.",
        MON, (), [zoom("81234567890")], [], riga(2026, 12, 1), False,
        id="p35-labelled-beats-lesson-date",
    ),
    pytest.param(
        '<p>Saite: <a href="https://zoom.us/j/81234567890?pwd=a&amp;uname=x">Zoom</a></p>'
        "<p>Termiņš:&nbsp;30.11.2026&nbsp;17:00</p><p>Vērtēšanas kritēriji</p>",
        MON, (), [zoom("81234567890")], [], riga(2026, 11, 30, 17, 0), True,
        id="p16-html-entry",
    ),
    pytest.param(
        "Termiņš:\u00a030.11.2026\u200b 17:00 \u200fhttps://zoom.us/j/812\u200b34567890 😀\u202e",
        MON, (), [zoom("81234567890")], [], riga(2026, 11, 30, 17, 0), False,
        id="p16-nbsp-zero-width-rtl-emoji",
    ),
    pytest.param(
        "Termiņš: 30.03.2026 17:00", D(2026, 3, 27), (), [], [], riga(2026, 3, 30, 17, 0, EEST),
        False, id="p35-due-after-dst-start-summer-offset",
    ),
    pytest.param(
        "Termiņš: 26.10.2026 17:00", D(2026, 10, 23), (), [], [], riga(2026, 10, 26, 17, 0, EET),
        False, id="p35-due-after-dst-end-winter-offset",
    ),
    pytest.param(
        "Darba lapa pielikumā.", MON, ("darba_lapa.pdf",), [], [], None, True,
        id="p16-criteria-by-attachment",
    ),
    pytest.param(
        "vertesanas kriteriji - skat. e-klase", MON, (), [], [], None, True,
        id="p16-criteria-without-diacritics",
    ),
    pytest.param(
        "KRITĒRIJI: pareizi atrisināti 8 no 10.", MON, (), [], [], None, True,
        id="p16-criteria-capitals",
    ),
    pytest.param(
        "Izpildīt uzdevumu.", MON, (), [], [], None, False, id="p16-no-criteria",
    ),
    pytest.param(
        "Termiņš 30.11. plkst. 24:00", MON, (), [], [], riga(2026, 12, 1, 0, 0), False,
        id="p35-midnight-24h",
    ),
    pytest.param(
        "līdz 01.12.26", MON, (), [], [], riga(2026, 12, 1), False, id="p35-two-digit-year",
    ),
    pytest.param(
        "Termiņš 30.11.2026 10.10", MON, (), [], [], riga(2026, 11, 30, 10, 10), False,
        id="p35-dotted-time-after-full-date",
    ),
    pytest.param(
        "Projekts no 30.11. līdz 04.12.", MON, (), [], [], riga(2026, 12, 4), False,
        id="p35-date-range-end",
    ),
    pytest.param(
        "Personīgā istaba https://zoom.us/my/ilze.kalnina, skat. https://www.uzdevumi.lv/",
        MON, (), [], [], None, False, id="p16-personal-room-and-homepage-are-not-refs",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "lesson_day", "attachments", "meetings", "activities", "due", "criteria"), CASES
)
def test_parse_uzdots(text, lesson_day, attachments, meetings, activities, due, criteria) -> None:
    info = parse_uzdots(text, lesson_day, attachments)
    assert info.meetings == tuple(meetings)
    assert info.activities == tuple(activities)
    assert info.due == due
    if due is not None:
        assert info.due.utcoffset() == due.utcoffset()
    assert info.has_criteria is criteria


def test_parts_agree_with_parse_uzdots() -> None:
    text = CASES[8].values[0]
    info = parse_uzdots(text, MON)
    assert find_meetings(text) == info.meetings
    assert find_activities(text) == info.activities
    assert find_due(text, MON) == info.due
    assert has_criteria(text) is info.has_criteria


def test_teams_key_is_the_same_encoded_or_decoded() -> None:
    """p. 16: the same Teams meeting pasted two ways is one meeting."""
    (encoded,) = find_meetings(f"Saite: {TEAMS_ENCODED}")
    (decoded,) = find_meetings(f"Saite: {TEAMS_DECODED}.")
    assert encoded.key == decoded.key == TEAMS_DECODED


def test_zoom_passcode_is_not_kept_in_the_ref() -> None:
    (ref,) = find_meetings("https://zoom.us/j/81234567890?pwd=SECRETpass")
    assert "SECRET" not in ref.url and "SECRET" not in ref.key


def test_custom_criteria_words() -> None:
    """p. 16: the words come from policy ``criteria_words``."""
    assert parse_uzdots("Vērtēšanas rubrika", MON, criteria_words=("rubrik",)).has_criteria
    assert not parse_uzdots("Vērtēšanas rubrika", MON, criteria_words=("kritērij",)).has_criteria


def test_date_only_time_is_configurable() -> None:
    assert find_due("Termiņš: 01.12.2026.", MON, date_only_time=dt.time(17, 0)) == riga(
        2026, 12, 1, 17, 0
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("http://WWW.Uzdevumi.lv/p/matematika/12/#top", "https://uzdevumi.lv/p/matematika/12",
                     id="scheme-host-www-slash-fragment"),
        pytest.param("uzdevumi.lv/p/x/1).", "https://uzdevumi.lv/p/x/1", id="no-scheme-trailing-punct"),
        pytest.param("https://app.soma.lv:443/lessons/8871/?tab=tasks", "https://app.soma.lv/lessons/8871?tab=tasks",
                     id="default-port-query-kept"),
        pytest.param("https://www.uzdevumi.lv/p/latvie%C5%A1u-valoda/5", "https://uzdevumi.lv/p/latvie%C5%A1u-valoda/5",
                     id="percent-encoded"),
        pytest.param("https://www.uzdevumi.lv/p/latviešu-valoda/5", "https://uzdevumi.lv/p/latvie%C5%A1u-valoda/5",
                     id="raw-unicode-same-as-encoded"),
        pytest.param(" https://uzdevumi.lv/p/a%2fb ", "https://uzdevumi.lv/p/a/b", id="lowercase-escape-and-spaces"),
        pytest.param("https://skolo.lv:8443/x", "https://skolo.lv:8443/x", id="other-port-kept"),
    ],
)  # fmt: skip
def test_normalise_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected
    assert normalise_url(expected) == expected


@pytest.mark.parametrize(
    "bad", [pytest.param("", id="empty"), pytest.param("https:///p/x", id="no-host")]
)
def test_normalise_url_rejects_non_urls(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_url(bad)


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_text_is_read_without_error(text: str) -> None:
    info = parse_uzdots(text, MON, ())
    assert info.due is None or info.due.utcoffset() is not None
    cleaned = clean_text(text)
    assert "  " not in cleaned and "\u200b" not in cleaned and "\u00a0" not in cleaned


@given(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60),
    st.sampled_from(["https://uzdevumi.lv/p/", "http://www.soma.lv/", "skolo.lv/"]),
)
@settings(max_examples=200, deadline=None)
def test_normalise_url_is_idempotent(path: str, prefix: str) -> None:
    try:
        once = normalise_url(prefix + path)
    except ValueError:
        return
    assert normalise_url(once) == once


@pytest.mark.parametrize(
    "filler",
    [
        pytest.param("Termiņš 30.11. līdz a.b.c 1:2 plkst. 9 ", id="dates-and-labels"),
        pytest.param("a." * 20, id="dots"),
        pytest.param("https://" * 5, id="schemes"),
        pytest.param("id 812 ", id="zoom-id-prefixes"),
        pytest.param("\u00a0\u200b😀\u202e<", id="odd-unicode"),
        pytest.param("1:2.3/", id="digits-and-separators"),
    ],
)
def test_one_megabyte_entry_is_read(filler: str) -> None:
    """Untrusted text: linear-time regexes read a 1 MB entry (a backtracking one would hang)."""
    text = (
        filler * (1_000_000 // len(filler)) + " https://zoom.us/j/81234567890 Termiņš: 04.12.2026."
    )
    info = parse_uzdots(text, MON)
    assert zoom("81234567890") in info.meetings
    assert info.due == riga(2026, 12, 4)
