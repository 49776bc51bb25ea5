"""Shapes of the Microsoft Graph JSON the Teams connector reads (v1.0).

Only the fields kartiba uses are declared; unknown fields are ignored. Graph reports times
in UTC (``2021-10-05T04:38:23.945955Z``); a time without an offset is taken as UTC.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from connectors._models import VendorModel, naive_as_utc


class GraphUser(VendorModel):
    """``GET /users/{upn}?$select=id``: the user's object ID."""

    id: str = Field(min_length=1)


class OnlineMeeting(VendorModel):
    """An item of ``GET /users/{id}/onlineMeetings?$filter=JoinWebUrl eq '...'``."""

    id: str = Field(min_length=1)
    join_web_url: str = Field("", alias="joinWebUrl")


class AttendanceReport(VendorModel):
    """A ``meetingAttendanceReport``: one per session of the meeting, made when it ends."""

    id: str = Field(min_length=1)
    meeting_start: dt.datetime = Field(alias="meetingStartDateTime")
    meeting_end: dt.datetime = Field(alias="meetingEndDateTime")
    total_participant_count: int = Field(0, alias="totalParticipantCount")

    _aware = field_validator("meeting_start", "meeting_end")(naive_as_utc)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether this session overlaps the half-open window [start, end)."""
        return self.meeting_start < end and self.meeting_end > start


class AttendanceInterval(VendorModel):
    """One join/leave period of an attendee."""

    join: dt.datetime = Field(alias="joinDateTime")
    leave: dt.datetime | None = Field(None, alias="leaveDateTime")
    duration_in_seconds: int | None = Field(None, alias="durationInSeconds")

    _aware = field_validator("join", "leave")(naive_as_utc)


class Identity(VendorModel):
    """The ``identity`` of an attendance record (a user, a guest, a phone caller...)."""

    id: str | None = None
    display_name: str | None = Field(None, alias="displayName")


class AttendanceRecord(VendorModel):
    """An ``attendanceRecord``: one attendee of one report, with their intervals.

    External and anonymous attendees have no ``emailAddress``.
    """

    id: str | None = None
    email_address: str | None = Field(None, alias="emailAddress")
    identity: Identity | None = None
    role: str | None = None
    total_attendance_in_seconds: int | None = Field(None, alias="totalAttendanceInSeconds")
    attendance_intervals: list[AttendanceInterval] = Field(
        default_factory=list, alias="attendanceIntervals")

    @property
    def email(self) -> str:
        return (self.email_address or "").strip()

    @property
    def identity_id(self) -> str:
        return ((self.identity.id if self.identity else None) or "").strip()

    @property
    def display_name(self) -> str:
        return ((self.identity.display_name if self.identity else None) or "").strip()

    @property
    def record_ref(self) -> str:
        """An id for error reports: the record id or identity id, never a name or e-mail."""
        return self.id or self.identity_id or "?"
