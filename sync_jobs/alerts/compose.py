"""Alert and digest e-mails: one message per recipient per run, Latvian (default) or English.

Each message is multipart/alternative (plain text + HTML, UTF-8, quoted-printable) rendered
from the Jinja2 templates beside this module (HTML autoescaped). Besides the human text every
alert message carries machine-readable headers:

* ``X-Kartiba-Alerts``: a JSON list (ASCII-only, ids only, no names) of
  ``{"kind", "lesson", "student", "points", "excused"}`` sorted by (lesson, student, kind);
  read it back with :func:`parse_alerts_header`;
* ``X-Kartiba-Run``: the run id;
* a deterministic ``Message-ID`` (run, recipient and alert keys hashed: no address in it).

``AlertItem.detail`` keys the templates read when present (all optional; the ones the rules
in ``mappings`` put there): ``deadline``, ``created_at`` (uzdots_*); ``missing`` (uzdots_incomplete:
"link" | "due" | "criteria"); ``reason`` (absence: the mark's reason code); ``cause``
(evidence_missing: "no_link" | "not_found"); ``grace_minutes`` (chat_not_registered);
``participants`` (display names), ``unmatched`` and ``ambiguous`` (counts;
unmatched_participant); ``remote_hours``, ``planned_hours``, ``share`` (quota_*).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from connectors.smtp.headers import address, plural_lv, set_common_headers
from mappings.explain import REASONS as EXPLAIN_REASONS
from mappings.model import Alert, AlertKind, Lesson, School, frozen_map

RIGA = ZoneInfo("Europe/Riga")
LANGS = ("lv", "en")
ALERTS_HEADER = "X-Kartiba-Alerts"
RUN_HEADER = "X-Kartiba-Run"
DIGEST_HEADER = "X-Kartiba-Digest"

#: Verdict reason codes as a teacher reads them.
REASONS: Mapping[str, Mapping[str, str]] = {
    "lv": {
        "not_connected": "izglītojamais nepieslēdzās tiešsaistes stundai",
        "left_early": "izglītojamais bija pieslēgts mazāk nekā pusi stundas",
        "joined_late": "izglītojamais pieslēdzās novēloti un bija pieslēgts mazāk nekā pusi "
                       "stundas",
        "no_activity": "līdz termiņam platformā nav izglītojamā darbības",
        "extended_due_missed": "līdz pagarinātajam termiņam platformā nav izglītojamā darbības",
        "notice_before_start": "par kavējumu paziņots pirms stundas sākuma",
        "notice_after_start": "par kavējumu paziņots tikai pēc stundas sākuma",
        "tech_problem_late": "tehniski traucējumi, bet izglītojamais laikus nesazinājās ar "
                             "pedagogu",
    },
    "en": {
        "not_connected": "the student did not join the online lesson",
        "left_early": "the student was connected for less than half of the lesson",
        "joined_late": "the student joined late and was connected for less than half of the "
                       "lesson",
        "no_activity": "no activity of the student on the platform by the due time",
        "extended_due_missed": "no activity of the student by the extended due time",
        "notice_before_start": "the absence was notified before the lesson started",
        "notice_after_start": "the absence was notified only after the lesson started",
        "tech_problem_late": "technical problems, but the student did not contact the teacher "
                             "in time",
    },
}


@dataclass(frozen=True, slots=True)
class Recipient:
    """One addressee: e-mail, display name (may be empty) and role (teacher, class_teacher...)."""

    email: str
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class AlertItem:
    """An alert with the display fields its message needs (names resolved at render time)."""

    alert: Alert
    lesson_date: dt.date | None = None
    lesson_number: int | None = None
    subject_name: str = ""
    group_name: str = ""
    student_name: str = ""
    teacher_name: str = ""
    detail: Mapping[str, object] = field(default_factory=frozen_map)
    student_names: tuple[str, ...] = ()  # the students an item about several names (detail)
    redirect: str = ""  # whose unusable address made this item go to the oversight

    def redirected(self, text: str) -> AlertItem:
        """This item, noting whose unusable address it was meant for."""
        return replace(self, redirect=text)

    @property
    def kind(self) -> str:
        return str(self.alert.kind)

    @classmethod
    def of(cls, alert: Alert, lesson: Lesson | None, school: School) -> AlertItem:
        """Resolve an alert's display fields from its lesson and the school data."""
        student = school.students.get(alert.student_id) if alert.student_id else None
        subject = school.subjects.get(lesson.subject_id) if lesson else None
        group_id = lesson.group_id if lesson else (student.group_id if student else None)
        group = school.groups.get(group_id) if group_id else None
        teacher = school.teachers.get(lesson.teacher_id) if lesson else None
        return cls(
            alert=alert,
            lesson_date=lesson.date if lesson else None,
            lesson_number=lesson.number if lesson else None,
            subject_name=subject.name if subject else (lesson.subject_id if lesson else ""),
            group_name=group.name if group else (group_id or ""),
            student_name=school.student_label(alert.student_id) if alert.student_id else "",
            teacher_name=teacher.name if teacher else "",
            detail=alert.detail,
            student_names=tuple(school.student_label(str(sid))
                                for sid in alert.detail.get("marked_students") or ()),
        )

    def sort_key(self) -> tuple:
        return (self.lesson_date or dt.date.min, self.lesson_number or 0,
                self.alert.lesson_id or "", self.alert.student_id or "", self.kind)


