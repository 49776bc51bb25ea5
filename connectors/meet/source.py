"""Google Meet conference records as :class:`connectors.base.MeetingSource` evidence.

For one lesson, acting as the lesson's teacher (the API shows a conference only to its
space owner or a participant; ``meet.subject`` is an optional fallback account): list the
conferences of the meeting code, keep those that overlap the lesson itself (a conference
of the previous lesson on the same code is not this lesson's evidence), read their
participants and each participant's sessions, and build one :class:`Participant` per person
(the signed-in user id, else the kind and display name: Meet reports no e-mail addresses;
anonymous and phone users have only a display name) with all sessions merged. The
conferences' spans are the evidence's ``sessions`` (the held part).

"No wrong n": a conference still running (no ``endTime``) is ``meeting_running``; a
participant session without ``endTime`` in an ended conference is ``report_not_ready``; a
teacher the service account may not act as is ``no_access``. Meet deletes conference
records 30 days after the conference: an older lesson gets ``found=False`` and a log line
saying why, never absences. Meet gives no chat here: ``chat=None``. Answers are cached for
the life of the source (one run), so a joint lesson (point 15) costs one set of calls.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Iterable, Iterator

from connectors import _evidence
from connectors._evidence import WINDOW_AFTER, WINDOW_BEFORE, People, PersonKey, RunScopedSource
from connectors._evidence import merge_segments as merge_segments  # re-exported
from connectors._oauth import token_health
from connectors.errors import AuthError, PermissionDeniedError, RecordError
from connectors.meet.auth import DelegatedAuths
from connectors.meet.client import MeetClient, MeetClients
from connectors.meet.models import ConferenceRecord, MeetParticipant, ParticipantSession
from mappings.model import (
    EvidenceGap,
    MeetingEvidence,
    MeetingRef,
    Participant,
    Segment,
    Teacher,
)

log = logging.getLogger("kartiba.meet")

PLATFORM = "meet"
LOOKBACK = dt.timedelta(hours=24)  # a Meet call lasts at most 24 h: find ones started earlier
_CODE = re.compile(r"^([a-z]{3})-?([a-z]{4})-?([a-z]{3})$")


def meeting_code(key: str) -> str | None:
    """The canonical ``abc-defg-hij`` form of a meeting code, or None if it is not one."""
    match = _CODE.match(key.strip().lower())
    return "-".join(match.groups()) if match else None


def person_key(participant: MeetParticipant) -> PersonKey | None:
    """Who a participant is: the signed-in user id, else the kind and display name."""
    if participant.user_id:
        return ("user", participant.user_id)
    if participant.display_name:
        return (participant.kind, participant.display_name.casefold())
    return None


def session_segments(participant: MeetParticipant, sessions: list[ParticipantSession],
                     conference: ConferenceRecord) -> list[Segment]:
    """A participant's sessions as segments; an open session ends with the participant.

    Without sessions, the participant's first join to last leave is used. (Open sessions
    never get here from :meth:`MeetMeetingSource.fetch`: they make the evidence incomplete.)

    Raises:
        RecordError: a session without a start, or one that ends before it starts.
    """
    last = participant.latest_end_time or conference.end_time
    spans = [(s.start_time, s.end_time or last) for s in sessions]
    if not sessions and participant.earliest_start_time is not None:
        spans = [(participant.earliest_start_time, last)]
    out = []
    for start, end in spans:
        if start is None or end is None or end < start:
            raise RecordError("meet: participant session without a valid start and end",
                              system=PLATFORM, record=participant.name)
        if end > start:
            out.append(Segment(start, end))
    return out


def group_participants(
    rows: Iterable[tuple[ConferenceRecord, MeetParticipant, list[ParticipantSession]]],
) -> tuple[Participant, ...]:
    """One participant per person over all conferences; malformed rows are logged, skipped."""
    people = People()
    for conference, participant, sessions in rows:
        key = person_key(participant)
        try:
            if key is None:
                raise RecordError("meet: participant without user id or display name",
                                  system=PLATFORM, record=participant.name)
            segments = session_segments(participant, sessions, conference)
        except RecordError as exc:
            log.warning("%s (record %s)", exc.message, exc.record)
            continue
        people.add(key, segments, name=participant.display_name,
                   platform_id=participant.user_id)
    return people.participants()


Row = tuple[ConferenceRecord, MeetParticipant, list[ParticipantSession]]


def lesson_conferences(conferences: Iterable[ConferenceRecord], lesson_start: dt.datetime,
                       lesson_end: dt.datetime) -> list[ConferenceRecord]:
    """The conferences that overlap the lesson itself, oldest first."""
    return sorted((c for c in conferences if c.overlaps(lesson_start, lesson_end)),
                  key=lambda c: c.start_time)


def open_session(rows: Iterable[Row]) -> bool:
    """Whether a participant is still connected (a session, or the participant, without an
    end): the conference's record is not final yet."""
    for _conference, participant, sessions in rows:
        if any(s.end_time is None for s in sessions):
            return True
        if not sessions and participant.latest_end_time is None:
            return True
    return False


