"""Builds the connectors a run uses from the settings (the only place that knows them all)."""

from __future__ import annotations

import datetime as dt

from connectors.base import (
    ActivitySource,
    ImportLedger,
    JournalSink,
    JournalSource,
    MeetingSource,
    WebhookLedger,
)
from sync_jobs.settings import Settings


def journal(settings: Settings) -> JournalSource:
    from connectors import eklase

    return eklase.build_source(settings.eklase)


def sink(settings: Settings, ctx, mailer) -> JournalSink:
    """The gateway sink, or the worklist sink when the school has no journal gateway."""
    from connectors import eklase

    return eklase.build_sink(
        settings.eklase, journal=ctx.journal, mailer_send=mailer.send if mailer else None,
        school=ctx.school(), lessons=ctx.lessons, lang=settings.school.language,
        sender=settings.smtp.sender, ledger=ctx.store, run_id=ctx.run_id,
        now=lambda: ctx.now)


def meeting_sources(settings: Settings, webhooks: WebhookLedger | None = None,
                    now: dt.datetime | None = None) -> dict[str, MeetingSource]:
    """The enabled meeting platforms, by the platform name UZDOTS links resolve to.

    Each source lives for one run (its caches make a joint lesson cost one fetch); ``now``
    is the run's instant (Meet's 30-day retention and whether a Teams session may still run
    are judged against it).
    """
    policy = settings.policy_obj
    window = {"policy_before_min": policy.instance_before_minutes,
              "policy_after_min": policy.instance_after_minutes}
    sources: dict[str, MeetingSource] = {}
    if settings.zoom.enabled:
        from connectors import zoom

        sources["zoom"] = zoom.build(settings.zoom, webhooks=webhooks, **window)
    if settings.teams.enabled:
        from connectors import teams

        sources["teams"] = teams.build(settings.teams, now=now, **window)
    if settings.meet.enabled:
        from connectors import meet

        sources["meet"] = meet.build(settings.meet, now=now, **window)
    return sources


def activity_sources(settings: Settings, ledger: ImportLedger | None = None
                     ) -> dict[str, ActivitySource]:
    """The enabled asynchronous-work platforms."""
    sources: dict[str, ActivitySource] = {}
    if settings.moodle.enabled:
        from connectors import moodle

        sources["moodle"] = moodle.build(settings.moodle)
    if settings.uzdevumi.enabled:
        from connectors import uzdevumi

        sources["uzdevumi"] = uzdevumi.build(settings.uzdevumi, ledger=ledger)
    if settings.soma.enabled:
        from connectors import soma

        sources["soma"] = soma.build(settings.soma, ledger=ledger)
    return sources


def mailer(settings: Settings):
    """The SMTP mailer, or None when no SMTP server is configured."""
    from connectors.smtp import Mailer

    if not settings.smtp.host or not settings.smtp.sender:
        return None
    return Mailer(settings.smtp)
