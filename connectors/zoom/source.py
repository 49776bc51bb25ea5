"""Zoom as a :class:`connectors.base.MeetingSource`: participants and chat around one lesson.

Only instances that overlap the lesson itself count (DESIGN "meeting instances": time is
counted only inside the lesson, kārtības 30. p.). ``GET /past_meetings/{id}/instances`` lists
the instances that have ENDED, with their start times only, and Zoom runs at most one instance
of a meeting id at a time, so an instance ended before the next one started. The instances
that *may* overlap the lesson (:func:`relevant_instances`) are those that started before the
lesson end, within 12 h before the lesson start, and are not followed by another instance that
started by the lesson start; their participant reports give their ends (the last leave), and
those that overlap the lesson are the evidence. An earlier instance of a recurring meeting
(the teacher's morning lesson on the same link) is never judged for this lesson.

Whether the lesson's own instance has ended: when the ended instances that overlap the lesson
do not reach its end, a running instance may still cover it (a restarted meeting, or one
running past the lesson), unless an ended instance started after the lesson end (a running
instance started after that one). Then one ``GET /meetings/{id}`` per meeting and run tells:
``status: "started"`` means the evidence is incomplete (gap ``meeting_running``, raised as
:class:`connectors.errors.NotReadyError`): no marks, the lesson is tried again at the next
run. A listed instance whose report answers 3001 is not ready either (``report_not_ready``).

Several instances (a restarted meeting, a personal meeting room used all day) are merged per
person; segments are kept raw, the rules clip them to the lesson. The evidence's
``sessions`` are the spans of the instances that overlap the lesson (the held part).

A person is the same across rows and instances by e-mail when Zoom gives one, else by the
Zoom user id (``participant_user_id``/``id``, empty for guests since March 2023), else by the
display name (case, spacing and diacritics folded). Waiting-room rows are not presence.

Removal by the host (kārtības 19. p.) comes from stored ``meeting.participant_left`` webhook
events whose ``leave_reason`` mentions both a removal and the host, in either order and any
case: "removed by host", "Participant was removed by the host", "Host removed the
participant" all count; "left the meeting" or "Host ended the meeting" do not.

Cost per meeting and run: one instance list, the report pages of each instance that may
overlap the lesson, with chat one recordings call per overlapping instance (+ one download
per chat file), and one ``GET /meetings/{id}`` only when no ended instance reaches the lesson
end (see above). Results are cached in the source object, which the jobs create once per run;
joint lessons sharing a meeting (kārtības 15. p.) reuse them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TypeVar

from connectors._evidence import RunScopedSource, found, not_found
from connectors._evidence import merge_segments as merge_segments  # re-exported
from connectors.base import WebhookLedger
from connectors.errors import NotFoundError, ProtocolError, RecordError
from connectors.zoom.chat import parse_chat
from connectors.zoom.client import GAP_MEETING_RUNNING, ZoomClient, not_ready
from connectors.zoom.models import PastMeetingInstance, ReportParticipant
from connectors.zoom.webhook import SYSTEM
from mappings.model import ChatLine, MeetingEvidence, MeetingRef, Participant, Segment, Teacher

log = logging.getLogger("kartiba.zoom")

LOOKBACK = dt.timedelta(hours=12)
EVENT_LEFT = "meeting.participant_left"
EVENT_CHAT = "meeting.chat_message_sent"

_REMOVED = re.compile(r"remov", re.IGNORECASE)
_HOST = re.compile(r"\b(co-?)?host", re.IGNORECASE)

T = TypeVar("T")
Key = tuple[str, str]


def is_removal(leave_reason: str) -> bool:
    """Whether a ``leave_reason`` says the host removed the participant (tolerant match)."""
    return bool(_REMOVED.search(leave_reason) and _HOST.search(leave_reason))


def fold_name(name: str) -> str:
    """A display name folded for comparison: casefold, diacritics removed, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


def identity_key(email: str, user_id: str, name: str) -> Key:
    """The key a person is grouped by: e-mail, else Zoom user id, else folded name."""
    if email.strip():
        return ("email", email.strip().casefold())
    if user_id.strip():
        return ("id", user_id.strip())
    return ("name", fold_name(name))