def with_gap(evidence: MeetingEvidence, gap: str, detail: str) -> MeetingEvidence:
    """The evidence marked incomplete (no participants are read from it)."""
    return dataclasses.replace(evidence, gap=str(gap), gap_detail=detail)


class MeetMeetingSource(RunScopedSource):
    """Google Meet implementation of :class:`connectors.base.MeetingSource`.

    Args:
        clients: the Meet API calls, one client per impersonated user.
        auths: the token hooks per impersonated user, used by :meth:`health`.
        fallback_subject: a shared organiser account asked when the teacher has no e-mail
            or sees no conference of the lesson ("" = none).
        retention_days: how long Meet keeps conference records.
        now: the run's instant (the job reads the clock once); None = the current time.
        before, after: the lesson window is [start - before, end + after] (policy).
    """

    platform = PLATFORM

    def __init__(self, clients: MeetClients, auths: DelegatedAuths | None = None, *,
                 fallback_subject: str = "", retention_days: int = 30,
                 now: dt.datetime | None = None, before: dt.timedelta = WINDOW_BEFORE,
                 after: dt.timedelta = WINDOW_AFTER) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        super().__init__(before, after)
        self.clients = clients
        self.auths = auths
        self.fallback_subject = fallback_subject
        self.retention = dt.timedelta(days=retention_days)
        self._now = now

    def fetch(self, ref: MeetingRef, lesson_start: dt.datetime, lesson_end: dt.datetime,
              host: Teacher | None, need_chat: bool = True) -> MeetingEvidence:
        """Evidence of the Meet meeting ``ref`` (key = meeting code) for one lesson.

        Raises:
            KartibaError: the Meet API failed after the client's retries (the job retries).
        """
        _evidence.check_request(ref, PLATFORM, "Meet", lesson_start, lesson_end)
        empty = _evidence.not_found(PLATFORM, ref.key, host)
        code = meeting_code(ref.key)
        if code is None:
            log.warning("meet: %r is not a Meet meeting code: no evidence", ref.key[:40])
            return with_gap(empty, EvidenceGap.INVALID_LINK, "not_a_meeting_code")
        now = self._now or dt.datetime.now(dt.UTC)
        if lesson_end < now - self.retention:
            log.info("meet: meeting %s: evidence unavailable, Meet keeps conference records "
                     "%d days and the lesson ended %s", code, self.retention.days,
                     lesson_end.isoformat())
            return empty
        subjects = self._subjects(host)
        if not subjects:
            log.warning("meet: lesson teacher %s has no e-mail and meet.subject is not set: "
                        "no one to act as", host.id if host else "-")
            return with_gap(empty, EvidenceGap.ORGANIZER_UNREADABLE, "teacher_without_email")
        return self._evidence(ref, host, code, subjects, lesson_start, lesson_end)

    def health(self) -> str:
        """Check that the service account obtains a token (as ``meet.subject`` if set)."""
        if self.auths is None:
            return token_health(None, PLATFORM, "delegated")
        return token_health(self.auths.for_subject(self.fallback_subject), PLATFORM,
                            "delegated" if self.fallback_subject else "service account")

    # -- evidence

    def _subjects(self, host: Teacher | None) -> list[str]:
        """Whom to act as, in order: the lesson's teacher, then the fallback account."""
        out = [host.email.strip()] if host is not None and host.email.strip() else []
        fallback = self.fallback_subject
        if fallback and all(fallback.casefold() != s.casefold() for s in out):
            out.append(fallback)
        return out

    def _evidence(self, ref: MeetingRef, host: Teacher | None, code: str, subjects: list[str],
                  lesson_start: dt.datetime, lesson_end: dt.datetime) -> MeetingEvidence:
        empty = _evidence.not_found(PLATFORM, ref.key, host)
        window = self.window(lesson_start, lesson_end)
        refused: tuple[str, str] | None = None
        for subject in subjects:
            try:
                listed = self._conferences(subject, code, *window)
            except (AuthError, PermissionDeniedError) as exc:
                refused = (EvidenceGap.NO_ACCESS, _refusal(exc))
                log.warning("meet: meeting %s: cannot act as %s (%s)", code,
                            "the teacher" if subject == subjects[0] and host else
                            "meet.subject", exc.message)
                continue
            conferences = lesson_conferences(listed, lesson_start, lesson_end)
            if conferences:
                return self._read(ref, host, code, subject, conferences)
        if refused is not None:
            return with_gap(empty, *refused)
        log.info("meet: meeting %s has no conference overlapping the lesson visible to its "
                 "teacher", code)
        return empty

    def _read(self, ref: MeetingRef, host: Teacher | None, code: str, subject: str,
              conferences: list[ConferenceRecord]) -> MeetingEvidence:
        empty = _evidence.not_found(PLATFORM, ref.key, host)
        if any(c.end_time is None for c in conferences):
            log.info("meet: meeting %s: a conference of the lesson is still running", code)
            return with_gap(empty, EvidenceGap.MEETING_RUNNING, "conference_without_end")
        rows = list(self._rows(self.clients.as_user(subject), conferences))
        if open_session(rows):
            log.info("meet: meeting %s: a participant session has no end yet", code)
            return with_gap(empty, EvidenceGap.REPORT_NOT_READY, "session_without_end")
        participants = group_participants(rows)
        log.info("meet: meeting %s: %d conference(s), %d participant(s)", code,
                 len(conferences), len(participants))
        evidence = _evidence.found(PLATFORM, ref.key, host, participants,
                                   instances=len(conferences))
        sessions = tuple(Segment(c.start_time, c.end_time) for c in conferences
                         if c.end_time is not None)
        return dataclasses.replace(evidence, sessions=sessions)

    # -- cached calls

    def _conferences(self, subject: str, code: str, start: dt.datetime,
                     end: dt.datetime) -> list[ConferenceRecord]:
        lo = start - LOOKBACK
        client = self.clients.as_user(subject)

        def listed() -> list[ConferenceRecord] | _Refused:
            try:
                return client.conference_records(code, lo, end)
            except (AuthError, PermissionDeniedError) as exc:  # asked once per run
                return _Refused(exc)

        value = self._cache.get(("conferences", subject.casefold(), code, lo, end), listed)
        if isinstance(value, _Refused):
            raise value.error
        return value

    def _rows(self, client: MeetClient, conferences: list[ConferenceRecord]) -> Iterator[Row]:
        for conference in conferences:
            people = self._cache.get(("participants", conference.name),
                                     lambda c=conference: client.participants(c.name))
            for participant in people:
                sessions = self._cache.get(("sessions", participant.name),
                                           lambda p=participant: client.sessions(p.name))
                yield conference, participant, sessions


class _Refused:
    """A cached refusal, so a teacher the account may not act as is asked once a run."""

    def __init__(self, error: AuthError | PermissionDeniedError) -> None:
        self.error = error


def _refusal(exc: AuthError | PermissionDeniedError) -> str:
    """A short id-only detail of a refusal (the OAuth error code or the HTTP status)."""
    if isinstance(exc, AuthError) and exc.detail.isidentifier():
        return f"delegation_refused:{exc.detail}"
    return f"http_{exc.status}" if exc.status else "refused"
