"""Teams attendance as :class:`connectors.base.MeetingSource` evidence.

For one lesson: find the meeting from its join URL under the organizer (the lesson's teacher,
``host.email`` as the user principal name), take every attendance report (one per session)
overlapping [lesson start - 30 min, lesson end + 2 h], and turn their attendance records into
one :class:`Participant` per person (e-mail when present, else the identity id, else the
display name) with all join/leave intervals merged. Graph gives no chat here: ``chat=None``.
Answers are cached for the life of the source (one run), so a joint lesson (point 15) that
shares a meeting costs one set of calls.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from connectors import _evidence
from connectors._evidence import WINDOW_AFTER, WINDOW_BEFORE, People, PersonKey, RunScopedSource
from connectors._evidence import merge_segments as merge_segments  # re-exported
from connectors._oauth import token_health
from connectors.errors import NotFoundError, RecordError
from connectors.teams.auth import ClientCredentialsAuth
from connectors.teams.client import GraphClient, teams_encoded
from connectors.teams.models import AttendanceRecord, AttendanceReport, OnlineMeeting
from mappings.model import MeetingEvidence, MeetingRef, Participant, Segment, Teacher

log = logging.getLogger("kartiba.teams")

PLATFORM = "teams"


def join_url_candidates(ref: MeetingRef) -> list[str]:
    """Join URLs to look the meeting up by, best first: the link as the teacher wrote it,
    then the Teams-encoded form of the reference key (which may be decoded)."""
    out: list[str] = []
    for url in (ref.url, teams_encoded(ref.key), ref.key):
        if url and url not in out:
            out.append(url)
    return out


def person_key(record: AttendanceRecord) -> PersonKey | None:
    """Who a record belongs to: e-mail, else identity id, else display name (None if none)."""
    if record.email:
        return ("email", record.email.casefold())
    if record.identity_id:
        return ("id", record.identity_id)
    if record.display_name:
        return ("name", record.display_name.casefold())
    return None


def record_segments(record: AttendanceRecord, report: AttendanceReport) -> list[Segment]:
    """The record's intervals as segments; an open interval ends with the report.

    Raises:
        RecordError: an interval that ends before it starts.
    """
    out = []
    for interval in record.attendance_intervals:
        leave = interval.leave
        if leave is None and interval.duration_in_seconds is not None:
            leave = interval.join + dt.timedelta(seconds=interval.duration_in_seconds)
        leave = leave or report.meeting_end
        if leave < interval.join:
            raise RecordError("teams: attendance interval ends before it starts",
                              system=PLATFORM, record=record.record_ref)
        if leave > interval.join:
            out.append(Segment(interval.join, leave))
    return out


def group_participants(
    reports: Iterable[tuple[AttendanceReport, list[AttendanceRecord]]],
) -> tuple[Participant, ...]:
    """One participant per person over all reports; malformed records are logged and skipped."""
    people = People()
    for report, records in reports:
        for record in records:
            key = person_key(record)
            try:
                if key is None:
                    raise RecordError("teams: attendance record without e-mail, id or name",
                                      system=PLATFORM, record=record.record_ref)
                segments = record_segments(record, report)
            except RecordError as exc:
                log.warning("%s (report %s, record %s)", exc.message, report.id, exc.record)
                continue
            people.add(key, segments, name=record.display_name, email=record.email,
                       platform_id=record.identity_id)
    return people.participants()


class TeamsMeetingSource(RunScopedSource):
    """Teams (Microsoft Graph) implementation of :class:`connectors.base.MeetingSource`.

    Args:
        client: the Graph calls.
        auth: the token hook, used by :meth:`health`.
        before, after: the lesson window is [start - before, end + after] (policy).
    """

    platform = PLATFORM

    def __init__(self, client: GraphClient, auth: ClientCredentialsAuth | None = None, *,
                 before: dt.timedelta = WINDOW_BEFORE,
                 after: dt.timedelta = WINDOW_AFTER) -> None:
        super().__init__(before, after)
        self.client = client
        self.auth = auth

    def fetch(self, ref: MeetingRef, lesson_start: dt.datetime, lesson_end: dt.datetime,
              host: Teacher | None, need_chat: bool = True) -> MeetingEvidence:
        """Evidence of the Teams meeting ``ref`` (key = join URL) around one lesson."""
        _evidence.check_request(ref, PLATFORM, "Teams", lesson_start, lesson_end)
        empty = _evidence.not_found(PLATFORM, ref.key, host)
        if host is None or not host.email.strip():
            log.warning("teams: lesson teacher %s has no e-mail: cannot look up the organizer",
                        host.id if host else "-")
            return empty
        meeting = self._meeting(host.email, ref)
        if meeting is None:
            log.info("teams: no online meeting with this join URL for organizer %s", host.id)
            return empty
        window = self.window(lesson_start, lesson_end)
        reports = [r for r in self._reports_of(host.email, meeting.id) if r.overlaps(*window)]
        if not reports:
            log.info("teams: meeting %s has no attendance report in the lesson window",
                     meeting.id)
            return empty
        pairs = [(r, self._records_of(host.email, meeting.id, r.id)) for r in reports]
        participants = group_participants(sorted(pairs, key=lambda p: p[0].meeting_start))
        log.info("teams: meeting %s: %d report(s), %d participant(s)", meeting.id,
                 len(reports), len(participants))
        return _evidence.found(PLATFORM, ref.key, host, participants, instances=len(reports))

    def health(self) -> str:
        """Check that an app-only token can be obtained (Graph has no cheap app-only ping)."""
        return token_health(self.auth, PLATFORM, "app-only")

    # -- cached calls

    def _meeting(self, organizer: str, ref: MeetingRef) -> OnlineMeeting | None:
        def find() -> OnlineMeeting | None:
            for join_url in join_url_candidates(ref):
                try:
                    meeting = self.client.find_meeting(organizer, join_url)
                except NotFoundError:  # the organizer is not a user of this tenant
                    return None
                if meeting is not None:
                    return meeting
            return None

        return self._cache.get(("meeting", organizer.casefold(), ref.key), find)

    def _reports_of(self, organizer: str, meeting_id: str) -> list[AttendanceReport]:
        return self._cache.get(("reports", meeting_id),
                               lambda: self.client.attendance_reports(organizer, meeting_id))

    def _records_of(self, organizer: str, meeting_id: str,
                    report_id: str) -> list[AttendanceRecord]:
        return self._cache.get(
            ("records", meeting_id, report_id),
            lambda: self.client.attendance_records(organizer, meeting_id, report_id))