def relevant_instances(instances: Iterable[PastMeetingInstance], lesson_start: dt.datetime,
                       lesson_end: dt.datetime, lookback: dt.timedelta = LOOKBACK
                       ) -> list[PastMeetingInstance]:
    """The ended instances that may overlap the lesson, judged by start times alone.

    An instance is left out when it started at or after the lesson end, more than ``lookback``
    before the lesson start, or when the next instance of the meeting started by the lesson
    start (it ended before that one started). Whether a kept one really overlaps the lesson
    is known from its report (:func:`instance_span`).
    """
    ordered = sorted(instances, key=lambda i: i.start_time)
    out: list[PastMeetingInstance] = []
    for index, item in enumerate(ordered):
        later = ordered[index + 1].start_time if index + 1 < len(ordered) else None
        if item.start_time >= lesson_end or lesson_start - item.start_time > lookback:
            continue
        if later is not None and later <= lesson_start:
            continue
        out.append(item)
    return out


def instance_span(instance: PastMeetingInstance, rows: Sequence[ReportParticipant]) -> Segment:
    """An ended instance's start and end: its start time to the last leave in its report."""
    end = max((r.leave_time for r in rows), default=instance.start_time)
    return Segment(instance.start_time, max(end, instance.start_time))


def overlaps(span: Segment, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether ``span`` shares time with [start, end) (an empty span: starts inside it)."""
    if span.end == span.start:
        return start <= span.start < end
    return span.start < end and span.end > start


@dataclass
class _Person:
    """Rows of one person, collected across instances."""

    key: Key
    names: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    def identities(self) -> set[Key]:
        return ({("email", e.casefold()) for e in self.emails} | {("id", i) for i in self.ids}
                | {("name", fold_name(n)) for n in self.names})

    def participant(self, removed: bool) -> Participant:
        return Participant(name=self.names[0] if self.names else "",
                           email=self.emails[0] if self.emails else "",
                           platform_id=self.ids[0] if self.ids else "",
                           segments=merge_segments(self.segments), removed_by_host=removed)


class ZoomMeetingSource(RunScopedSource):
    """Evidence of Zoom meetings for the rules (one object per run: it caches).

    Args:
        client: the Zoom API client.
        webhooks: the ledger of verified webhook events (removals, chat), if the school
            receives them.
        policy_before_min, policy_after_min: the policy's window around the lesson (kept for
            the shared interface; time counts only inside the lesson, so an instance counts
            when it overlaps the lesson itself).
        max_workers: instances fetched in parallel.
    """

    platform = "zoom"

    def __init__(self, client: ZoomClient, webhooks: WebhookLedger | None = None,
                 policy_before_min: int = 30, policy_after_min: int = 120,
                 max_workers: int = 4) -> None:
        super().__init__(before=dt.timedelta(minutes=policy_before_min),
                         after=dt.timedelta(minutes=policy_after_min))
        self.client = client
        self.webhooks = webhooks
        self.max_workers = max(1, max_workers)
        self._errors_lock = threading.Lock()
        self._errors: list[RecordError] = []

    @property
    def record_errors(self) -> list[RecordError]:
        """Malformed upstream records skipped so far (system + id, no personal data)."""
        with self._errors_lock:
            return [*self.client.record_errors, *self._errors]

    def health(self) -> str:
        return self.client.health()

    def fetch(self, ref: MeetingRef, lesson_start: dt.datetime, lesson_end: dt.datetime,
              host: Teacher | None, need_chat: bool = True) -> MeetingEvidence:
        """Participants (and chat) of the ended instances of ``ref.key`` overlapping a lesson.

        Raises:
            NotReadyError: the evidence is not complete yet; its ``gap`` says why:
                ``meeting_running`` (the lesson's own instance has not ended) or
                ``report_not_ready`` (an ended instance has no participant report yet, 3001).
            UpstreamError: other failures (auth, rate limit, transport).
        """
        meeting_id = ref.key
        instances = self._cache.get(("instances", meeting_id),
                                    lambda: self._list_instances(meeting_id))
        if instances is None:
            return not_found(self.platform, meeting_id, host)
        held = self._held(meeting_id, instances, lesson_start, lesson_end)
        if not held:
            log.info("zoom: meeting %s: no ended instance overlaps the lesson (%d known)",
                     meeting_id, len(instances))
            return not_found(self.platform, meeting_id, host)
        uuids = [i.uuid for i, _ in held]
        rows = [self._report(u) for u in uuids]  # cached by _held
        chats = (self._each(uuids, lambda u: self._cache.get(("chat", u),
                                                             lambda: self._instance_chat(u)))
                 if need_chat else [None] * len(uuids))
        removals = [self._removals(u) for u in uuids]
        participants = _people(rows, removals)
        chat = (_combine_chat(chats, [line for u in uuids for line in self._webhook_chat(u)])
                if need_chat else None)
        log.info("zoom: meeting %s: %d instance(s) %s, %d participant(s), %s chat line(s)",
                 meeting_id, len(uuids), uuids, len(participants),
                 "no" if chat is None else len(chat))
        evidence = found(self.platform, meeting_id, host, participants, len(uuids), chat=chat)
        return replace(evidence, sessions=tuple(span for _, span in held))

    def _held(self, meeting_id: str, instances: Sequence[PastMeetingInstance],
              lesson_start: dt.datetime, lesson_end: dt.datetime
              ) -> list[tuple[PastMeetingInstance, Segment]]:
        """The ended instances overlapping the lesson, with their spans.

        Raises:
            NotReadyError: a report is not ready, or the lesson's own instance still runs.
        """
        maybe = relevant_instances(instances, lesson_start, lesson_end)
        reports = self._each([i.uuid for i in maybe], self._report)
        held = [(item, span) for item, rows in zip(maybe, reports, strict=True)
                if overlaps(span := instance_span(item, rows), lesson_start, lesson_end)]
        reached = max((span.end for _, span in held), default=None)
        later_ended = any(i.start_time >= lesson_end for i in instances)
        if (reached is None or reached < lesson_end) and not later_ended \
                and self._running(meeting_id):
            raise not_ready(f"zoom: meeting {meeting_id} is still running; the lesson's "
                            "instance has not ended", GAP_MEETING_RUNNING)
        return held

    # -- per meeting / instance (cached)

    def _report(self, uuid: str) -> list[ReportParticipant]:
        return self._cache.get(("participants", uuid), lambda: self._rows(uuid))

    def _running(self, meeting_id: str) -> bool:
        """Whether an instance of the meeting runs now (one ``GET /meetings/{id}`` per run)."""
        def ask() -> bool:
            details = self.client.meeting(meeting_id)
            running = details is not None and details.started
            log.info("zoom: meeting %s status %s", meeting_id,
                     details.status if details is not None else "unknown (3001)")
            return running
        return self._cache.get(("running", meeting_id), ask)

    def _list_instances(self, meeting_id: str) -> list[PastMeetingInstance] | None:
        """The meeting's ended instances; None when Zoom has no such meeting."""
        try:
            return self.client.instances(meeting_id)
        except NotFoundError:
            log.info("zoom: meeting %s does not exist", meeting_id)
            return None

    def _rows(self, uuid: str) -> list[ReportParticipant]:
        rows: list[ReportParticipant] = []
        skipped = 0
        for row in self.client.participants(uuid):
            if row.in_waiting_room:
                skipped += 1
            elif row.leave_time < row.join_time:
                self._bad(f"instance {uuid} session {row.user_id or '?'}",
                          "leave_time before join_time")
            else:
                rows.append(row)
        log.info("zoom: instance %s: %d report row(s), %d waiting-room row(s) excluded", uuid,
                 len(rows), skipped)
        return rows

    def _instance_chat(self, uuid: str) -> tuple[ChatLine, ...] | None:
        """The chat of an instance's cloud recording; None when it has no chat file."""
        recording = self.client.recordings(uuid)
        files = self.client.chat_files(recording) if recording is not None else []
        if not files:
            return None
        lines: list[ChatLine] = []
        for item in files:
            try:
                content = self.client.download(item.download_url)
            except ProtocolError as exc:
                self._bad(f"instance {uuid} chat file {item.id or '?'}", exc.message)
                continue
            assert item.recording_start is not None  # chat_files() keeps only those with one
            parsed, errors = parse_chat(content, item.recording_start, source=f"instance {uuid}")
            lines.extend(parsed)
            with self._errors_lock:
                self._errors.extend(errors)
        return tuple(lines)

    def _events(self, uuid: str) -> list[dict]:
        if self.webhooks is None:
            return []
        return list(self.webhooks.events(SYSTEM, uuid))

    def _removals(self, uuid: str) -> list[dict]:
        out = []
        for event in self._events(uuid):
            participant = event.get("participant") or {}
            if event.get("event") == EVENT_LEFT and is_removal(
                    str(participant.get("leave_reason") or "")):
                out.append(participant)
        return out

    def _webhook_chat(self, uuid: str) -> list[ChatLine]:
        out = []
        for event in self._events(uuid):
            msg = event.get("chat_message")
            if event.get("event") != EVENT_CHAT or not isinstance(msg, dict):
                continue
            try:
                at = dt.datetime.fromisoformat(str(msg.get("date_time")))
            except ValueError:
                self._bad(f"instance {uuid} webhook chat message", "date_time")
                continue
            if at.tzinfo is None:
                self._bad(f"instance {uuid} webhook chat message", "date_time without offset")
                continue
            out.append(ChatLine(at=at, name=str(msg.get("sender_name") or ""),
                                text="",  # the receiver never stores the message text
                                email=str(msg.get("sender_email") or "")))
        return out

    # -- helpers

    def _each(self, uuids: Sequence[str], work: Callable[[str], T]) -> list[T]:
        if len(uuids) <= 1 or self.max_workers == 1:
            return [work(u) for u in uuids]
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(uuids)),
                                thread_name_prefix="zoom") as pool:
            futures = [pool.submit(work, u) for u in uuids]
            return [f.result() for f in futures]

    def _bad(self, record: str, what: str) -> None:
        error = RecordError(f"zoom: malformed record skipped ({record}: {what})", system="zoom",
                            record=record)
        with self._errors_lock:
            self._errors.append(error)
        log.warning("%s", error.message)


