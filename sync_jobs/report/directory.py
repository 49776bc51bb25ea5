"""Names for a report: the journal's school directory, read once, never stored.

The privacy rules keep no names in the state store. A report for people needs them, so
``kartiba report`` reads the school directory (groups, subjects, teachers, students) from
e-klase through the journal connector — one read, no lessons, no evidence platform — and
uses it only to render. With ``--ids-only``, or when the journal cannot be reached, the report
shows e-klase ids instead and makes no upstream call at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from connectors.errors import KartibaError
from mappings.model import School
from sync_jobs.settings import Settings

log = logging.getLogger("kartiba.report")


def ids_only(settings: Settings) -> School:
    """An empty directory: every name is shown as its id."""
    return School(name=settings.school.name or "")


def load_directory(settings: Settings, today: dt.date) -> tuple[School, bool]:
    """The school directory from the journal, or the ids-only one when it cannot be read.

    Returns:
        (directory, whether it holds names).
    """
    from sync_jobs import wiring

    try:
        school = wiring.journal(settings).school(today)
    except KartibaError as exc:
        log.warning("report: names not read from the journal (%s); ids are shown",
                    exc.message)
        return ids_only(settings), False
    if settings.school.name:
        school = dataclasses.replace(school, name=settings.school.name)
    return school, True
