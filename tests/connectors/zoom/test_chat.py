"""The cloud-recording chat file parser (kārtības 30. p.: registration in the meeting chat)."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.zoom.chat import parse_chat
from tests.connectors.zoom.fakes import fixture_bytes

START = dt.datetime(2026, 11, 30, 6, 58, 20, tzinfo=dt.UTC)


def _at(seconds: int) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param("00:01:05\tJānis Bērziņš:\tklātesošs\n",
                 [(65, "Jānis Bērziņš", "klātesošs")], id="one-line"),
    pytest.param("00:01:05\tAnna:\tET-22\tklātesoša\tšodien\n",
                 [(65, "Anna", "ET-22\tklātesoša\tšodien")], id="tabs-inside-message"),
    pytest.param("00:00:01\tA:\tx\r\n00:00:02\tB:\ty\r\n", [(1, "A", "x"), (2, "B", "y")],
                 id="crlf"),
    pytest.param("00:00:01\tA:\tx\r00:00:02\tB:\ty\r", [(1, "A", "x"), (2, "B", "y")],
                 id="cr-only"),
    pytest.param("\ufeff00:00:07\tA:\tx\n", [(7, "A", "x")], id="bom-text"),
    pytest.param("\ufeff00:00:07\tA:\tx\n".encode(), [(7, "A", "x")], id="bom-bytes"),
    pytest.param("00:02:00\tA:\tfirst line\nsecond line\n\nfourth\n00:03:00\tB:\tz\n",
                 [(120, "A", "first line\nsecond line\n\nfourth"), (180, "B", "z")],
                 id="multi-line-continuation"),
    pytest.param("01:02:03\tIlze:\t\n", [(3723, "Ilze", "")], id="empty-message"),
    pytest.param("00:00:05\tDr. A: B:\tsee: this\n", [(5, "Dr. A: B", "see: this")],
                 id="colons-in-name-and-text"),
    pytest.param("00:10:00\t From  Jānis Bērziņš : sveiki\n",
                 [(600, "Jānis Bērziņš", "sveiki")], id="legacy-from"),
    pytest.param("00:10:00\t From Jānis to Everyone: sveiki\n",
                 [(600, "Jānis", "sveiki")], id="legacy-from-to-everyone"),
    pytest.param("12:00:00\tA:\tlate\n", [(43200, "A", "late")], id="twelve-hours"),
    pytest.param("", [], id="empty-file"),
])
def test_parse_chat(content, expected) -> None:
    lines, errors = parse_chat(content, START)
    assert [(int((ln.at - START).total_seconds()), ln.name, ln.text) for ln in lines] == expected
    assert errors == []
    assert all(ln.at.tzinfo is not None for ln in lines)


def test_garbage_before_the_first_message_is_reported_and_skipped() -> None:
    lines, errors = parse_chat("Zoom chat export\n00:00:03\tA:\tx\n", START, source="instance u")
    assert [(ln.name, ln.text) for ln in lines] == [("A", "x")]
    assert [e.record for e in errors] == ["instance u:1"]
    assert errors[0].system == "zoom"


def test_recorded_fixture_file() -> None:
    lines, errors = parse_chat(fixture_bytes("chat_recording.txt"), START)
    assert errors == []
    assert [(ln.at, ln.name) for ln in lines] == [
        (_at(10), "Ilze Kalniņa"), (_at(220), "Jānis Bērziņš"), (_at(225), "Anna Liepa"),
        (_at(3723), "Ilze Kalniņa")]
    assert lines[1].text == "Jānis B., ET-22\tklātesošs"
    assert lines[2].text == "Anna Liepa ET-22\nklātesoša"


def test_offsets_keep_the_recording_start_zone() -> None:
    riga = dt.timezone(dt.timedelta(hours=2))
    start = dt.datetime(2026, 11, 30, 8, 58, 20, tzinfo=riga)
    lines, _ = parse_chat("00:00:40\tA:\tx\n", start)
    assert lines[0].at == dt.datetime(2026, 11, 30, 6, 59, tzinfo=dt.UTC)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_chat("00:00:01\tA:\tx\n", dt.datetime(2026, 11, 30, 7, 0))
