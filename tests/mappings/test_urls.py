"""Link shapes teachers paste, read with urllib.parse; mappings imports no networking module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mappings
from mappings.uzdots import find_activities, find_meetings, normalise_url

#: Networking modules: ``mappings`` is pure, but ``urllib.parse`` (string work) is allowed.
NETWORK_MODULES = {"urllib.request", "urllib3", "requests", "socket", "http.client"}


@pytest.mark.parametrize(("url", "expected"), [
    pytest.param("https://user:pw@Host.example.lv:8080/a/b?x=1&y=&z=%C4%81",
                 "https://host.example.lv:8080/a/b?x=1&y=&z=%C4%81", id="userinfo-dropped"),
    pytest.param("https://[2001:db8::1]:8443/path", "https://[2001:db8::1]:8443/path",
                 id="ipv6-literal"),
    pytest.param("http://WWW.Uzdevumi.lv:443/p/matematika/12/",
                 "https://uzdevumi.lv/p/matematika/12", id="default-port"),
    pytest.param("https://app.soma.lv/lesson?a=1;b=2", "https://app.soma.lv/lesson?a=1;b=2",
                 id="semicolon-query"),
])
def test_normalise_url_link_shapes(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


@pytest.mark.parametrize("url", [
    pytest.param("https://h.lv:99999/", id="too-big"),
    pytest.param("https://h.lv:8o/", id="not-a-number"),
])
def test_bad_ports_are_not_urls(url: str) -> None:
    with pytest.raises(ValueError, match="bad port"):
        normalise_url(url)


def test_links_in_text_are_found() -> None:
    text = ("Zoom https://zoom.us/j/81234567890?pwd=abc, Meet https://meet.google.com/abc-defg-hij"
            " un uzdevums skolo.lv/mod/quiz/view.php?id=7 ; https://[::1/broken")
    assert [m.key for m in find_meetings(text)] == ["81234567890", "abc-defg-hij"]
    (quiz,) = find_activities(text)
    assert (quiz.platform, quiz.cmid, quiz.url) == (
        "moodle", 7, "https://skolo.lv/mod/quiz/view.php?id=7")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("path", [
    pytest.param(p, id=str(p.relative_to(Path(mappings.__file__).parent)))
    for p in sorted(Path(mappings.__file__).parent.rglob("*.py"))])
def test_mappings_imports_no_networking_module(path: Path) -> None:
    assert not _imports(path) & NETWORK_MODULES
