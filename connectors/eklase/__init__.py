"""e-klase journal connector: the SOAP journal gateway (contract v1.1) and the worklist sink.

e-klase publishes no API for writing marks, so the connector is contract-first: the school (or
a middleware) provides a SOAP gateway described by ``journal.wsdl``/``journal.xsd`` in this
package, and kartiba calls it with zeep. Without a gateway for writing, ``mode = "worklist"``
mails the marks to the teachers for entry.

Jobs use :func:`build_source` (reading) and :func:`build_sink` (writing).
"""

from __future__ import annotations

import datetime as dt
from collections import ChainMap
from collections.abc import Callable, Mapping
from email.message import EmailMessage

from connectors.base import JournalSink
from connectors.eklase.client import EklaseClient
from connectors.eklase.settings import EklaseSettings
from connectors.eklase.sink import GatewaySink, MarksReader, WorklistSink
from connectors.eklase.source import EklaseJournal
from connectors.eklase.worklist import WorklistLedger
from connectors.errors import ConfigError
from mappings.model import Lesson, School

__all__ = [
    "EklaseClient",
    "EklaseJournal",
    "EklaseSettings",
    "GatewaySink",
    "WorklistSink",
    "build",
    "build_sink",
    "build_source",
]


def build_source(settings: EklaseSettings) -> EklaseJournal:
    """The journal source of one run, reading through the gateway.

    Raises:
        ConfigError: no gateway address or credentials.
    """
    return EklaseJournal(EklaseClient(settings), settings)


build = build_source


def build_sink(settings: EklaseSettings, *, journal: EklaseJournal | None = None,
               mailer_send: Callable[[EmailMessage], None] | None = None,
               school: School | None = None, lessons: Mapping[str, Lesson] | None = None,
               now: Callable[[], dt.datetime] | None = None,
               lang: str | None = None, sender: str | None = None,
               ledger: WorklistLedger | None = None, run_id: str = "") -> JournalSink:
    """The journal sink of one run, per ``settings.mode``.

    Args:
        settings: the connector settings.
        journal: the run's journal source; its client and the lessons it read are reused
            for read-backs.
        mailer_send: worklist mode: sends one e-mail message (the Mailer).
        school: worklist mode: names of groups, subjects, students and teachers.
        lessons: the run's lessons by id, kept by reference (it may fill up later in the
            run); looked up before the lessons ``journal`` read.
        now: worklist mode: the run's clock (file names).
        lang: worklist mode: ``lv``/``en``; ``settings.worklist_lang`` by default.
        sender: worklist mode: the From address.
        ledger: worklist mode: where proposed marks wait until mailed (the state store).
        run_id: worklist mode: the run, for the ledger.

    Raises:
        ConfigError: worklist mode without ``mailer_send``/``school``, or no gateway settings.
    """
    client = journal.client if journal is not None else EklaseClient(settings)
    known: Mapping[str, Lesson] = lessons if lessons is not None else {}
    if journal is not None:  # both stay live: lessons read later in the run are found too
        known = ChainMap(known, journal.seen_lessons)  # type: ignore[arg-type]
    if settings.mode == "gateway":
        return GatewaySink(client, settings.service_account, lessons=known)
    if mailer_send is None or school is None:
        raise ConfigError("eklase: worklist mode needs the mailer and the school",
                          setting="eklase.mode")
    reader = MarksReader(client, known)
    return WorklistSink(settings.worklist_dir, mailer_send, school.teachers, known, school,
                        lang or settings.worklist_lang, read_marks=reader.read, now=now,
                        service_account=settings.service_account, sender=sender,
                        ledger=ledger, run_id=run_id)