def _people(rows_per_instance: Sequence[Sequence[ReportParticipant]],
            removals_per_instance: Sequence[Sequence[dict]]) -> tuple[Participant, ...]:
    """Rows of every instance grouped per person; removal flags from webhook events."""
    people: dict[Key, _Person] = {}
    for rows in rows_per_instance:
        for row in sorted(rows, key=lambda r: r.join_time):
            user_id = row.participant_user_id or row.id
            key = identity_key(row.user_email, user_id, row.name)
            person = people.setdefault(key, _Person(key))
            for bucket, value in ((person.names, row.name.strip()),
                                  (person.emails, row.user_email.strip()),
                                  (person.ids, user_id.strip())):
                if value and value not in bucket:
                    bucket.append(value)
            if row.leave_time > row.join_time:
                person.segments.append(Segment(row.join_time, row.leave_time))
    removed: set[Key] = set()
    for removals in removals_per_instance:
        for event in removals:
            removed |= _removed_keys(event, people.values())
    ordered = sorted(people.values(), key=lambda p: (p.segments[0].start if p.segments
                                                     else dt.datetime.max.replace(tzinfo=dt.UTC),
                                                     p.key))
    return tuple(p.participant(p.key in removed) for p in ordered)


def _removed_keys(event: dict, people: Iterable[_Person]) -> set[Key]:
    """The people a removal event names: by e-mail, else user id, else folded name."""
    people = list(people)
    candidates = [
        ("email", str(event.get("email") or "").strip().casefold()),
        ("id", str(event.get("participant_user_id") or event.get("id") or "").strip()),
        ("name", fold_name(str(event.get("user_name") or ""))),
    ]
    for key in candidates:
        if not key[1]:
            continue
        hits = {p.key for p in people if key in p.identities()}
        if hits:
            return hits
    return set()


def _combine_chat(chats: Sequence[tuple[ChatLine, ...] | None],
                  webhook: Sequence[ChatLine] = ()) -> tuple[ChatLine, ...] | None:
    """Recording chat and webhook chat of all instances, duplicates dropped, by time.

    A line is the same message when sender and second agree (the webhook keeps no text,
    kārtības 30. p. needs only who wrote when); the webhook's copy is kept, it has e-mails.
    """
    if all(c is None for c in chats) and not webhook:
        return None
    seen: set[tuple[int, str]] = set()
    out: list[ChatLine] = []
    for line in [*webhook, *(line for c in chats if c for line in c)]:
        key = (int(line.at.timestamp()), fold_name(line.name))
        if key in seen:
            continue
        seen.add(key)
        out.append(line)
    return tuple(sorted(out, key=lambda line: line.at))
