"""``kartiba explain``: errors for unknown ids, Latvian in Latvian mode, Riga time, minutes."""

from __future__ import annotations

from tests.cli.conftest import kartiba


def _run(config, scenario):
    at = scenario.runs[-1].isoformat()
    assert kartiba("--config", str(config), "run", "--now", at, "attendance").rc == 0


def test_unknown_lesson_is_an_error_in_latvian(world):
    boxes, config, scenario = world
    _run(config, scenario)
    result = kartiba("--config", str(config), "explain", "L99", "s2",
                     "--now", scenario.runs[-1].isoformat())
    assert result.rc == 2
    assert "nezināma stunda L99" in result.err


def test_unknown_student_is_an_error_in_latvian_and_english(world):
    boxes, config, scenario = world
    _run(config, scenario)
    lv = kartiba("--config", str(config), "explain", "L1", "s99")
    assert lv.rc == 2 and "nezināms audzēknis s99" in lv.err
    en = kartiba("--config", str(config), "explain", "L1", "s99", "--lang", "en")
    assert en.rc == 2 and "unknown student s99" in en.err


def test_explain_without_date_shows_riga_lesson_time_and_minutes(world):
    boxes, config, scenario = world
    _run(config, scenario)
    result = kartiba("--config", str(config), "explain", "L1", "s2",
                     "--now", scenario.runs[-1].isoformat())
    assert result.rc == 0, result.err
    head = result.out.splitlines()[0]
    # the scenario's lesson is 09:00-09:45 Riga (07:00 UTC): the lesson's own time, in Riga
    assert "Rīgas laiks" in head and "30.11.2026" in head and "09:00–09:45" in head
    assert "min" in result.out and "kārtības 30. p." in result.out
    assert "s3" not in result.out


def test_explain_json(world):
    boxes, config, scenario = world
    _run(config, scenario)
    result = kartiba("--config", str(config), "explain", "L1", "--json", "--lang", "en",
                     "--now", scenario.runs[-1].isoformat())
    data = result.json()
    assert data["lesson"] == "L1" and data["start"].endswith("+02:00")
    assert {v["student"] for v in data["stored"]} == {v["student"] for v in data["live"]}
