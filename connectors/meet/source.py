"""Google Meet conference records as :class:`connectors.base.MeetingSource` evidence.

For one lesson: list the conferences of the meeting code that overlap [lesson start - 30 min,
lesson end + 2 h], read their participants and each participant's sessions, and build one
:class:`Participant` per person (the signed-in user id, else the display name: Meet reports
no e-mail addresses) with all sessions merged. Meet deletes conference records 30 days after
the conference: an older lesson gets ``found=False`` and a log line saying why, never
absences. Meet gives no chat here: ``chat=None``. Answers are cached for the life of the
source (one run), so a joint lesson (point 15) costs one set of calls.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable

from connectors import _evidence
from connectors._evidence import WINDOW_AFTER, WINDOW_BEFORE, People, PersonKey, RunScopedSource
from connectors._evidence import merge_segments as merge_segments  # re-exported
from connectors._oauth import token_health
from connectors.errors import NotReadyError, RecordError
from connectors.meet.auth import JwtBearerAuth
from connectors.meet.client import MeetClient
from connectors.meet.models import ConferenceRecord, MeetParticipant, ParticipantSession
from mappings.model import MeetingEvidence, MeetingRef, Participant, Segment, Teacher

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

    Without sessions, the participant's first join to last leave is used.

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


class MeetMeetingSource(RunScopedSource):
    """Google Meet implementation of :class:`connectors.base.MeetingSource`.

    Args:
        client: the Meet API calls.
        auth: the token hook, used by :meth:`health`.
        retention_days: how long Meet keeps conference records.
        now: the run's instant (the job reads the clock once); None = the current time.
        before, after: the lesson window is [start - before, end + after] (policy).
    """

    platform = PLATFORM

    def __init__(self, client: MeetClient, auth: JwtBearerAuth | None = None, *,
                 retention_days: int = 30, now: dt.datetime | None = None,
                 before: dt.timedelta = WINDOW_BEFORE,
                 after: dt.timedelta = WINDOW_AFTER) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        super().__init__(before, after)
        self.client = client
        self.auth = auth
        self.retention = dt.timedelta(days=retention_days)
        self._now = now

    def fetch(self, ref: MeetingRef, lesson_start: dt.datetime, lesson_end: dt.datetime,
              host: Teacher | None, need_chat: bool = True) -> MeetingEvidence:
        """Evidence of the Meet meeting ``ref`` (key = meeting code) around one lesson.

        Raises:
            NotReadyError: a conference in the window is still in progress.
        """
        _evidence.check_request(ref, PLATFORM, "Meet", lesson_start, lesson_end)
        empty = _evidence.not_found(PLATFORM, ref.key, host)
        code = meeting_code(ref.key)
        if code is None:
            log.warning("meet: %r is not a Meet meeting code: no evidence", ref.key[:40])
            return empty
        now = self._now or dt.datetime.now(dt.UTC)
        if lesson_end < now - self.retention:
            log.info("meet: meeting %s: evidence unavailable, Meet keeps conference records "
                     "%d days and the lesson ended %s", code, self.retention.days,
                     lesson_end.isoformat())
            return empty
        window = self.window(lesson_start, lesson_end)
        conferences = [c for c in self._conferences(code, *window) if c.overlaps(*window)]
        if any(c.end_time is None for c in conferences):
            raise NotReadyError(f"meet: meeting {code}: a conference is still in progress",
                                upstream=PLATFORM)
        if not conferences:
            log.info("meet: meeting %s has no conference in the lesson window", code)
            return empty
        conferences.sort(key=lambda c: c.start_time)
        participants = group_participants(self._rows(conferences))
        log.info("meet: meeting %s: %d conference(s), %d participant(s)", code,
                 len(conferences), len(participants))
        return _evidence.found(PLATFORM, ref.key, host, participants, instances=len(conferences))

    def health(self) -> str:
        """Check that a delegated token can be obtained."""
        return token_health(self.auth, PLATFORM, "delegated")

    # -- cached calls

    def _conferences(self, code: str, start: dt.datetime,
                     end: dt.datetime) -> list[ConferenceRecord]:
        lo = start - LOOKBACK
        return self._cache.get(("conferences", code, lo, end),
                               lambda: self.client.conference_records(code, lo, end))

    def _rows(self, conferences: list[ConferenceRecord]):
        for conference in conferences:
            people = self._cache.get(("participants", conference.name),
                                     lambda c=conference: self.client.participants(c.name))
            for participant in people:
                sessions = self._cache.get(("sessions", participant.name),
                                           lambda p=participant: self.client.sessions(p.name))
                yield conference, participant, sessions