# --------------------------------------------------------------------------- formatting


def _reason(code: str, lang: str) -> str:
    """A verdict reason as a teacher reads it; the rules' own wording for any other code."""
    if code in REASONS[lang]:
        return REASONS[lang][code]
    wording = EXPLAIN_REASONS.get(code)
    return wording[LANGS.index(lang)] if wording else code


def _dmy(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def _when(value: object) -> str:
    """A datetime (or its ISO text) as Riga wall time ``dd.mm.yyyy HH:MM``."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(RIGA)
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return _dmy(value)
    return "" if value is None else str(value)


def _points(points: Sequence[str], lang: str) -> str:
    """Kārtība points as cited in text: "kārtības 16. p." / "kārtība point 16"."""
    if lang == "lv":
        return "kārtības " + ", ".join(f"{p}." for p in points) + " p."
    return ("kārtība point " if len(points) == 1 else "kārtība points ") + ", ".join(points)


def _share_percent(detail: Mapping[str, object]) -> str:
    """The remote share in percent with one decimal ("" when unknown).

    Computed from ``remote_hours``/``planned_hours`` where both are there, else from
    ``share`` (a fraction; a value above 1 is taken as already in percent).
    """
    remote, planned = detail.get("remote_hours"), detail.get("planned_hours")
    if isinstance(remote, int | float) and isinstance(planned, int | float) and planned:
        share = remote / planned
    else:
        share = detail.get("share")
        if not isinstance(share, int | float) or isinstance(share, bool):
            return ""
        share = share / 100 if share > 1 else share
    return f"{share * 100:.1f}".rstrip("0").rstrip(".")


def _percent(item: AlertItem) -> str:
    return _share_percent(item.detail)


def _pct(share: object, row: Mapping[str, object] | None = None) -> str:
    return _share_percent({**(row or {}), "share": share})


ROLE_WORDS: Mapping[str, Mapping[str, str]] = {
    "lv": {"teacher": "priekšmeta pedagogs", "class_teacher": "grupas audzinātājs"},
    "en": {"teacher": "subject teacher", "class_teacher": "class teacher"},
}


def redirect_text(role: str, teacher_id: str, school: School, lang: str) -> str:
    """Who an oversight copy was meant for, e.g. "Ilze Liepiņa (grupas audzinātājs, ID t5)"."""
    teacher = school.teachers.get(teacher_id)
    words = ROLE_WORDS.get(lang, ROLE_WORDS["lv"]).get(role, role)
    if teacher is None:
        return f"{words}, ID {teacher_id}"
    return f"{teacher.name} ({words}, ID {teacher_id})"


def _subject_context(items: Sequence[AlertItem]) -> str:
    groups = sorted({i.group_name for i in items if i.group_name})
    dates = sorted({i.lesson_date for i in items if i.lesson_date})
    parts = []
    if groups:
        parts.append(", ".join(groups[:3]) + (", …" if len(groups) > 3 else ""))
    if dates:
        first, last = dates[0], dates[-1]
        parts.append(_dmy(first) if first == last else f"{_dmy(first)}–{_dmy(last)}")
    return f" ({', '.join(parts)})" if parts else ""


def alert_subject(items: Sequence[AlertItem], lang: str) -> str:
    """Subject line, e.g. "[kartiba] 3 paziņojumi par attālinātajām mācībām (ET-22, 30.11.2026)"."""
    n = len(items)
    if lang == "lv":
        noun = plural_lv(n, "paziņojums", "paziņojumi")
        return f"[kartiba] {n} {noun} par attālinātajām mācībām{_subject_context(items)}"
    noun = "notice" if n == 1 else "notices"
    return f"[kartiba] {n} {noun} about remote learning{_subject_context(items)}"


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("sync_jobs.alerts", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False,
                                     default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(dmy=_dmy, when=_when, percent=_percent, pct=_pct)
    return env


def _render(name: str, lang: str, **context: Any) -> tuple[str, str]:
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; use one of {LANGS}")
    env = _env()
    context.update(
        points=lambda p: _points(p, lang),
        reason=lambda code: _reason(str(code), lang) if code else "",
        plural_lv=plural_lv,
    )
    text = env.get_template(f"{name}_{lang}.txt.j2").render(**context)
    html = env.get_template(f"{name}_{lang}.html.j2").render(**context)
    return text, html


# --------------------------------------------------------------------------- headers


def alerts_header_items(alerts: Sequence[Alert]) -> list[dict[str, object]]:
    """The ``X-Kartiba-Alerts`` entries: ids, points and the excused flag only."""
    entries = [{"kind": str(a.kind), "lesson": a.lesson_id, "student": a.student_id,
                "points": list(a.points), "excused": a.excused} for a in alerts]
    return sorted(entries, key=lambda e: (e["lesson"] or "", e["student"] or "", e["kind"]))


def parse_alerts_header(message: EmailMessage | Any) -> list[dict[str, object]]:
    """Read ``X-Kartiba-Alerts`` back from a message (parsed with ``email.policy.default``,
    which also decodes an RFC 2047 fold of a very long id); [] when the header is absent."""
    value = message.get(ALERTS_HEADER)
    return json.loads(str(value)) if value is not None else []


def _domain(sender: str) -> str:
    domain = sender.rpartition("@")[2].strip(" >")
    return domain if re.fullmatch(r"[A-Za-z0-9.-]+", domain or "") else "kartiba.invalid"


def message_id(run_id: str, recipient: str, keys: Sequence[str], sender: str) -> str:
    """A deterministic Message-ID from the recipient and the items only (not the run).

    Ledger items are mailed once; when a run dies between the SMTP server's "accepted" and
    the ledger's "sent", the next run sends the same items again with the SAME Message-ID,
    so mail systems and clients recognise the copy. ``run_id`` stays in ``X-Kartiba-Run``.
    """
    del run_id  # deliberately not part of the id
    digest = hashlib.sha256("\n".join([recipient.lower(), *sorted(keys)])
                            .encode()).hexdigest()[:32]
    return f"<kartiba.{digest}@{_domain(sender)}>"


def _message(recipient: Recipient, subject: str, text: str, html: str, *, sender: str,
             lang: str, run_id: str, msg_id: str, now: dt.datetime | None) -> EmailMessage:
    """A multipart message with the common headers (addresses as ``Address`` objects)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    set_common_headers(msg, sender=sender, to=address(recipient.name, recipient.email),
                       subject=subject, message_id=msg_id, now=now, lang=lang)
    msg[RUN_HEADER] = run_id
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


# --------------------------------------------------------------------------- public API


def render_message(recipient: Recipient, items: Sequence[AlertItem], *, school_name: str,
                   sender: str, lang: str = "lv", run_id: str,
                   now: dt.datetime | None = None) -> EmailMessage:
    """One e-mail to one recipient grouping all their alert items of a run.

    Args:
        recipient: the addressee.
        items: the alerts with display fields (at least one).
        school_name: shown in the greeting.
        sender: the From address (also gives the Message-ID domain).
        lang: "lv" (default) or "en".
        run_id: the run, in ``X-Kartiba-Run`` and the Message-ID.
        now: the run's instant for the Date header (omitted when None).

    Raises:
        ValueError: no items, or an unsupported language.
    """
    if not items:
        raise ValueError("an alert message needs at least one item")
    ordered = sorted(items, key=AlertItem.sort_key)
    sections = [(kind.value, [i for i in ordered if i.kind == kind.value])
                for kind in AlertKind]
    sections = [(kind, group) for kind, group in sections if group]
    text, html = _render("alert", lang, recipient=recipient, school_name=school_name,
                         sections=sections, count=len(ordered))
    msg = _message(recipient, alert_subject(ordered, lang), text, html, sender=sender,
                   lang=lang, run_id=run_id, now=now,
                   msg_id=message_id(run_id, recipient.email,
                                     [i.alert.key for i in ordered], sender))
    msg[ALERTS_HEADER] = json.dumps(alerts_header_items([i.alert for i in ordered]),
                                    ensure_ascii=True, separators=(", ", ": "))
    return msg


def render_digest(recipient: Recipient, summary: Mapping[str, Any], *, school_name: str,
                  sender: str, lang: str = "lv", run_id: str, kind: str = "class_teacher",
                  now: dt.datetime | None = None) -> EmailMessage:
    """The weekly digest for a class teacher (point 21) or the oversight (point 6).

    ``summary`` keys: ``period`` (e.g. "2026-W48"), ``date_from``/``date_to`` (dates);
    ``absences``: rows ``{"group", "student", "excused", "unexcused"}``; ``uzdots``: rows
    ``{"group", "subject", "teacher", "missing", "late", "incomplete"}``; ``quota``: rows
    ``{"group", "subject", "remote_hours", "planned_hours", "share", "state"}`` with state
    "ok" | "warning" | "exceeded". Missing lists render as "nothing to report".
    """
    period = str(summary.get("period", ""))
    data = {
        "period": period,
        "date_from": summary.get("date_from"),
        "date_to": summary.get("date_to"),
        "absences": list(summary.get("absences", ())),
        "uzdots": list(summary.get("uzdots", ())),
        "quota": list(summary.get("quota", ())),
    }
    text, html = _render("digest", lang, recipient=recipient, school_name=school_name,
                         kind=kind, **data)
    span = ""
    if data["date_from"] and data["date_to"]:
        span = f", {_dmy(data['date_from'])}–{_dmy(data['date_to'])}"
    span = span.lstrip(", ")
    subject = (f"[kartiba] nedēļas pārskats par attālinātajām mācībām ({span or period})"
               if lang == "lv" else
               f"[kartiba] weekly remote-learning digest ({span or period})")
    msg = _message(recipient, subject, text, html, sender=sender, lang=lang, run_id=run_id,
                   now=now, msg_id=message_id(run_id, recipient.email,
                                              [f"digest:{kind}:{period}"], sender))
    msg[DIGEST_HEADER] = json.dumps({"kind": kind, "period": period}, ensure_ascii=True)
    return msg
