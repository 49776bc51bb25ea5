"""Alerts of a run -> ledger -> one e-mail per recipient (never the same alert twice).

Flow: resolve each alert's audience to addresses, claim (alert, address) pairs in the ledger,
then send every pending ledger item grouped by address — including items an earlier run
claimed but could not send — and mark them sent right after the SMTP server accepted them.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence

from connectors.errors import KartibaError
from mappings.model import Alert
from sync_jobs.alerts.compose import AlertItem, Recipient, redirect_text, render_message
from sync_jobs.alerts.recipients import redirected_from, resolve
from sync_jobs.context import RunContext
from sync_jobs.state import LedgerItem, ledger_key

log = logging.getLogger("kartiba.notify")


def unique(alerts: Sequence[Alert]) -> list[Alert]:
    """The first alert of each (kind, lesson, student): rules may repeat one across jobs."""
    seen: dict[str, Alert] = {}
    for alert in alerts:
        seen.setdefault(alert.key, alert)
    return list(seen.values())


def recipients_of(ctx: RunContext, alerts: Sequence[Alert]) -> list[tuple[Alert, Recipient]]:
    """Each alert paired with each address its audience resolves to."""
    school = ctx.school()
    pairs: list[tuple[Alert, Recipient]] = []
    for alert in unique(alerts):
        lesson = ctx.lessons.get(alert.lesson_id) if alert.lesson_id else None
        pairs.extend((alert, recipient) for recipient in resolve(
            alert, lesson, school, parents=ctx.settings.school.notify_parents))
    return pairs


def claim(ctx: RunContext, alerts: Sequence[Alert]) -> None:
    """Enter alerts in the ledger at once, before the job records anything as done.

    The jobs call this (through ``RunContext.alert``) before they mark a lesson final or a
    mark written, so a crash at any later point leaves the alert pending for the next run
    instead of losing it; the ledger keeps every item once.
    """
    if not ctx.dry_run and alerts:
        ctx.store.ledger_claim(recipients_of(ctx, alerts), ctx.run_id)


def send_alerts(ctx: RunContext, mailer) -> Counter[str]:
    """Send everything pending in the ledger, grouped per recipient; returns counts."""
    counts: Counter[str] = Counter()
    pairs = recipients_of(ctx, ctx.alerts)
    live = {ledger_key(alert, r.email): alert for alert, r in pairs}
    counts["alerts"] = len(unique(ctx.alerts))
    if ctx.dry_run:
        for alert, recipient in pairs:
            print(f"would alert {alert.kind} lesson={alert.lesson_id or '-'} "
                  f"student={alert.student_id or '-'} role={recipient.role}")
        return counts
    pending = ctx.store.ledger_pending()
    if mailer is None:
        if pending:
            log.warning("%d alert item(s) pending but no SMTP server is configured ([smtp])",
                        len(pending))
        return counts
    if pending:
        counts.update(_send_grouped(ctx, mailer, pending, live))
    return counts


def _send_grouped(ctx: RunContext, mailer, pending: list[LedgerItem],
                  live: dict[str, Alert]) -> Counter[str]:
    counts: Counter[str] = Counter()
    by_address: dict[str, list[LedgerItem]] = defaultdict(list)
    for item in pending:
        by_address[item.recipient].append(item)
    with mailer.session() as session:
        for address, items in sorted(by_address.items()):
            counts[_send_one(ctx, session, address, items, live)] += 1
    return counts


def _send_one(ctx: RunContext, session, address: str, items: list[LedgerItem],
              live: dict[str, Alert]) -> str:
    """Compose and send one recipient's message; "emails" or "emails_failed".

    Guarded per recipient: whatever goes wrong with one recipient's message (the server
    refuses it, a value the message cannot carry) is logged by role and leaves that
    recipient's items pending for the next run, and the other recipients still get theirs.
    """
    school = ctx.school()
    role = items[0].role
    try:
        recipient = Recipient(email=address, name=_names(school).get(address, ""), role=role)
        rendered = [_item(ctx, i, live, school) for i in items]
        message = render_message(recipient, rendered, school_name=school.name,
                                 sender=ctx.settings.smtp.sender,
                                 lang=ctx.settings.school.language, run_id=ctx.run_id,
                                 now=ctx.now)
        session.send(message)
    except KartibaError as exc:
        log.warning("mail to role=%s not sent (retried next run): %s", role, exc.message)
        return "emails_failed"
    except (ValueError, TypeError, LookupError) as exc:  # a value the message cannot carry
        log.warning("mail to role=%s not composed (retried next run): %s in lesson(s) %s",
                    role, type(exc).__name__,
                    ",".join(sorted({i.alert.lesson_id or "-" for i in items})))
        return "emails_failed"
    ctx.store.ledger_mark_sent([i.key for i in items], ctx.run_id, message["Message-ID"],
                               at=ctx.now)
    return "emails"


def _item(ctx: RunContext, item: LedgerItem, live: dict[str, Alert], school) -> AlertItem:
    """A ledger item with its display fields; an oversight copy says whom it was meant for."""
    rendered = AlertItem.of(live.get(item.key, item.alert),
                            ctx.lessons.get(item.alert.lesson_id or ""), school)
    meant = redirected_from(item.role)
    if meant is None:
        return rendered
    return rendered.redirected(redirect_text(*meant, school, ctx.settings.school.language))


def send_digests(ctx: RunContext, mailer) -> Counter[str]:
    """Send the digests the digest job prepared; each is recorded once sent."""
    counts: Counter[str] = Counter()
    with mailer.session() as session:
        for period_key, message in ctx.digests:
            try:
                session.send(message)
            except KartibaError as exc:
                counts["emails_failed"] += 1
                log.warning("digest not sent (retried next run): %s", exc.message)
                continue
            ctx.store.mark_digest_sent("weekly", period_key, ctx.run_id)
            counts["digests"] += 1
            counts["emails"] += 1
    return counts


def _names(school) -> dict[str, str]:
    """Teachers' names by lower-cased address (the first teacher of an address wins)."""
    names: dict[str, str] = {}
    for teacher in school.teachers.values():
        names.setdefault(teacher.email.strip().lower(), teacher.name)
    return names
