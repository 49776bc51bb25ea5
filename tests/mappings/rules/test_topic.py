"""The lesson topic: kārtība point 14.2 (through ``check_topic``)."""

from __future__ import annotations

import datetime as dt

import pytest

from mappings.evaluate import check_topic
from mappings.model import AlertKind, Audience, LessonMode, Topic
from mappings.policy import DEFAULT_POLICY
from tests.mappings.factories import at, lesson


def topic(when, text="Oma likums"):
    return Topic(text=text, entered_at=when)


ROWS = [
    pytest.param({}, at("08:00", "2026-12-01"), True, id="p14.2-no-topic-after-the-day"),
    pytest.param({}, at("23:59"), False, id="p14.2-not-judged-during-the-day"),
    pytest.param({}, at("00:00", "2026-12-01"), True, id="p14.2-judged-from-midnight"),
    pytest.param({"topic": topic(at("10:00"))}, at("08:00", "2026-12-01"), False,
                 id="p14.2-entered-the-same-day"),
    pytest.param({"topic": topic(at("23:59"))}, at("08:00", "2026-12-01"), False,
                 id="p14.2-entered-a-minute-before-midnight"),
    pytest.param({"topic": topic(at("00:00", "2026-12-01"))}, at("10:00", "2026-12-01"), True,
                 id="p14.2-entered-at-midnight-is-next-day"),
    pytest.param({"topic": topic(at("09:00", "2026-12-01"))}, at("10:00", "2026-12-01"), True,
                 id="p14.2-entered-next-day-too-late"),
    pytest.param({"topic": topic(at("10:00"), "  ")}, at("08:00", "2026-12-01"), True,
                 id="p14.2-blank-topic-is-missing"),
    pytest.param({"mode": LessonMode.REMOTE_ASYNC}, at("08:00", "2026-12-01"), True,
                 id="p14.2-async-lesson-checked-too"),
    pytest.param({"mode": LessonMode.IN_PERSON}, at("08:00", "2026-12-01"), False,
                 id="p14.2-in-person-not-checked"),
    pytest.param({}, at("08:00", "2026-12-08"), False, id="p14.2-older-than-check-days"),
    pytest.param({"day": "2023-02-28"}, at("08:00", "2023-03-01"), False,
                 id="p47-before-effective-date"),
    pytest.param({"day": "2026-10-24",
                  "topic": topic(dt.datetime(2026, 10, 24, 21, 30, tzinfo=dt.UTC))},
                 at("08:00", "2026-10-26"), True, id="p14.2-dst-00-30-riga-is-next-day"),
    pytest.param({"day": "2026-10-24",
                  "topic": topic(dt.datetime(2026, 10, 24, 20, 30, tzinfo=dt.UTC))},
                 at("08:00", "2026-10-26"), False, id="p14.2-dst-23-30-riga-same-day"),
]


@pytest.mark.parametrize(("kw", "now", "alerted"), ROWS)
def test_p14_2_topic(kw, now, alerted):
    alerts = check_topic(lesson(**kw), DEFAULT_POLICY, now)
    assert bool(alerts) is alerted
    for alert in alerts:
        assert (alert.kind, alert.lesson_id, alert.student_id, alert.audience, alert.points) == (
            AlertKind.TOPIC_MISSING, "L1", None, (Audience.TEACHER,), ("14.2",))
