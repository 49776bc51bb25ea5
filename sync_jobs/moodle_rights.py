"""``kartiba check``, Moodle part: prove the service account's rights, not only its functions.

A real Moodle answers a missing right with warnings inside normal answers, fewer users or
users without e-mails — never with an error a run would stop on (``shared/real-moodle.md``).
So ``check`` reads the Moodle links of the recent and coming lessons from the journal and
calls, for the courses they link (and ``moodle.course_ids``), what a run calls; each refusal
or warning is a ``FAIL`` line naming the missing right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from connectors import moodle
from connectors.errors import KartibaError
from mappings.evaluate import lesson_info
from mappings.model import ActivityRef, Lesson
from sync_jobs import wiring
from sync_jobs.clock import read_clock
from sync_jobs.settings import Settings

SYSTEM = "moodle"
#: lessons this many days before and after today are read for their Moodle links
LINK_DAYS = 7


def moodle_rights(settings: Settings, make: Callable[[str, str, str], object],
                  now: dt.datetime | None = None) -> Iterator[object]:
    """The rights findings, each built with ``make(system, level, message)``.

    Args:
        settings: the validated settings; nothing is yielded when Moodle is not enabled.
        make: builds one result line (``sync_jobs.health.CheckResult``).
        now: the instant (default: the clock).
    """
    if not settings.moodle.enabled:
        return
    refs, note = recent_links(settings, now or read_clock())
    if note:
        yield make(SYSTEM, "WARN", note)
    try:
        findings = moodle.build(settings.moodle).rights(refs)
    except KartibaError as exc:
        yield make(SYSTEM, "FAIL", f"rights check failed: {exc.message}")
        return
    except OSError as exc:
        yield make(SYSTEM, "FAIL", f"rights check failed: {type(exc).__name__}")
        return
    for level, message in findings:
        yield make(SYSTEM, level, message)


def recent_links(settings: Settings, now: dt.datetime) -> tuple[list[ActivityRef], str]:
    """The Moodle links of the lessons from ``LINK_DAYS`` before to after today.

    Returns:
        The links, and a note when the journal could not be read (then only
        ``moodle.course_ids`` are checked).
    """
    today = now.date()
    try:
        lessons = wiring.journal(settings).lessons(today - dt.timedelta(days=LINK_DAYS),
                                                   today + dt.timedelta(days=LINK_DAYS))
    except (KartibaError, OSError) as exc:
        reason = exc.message if isinstance(exc, KartibaError) else type(exc).__name__
        return [], f"rights checked on moodle.course_ids only: the journal was not read " \
                   f"({reason})"
    return links_of(lessons, settings), ""


def links_of(lessons: list[Lesson], settings: Settings) -> list[ActivityRef]:
    """Every distinct Moodle activity link of the lessons' UZDOTS entries."""
    policy = settings.policy_obj
    refs = (ref for lesson in lessons for ref in lesson_info(lesson, policy).activities)
    return list(dict.fromkeys(ref for ref in refs if ref.platform == SYSTEM))
