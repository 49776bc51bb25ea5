"""Kārtības 14.2. punkts: teachers enter lesson topics in e-klase regularly and on time.

"On time" is read as: by the end of the lesson's day (Riga time). A remote lesson with no
topic by then gets ``topic_missing`` at the first run after it.
"""

from __future__ import annotations

import datetime as dt

from mappings.calendar import end_of_day
from mappings.model import Alert, AlertKind, Lesson
from mappings.rules.alerts import make_alert
from mappings.rules.verdicts import iso


def topic_on_time(lesson: Lesson) -> bool:
    """Point 14.2: a non-empty topic was entered before the end of the lesson's day."""
    topic = lesson.topic
    return (
        topic is not None
        and bool(topic.text.strip())
        and topic.entered_at < end_of_day(lesson.date)
    )


def topic_missing(lesson: Lesson, now: dt.datetime) -> Alert | None:
    """Point 14.2: after the lesson's day has ended, its topic is missing (or came late)."""
    day_end = end_of_day(lesson.date)
    if now < day_end or topic_on_time(lesson):
        return None
    entered = lesson.topic.entered_at if lesson.topic is not None else None
    return make_alert(
        AlertKind.TOPIC_MISSING,
        lesson.id,
        detail={"due": iso(day_end), "entered_at": iso(entered)},
    )
