"""Teams attendance as :class:`connectors.base.MeetingSource` evidence.

For one lesson: resolve the lesson's teacher (``host.email``) to an Entra object ID, find the
meeting from its join URL under that organizer, take the attendance reports (one per ended
session) that overlap the lesson itself, and turn their attendance records into one
:class:`Participant` per person (e-mail when present, else the identity id, else the display
name) with all join/leave intervals merged; the reports' spans are the evidence's
``sessions`` (the held part). Graph gives no chat here: ``chat=None``.

"No wrong n": what Graph cannot show is an evidence gap, never "nobody came":

* a 403 or 404 for the teacher or the meeting - ``no_access`` (the app's permission or the
  application access policy is missing) or ``organizer_unreadable`` (the meeting is organised
  by someone else, e.g. the regular teacher of a substitute's lesson: only the organizer
  or a co-organizer may read it);
* no report of the lesson yet, or the last one ending before the lesson does - a session
  may still be running (Graph makes a report only when a session ends):
  ``report_not_ready`` until the policy's window after the lesson has passed;
* the lesson older than the 50 most recent reports Graph lists: ``not_visible``.

Answers are cached for the life of the source (one run), so a joint lesson (point 15) that
shares a meeting costs one set of calls.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from connectors import _evidence
from connectors._evidence import WINDOW_AFTER, WINDOW_BEFORE, People, PersonKey, RunScopedSource
from connectors._evidence import merge_segments as merge_segments  # re-exported
from connectors._oauth import token_health
from connectors.errors import KartibaError, NotFoundError, PermissionDeniedError, RecordError
from connectors.teams.auth import ClientCredentialsAuth
from connectors.teams.client import (
    ACCESS_POLICY_HINT,
    MAX_REPORTS,
    USER_READ_HINT,
    GraphClient,
    policy_denied,
    teams_encoded,
)
from connectors.teams.models import AttendanceRecord, AttendanceReport, OnlineMeeting
from mappings.model import (
    EvidenceGap,
    MeetingEvidence,
    MeetingRef,
    Participant,
    Segment,
    Teacher,
)

log = logging.getLogger("kartiba.teams")

PLATFORM = "teams"
T = TypeVar("T")


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


def lesson_reports(reports: Iterable[AttendanceReport], lesson_start: dt.datetime,
                   lesson_end: dt.datetime) -> list[AttendanceReport]:
    """The reports of sessions that overlap the lesson itself, oldest first (a session of
    the previous lesson on the same recurring link is not this lesson's evidence)."""
    return sorted((r for r in reports if r.overlaps(lesson_start, lesson_end)),
                  key=lambda r: r.meeting_start)


def readiness_gap(reports: list[AttendanceReport], lesson: list[AttendanceReport],
                  lesson_start: dt.datetime, lesson_end: dt.datetime,
                  settled: bool) -> tuple[str, str]:
    """Why the lesson's reports are not (yet) the whole story: ``(gap, detail)`` or ``("", "")``.

    Args:
        reports: every report Graph listed (at most :data:`MAX_REPORTS`, newest first or not).
        lesson: those overlapping the lesson, oldest first.
        lesson_start, lesson_end: the lesson.
        settled: the policy's window after the lesson has passed (no session of the lesson
            can still be running).
    """
    if len(reports) >= MAX_REPORTS and min(r.meeting_start for r in reports) > lesson_start:
        return EvidenceGap.NOT_VISIBLE, "older_than_50_reports"
    if settled:
        return "", ""
    if not lesson:
        return EvidenceGap.REPORT_NOT_READY, "no_report_yet"
    if lesson[-1].meeting_end < lesson_end:
        return EvidenceGap.REPORT_NOT_READY, "session_may_be_running"
    return "", ""


def with_gap(evidence: MeetingEvidence, gap: str, detail: str) -> MeetingEvidence:
    """The evidence marked incomplete (no participants are read from it)."""
    return dataclasses.replace(evidence, gap=str(gap), gap_detail=detail)


class _Failed:
    """A cached failure, so a refused call is not repeated for every lesson of the run."""

    def __init__(self, error: KartibaError) -> None:
        self.error = error


class TeamsMeetingSource(RunScopedSource):
    """Teams (Microsoft Graph) implementation of :class:`connectors.base.MeetingSource`.

    Args:
        client: the Graph calls.
        auth: the token hook, used by :meth:`health`.
        now: the run's instant (the job reads the clock once); None = the current time.
        before, after: the lesson window is [start - before, end + after] (policy); until
            ``end + after`` a lesson's session may still be running.
    """

    platform = PLATFORM

    def __init__(self, client: GraphClient, auth: ClientCredentialsAuth | None = None, *,
                 now: dt.datetime | None = None, before: dt.timedelta = WINDOW_BEFORE,
                 after: dt.timedelta = WINDOW_AFTER) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        super().__init__(before, after)
        self.client = client
        self.auth = auth
        self._now = now

    def fetch(self, ref: MeetingRef, lesson_start: dt.datetime, lesson_end: dt.datetime,
              host: Teacher | None, need_chat: bool = True) -> MeetingEvidence:
        """Evidence of the Teams meeting ``ref`` (key = join URL) for one lesson.

        Raises:
            KartibaError: Graph failed after the client's retries (the job retries later).
        """
        _evidence.check_request(ref, PLATFORM, "Teams", lesson_start, lesson_end)
        empty = _evidence.not_found(PLATFORM, ref.key, host)
        if host is None or not host.email.strip():
            log.warning("teams: lesson teacher %s has no e-mail: cannot look up the organizer",
                        host.id if host else "-")
            return with_gap(empty, EvidenceGap.ORGANIZER_UNREADABLE, "teacher_without_email")
        try:
            organizer = self._organizer_id(host.email)
            meeting = self._meeting(organizer, ref)
            if meeting is None:
                log.info("teams: no online meeting with this join URL for organizer %s",
                         host.id)
                return empty
            reports = self._reports_of(organizer, meeting.id)
        except NotFoundError:
            log.warning("teams: teacher %s is not a user of this tenant (Graph 404): cannot "
                        "read the lesson's meeting", host.id)
            return with_gap(empty, EvidenceGap.ORGANIZER_UNREADABLE, "user_not_found")
        except PermissionDeniedError as exc:
            return self._denied(exc, empty, host)
        return self._evidence(ref, host, organizer, meeting, reports, lesson_start, lesson_end)

    def health(self) -> str:
        """Check that an app-only token can be obtained (Graph has no cheap app-only ping)."""
        return token_health(self.auth, PLATFORM, "app-only")

    # -- evidence

    def _evidence(self, ref: MeetingRef, host: Teacher, organizer: str,
                  meeting: OnlineMeeting, reports: list[AttendanceReport],
                  lesson_start: dt.datetime, lesson_end: dt.datetime) -> MeetingEvidence:
        lesson = lesson_reports(reports, lesson_start, lesson_end)
        empty = _evidence.not_found(PLATFORM, ref.key, host)
        gap, detail = readiness_gap(reports, lesson, lesson_start, lesson_end,
                                    self._settled(lesson_end))
        if gap:
            log.info("teams: meeting %s: evidence incomplete (%s: %s); a later run retries",
                     meeting.id, gap, detail)
            return with_gap(empty, gap, detail)
        if not lesson:
            log.info("teams: meeting %s has no attendance report overlapping the lesson",
                     meeting.id)
            return empty
        pairs = [(r, self._records_of(organizer, meeting.id, r.id)) for r in lesson]
        participants = group_participants(pairs)
        log.info("teams: meeting %s: %d report(s), %d participant(s)", meeting.id,
                 len(lesson), len(participants))
        evidence = _evidence.found(PLATFORM, ref.key, host, participants,
                                   instances=len(lesson))
        sessions = tuple(Segment(r.meeting_start, r.meeting_end) for r in lesson)
        return dataclasses.replace(evidence, sessions=sessions)

    def _settled(self, lesson_end: dt.datetime) -> bool:
        now = self._now or dt.datetime.now(dt.UTC)
        return now >= lesson_end + self.after

    @staticmethod
    def _denied(exc: PermissionDeniedError, empty: MeetingEvidence,
                host: Teacher) -> MeetingEvidence:
        if exc.message == USER_READ_HINT:
            log.warning("%s", exc.message)
            return with_gap(empty, EvidenceGap.NO_ACCESS, "User.Read.All")
        if policy_denied(exc):
            log.warning("%s (teacher %s)", ACCESS_POLICY_HINT, host.id)
            return with_gap(empty, EvidenceGap.NO_ACCESS, "application_access_policy")
        log.warning("teams: Graph refused the meeting under teacher %s (HTTP 403): the meeting "
                    "is organised by someone else (a substitute's lesson on the regular "
                    "teacher's link?); only its organizer or a co-organizer may read it",
                    host.id)
        return with_gap(empty, EvidenceGap.ORGANIZER_UNREADABLE, "not_organizer")

    # -- cached calls

    def _cached(self, key: tuple, compute: Callable[[], T]) -> T:
        """``compute`` once per run; a refusal or a missing object is cached too."""
        def outcome() -> T | _Failed:
            try:
                return compute()
            except (NotFoundError, PermissionDeniedError) as exc:
                return _Failed(exc)

        value = self._cache.get(key, outcome)
        if isinstance(value, _Failed):
            raise value.error
        return value

    def _organizer_id(self, upn: str) -> str:
        return self._cached(("user", upn.strip().casefold()),
                            lambda: self.client.user_id(upn))

    def _meeting(self, organizer: str, ref: MeetingRef) -> OnlineMeeting | None:
        def find() -> OnlineMeeting | None:
            for join_url in join_url_candidates(ref):
                meeting = self.client.find_meeting(organizer, join_url)
                if meeting is not None:
                    return meeting
            return None

        return self._cached(("meeting", organizer, ref.key), find)

    def _reports_of(self, organizer: str, meeting_id: str) -> list[AttendanceReport]:
        return self._cached(("reports", meeting_id),
                            lambda: self.client.attendance_reports(organizer, meeting_id))

    def _records_of(self, organizer: str, meeting_id: str,
                    report_id: str) -> list[AttendanceRecord]:
        return self._cache.get(
            ("records", meeting_id, report_id),
            lambda: self.client.attendance_records(organizer, meeting_id, report_id))
