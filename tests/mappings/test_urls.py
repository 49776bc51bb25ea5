"""mappings.urls behaves like urllib.parse on the links teachers paste (mappings stays pure)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
from urllib.parse import quote as std_quote
from urllib.parse import unquote as std_unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.urls import query_values, quote, split, unquote

LINKS = [
    "https://zoom.us/j/81234567890?pwd=abc",
    "https://school.zoom.us/j/81234567890",
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0?context=%7b%22Tid%22%3a%22t%22%7d",
    "https://meet.google.com/abc-defg-hij",
    "https://skolo.lv/mod/assign/view.php?id=41#section",
    "http://WWW.Uzdevumi.lv:443/p/matematika/12/",
    "https://user:pw@Host.example.lv:8080/a/b?x=1&y=&z=%C4%81",
    "https://[2001:db8::1]:8443/path",
    "https://app.soma.lv/lesson?a=1;b=2",
    "skolo.lv/mod/quiz/view.php?id=7",
]


@pytest.mark.parametrize("url", [pytest.param(u, id=u[:40]) for u in LINKS])
def test_split_like_urlsplit(url):
    ours, std = split(url), urlsplit(url)
    assert (ours.scheme, ours.netloc, ours.path, ours.query, ours.fragment) == tuple(std)
    assert ours.hostname == std.hostname
    assert ours.port == std.port


@pytest.mark.parametrize("url", [
    pytest.param("https://h.lv:99999/", id="too-big"),
    pytest.param("https://h.lv:8o/", id="not-a-number"),
])
def test_bad_ports_raise_like_urlsplit(url):
    with pytest.raises(ValueError):
        urlsplit(url).port  # noqa: B018
    with pytest.raises(ValueError):
        split(url).port  # noqa: B018


@pytest.mark.parametrize("query", ["id=41", "id=41&id=42", "a=&b=2", "x=J%C4%81nis+B", "=v&k"])
def test_query_values_like_parse_qs(query):
    assert query_values(query) == parse_qs(query)


@given(st.text(max_size=60))
def test_quote_and_unquote_like_the_standard_library(text):
    for safe in ("/", "/:@!$&'()*+,;=", ""):
        assert quote(text, safe=safe) == std_quote(text, safe=safe)
    assert unquote(quote(text)) == text
    assert unquote(text) == std_unquote(text)
