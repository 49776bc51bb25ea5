"""Kārtība point numbers: numeric order, titles and citations."""

from __future__ import annotations

import pytest

from mappings.points import TITLES, cite, point_key, sort_points, title

# Every point RULES.md lists (ranges expanded), as the explanations may cite any of them.
RULES_POINTS = [
    "2",
    "4",
    "6",
    "7",
    "8",
    "9",
    "10",
    "11",
    "13",
    "14.1",
    "14.2",
    "14.4",
    "14.5",
    "15",
    "16",
    "17",
    "18",
    "19",
    "20",
    "21",
    "22",
    "23",
    "24",
    "25",
    "26",
    "27",
    "28",
    "29",
    "30",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "38",
    "39",
    "40",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "47",
]


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        pytest.param(["30", "16", "14.2", "7"], ("7", "14.2", "16", "30"), id="numeric-not-text"),
        pytest.param(["43", "30", "39", "30"], ("30", "39", "43"), id="p43-deduplicated"),
        pytest.param(["14.10", "14.2", "14"], ("14", "14.2", "14.10"), id="levels"),
        pytest.param([" 20", "20 "], ("20",), id="spaces"),
        pytest.param([], (), id="empty"),
        pytest.param(iter(["32", "22"]), ("22", "32"), id="p22-p32-iterator"),
    ],
)
def test_sort_points(points, expected: tuple[str, ...]) -> None:
    assert sort_points(points) == expected


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("p30", id="prefix"),
        pytest.param("", id="empty"),
        pytest.param("3..1", id="dots"),
    ],
)
def test_point_key_rejects_non_numbers(bad: str) -> None:
    with pytest.raises(ValueError):
        point_key(bad)


@pytest.mark.parametrize("point", [pytest.param(p, id=f"p{p}") for p in RULES_POINTS])
def test_every_rules_point_has_titles(point: str) -> None:
    lv, en = TITLES[point]
    assert lv.strip() and en.strip()
    assert lv != en


def test_titles_keys_sort() -> None:
    assert sort_points(TITLES) == tuple(sorted(TITLES, key=point_key))


@pytest.mark.parametrize(
    ("point", "lang", "expected"),
    [
        pytest.param(
            "30", "lv", "Sinhronā stunda: nepieslēdzās vai atslēdzās bez iemesla", id="p30-lv"
        ),
        pytest.param(
            "30", "en", "Synchronous lesson: not connected or left without reason", id="p30-en"
        ),
        pytest.param("39", "lv", "Tehniski traucējumi nav attaisnojošs iemesls", id="p39-lv"),
    ],
)
def test_title(point: str, lang: str, expected: str) -> None:
    assert title(point, lang) == expected


def test_title_rejects_unknown_language() -> None:
    with pytest.raises(ValueError):
        title("30", "de")


@pytest.mark.parametrize(
    ("points", "lang", "expected"),
    [
        pytest.param(["30", "20"], "lv", "kārtības 20., 30. p.", id="p20-p30-lv"),
        pytest.param(["43", "39", "30"], "en", "procedure p. 30, 39, 43", id="p39-p43-en"),
        pytest.param([], "lv", "", id="none"),
    ],
)
def test_cite(points: list[str], lang: str, expected: str) -> None:
    assert cite(points, lang) == expected
