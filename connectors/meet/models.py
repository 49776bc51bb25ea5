"""Shapes of the Google Meet REST API v2 JSON the Meet connector reads.

Only the fields kartiba uses are declared; unknown fields are ignored. Times are RFC 3339
timestamps in UTC (``2024-01-01T10:00:00.123456789Z``); one without an offset is taken as UTC.
Meet reports no e-mail addresses: a signed-in user has a ``users/{id}`` and a display name,
an anonymous or phone user only a display name.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from connectors._models import VendorModel, naive_as_utc


class ConferenceRecord(VendorModel):
    """One conference (one call) held in a meeting space."""

    name: str = Field(pattern=r"^conferenceRecords/[^/]+$")
    start_time: dt.datetime = Field(alias="startTime")
    end_time: dt.datetime | None = Field(None, alias="endTime")  # unset while ongoing
    expire_time: dt.datetime | None = Field(None, alias="expireTime")
    space: str = ""

    _aware = field_validator("start_time", "end_time", "expire_time")(naive_as_utc)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether the conference overlaps [start, end) (an ongoing one runs on)."""
        return self.start_time < end and (self.end_time is None or self.end_time > start)


class SignedinUser(VendorModel):
    user: str = ""  # users/{user}
    display_name: str = Field("", alias="displayName")


class NamedUser(VendorModel):
    """``anonymousUser`` and ``phoneUser`` (a phone user's name is a masked number)."""

    display_name: str = Field("", alias="displayName")


class MeetParticipant(VendorModel):
    """A participant of a conference; exactly one of the user fields is set."""

    name: str = Field(pattern=r"^conferenceRecords/[^/]+/participants/[^/]+$")
    earliest_start_time: dt.datetime | None = Field(None, alias="earliestStartTime")
    latest_end_time: dt.datetime | None = Field(None, alias="latestEndTime")
    signedin_user: SignedinUser | None = Field(None, alias="signedinUser")
    anonymous_user: NamedUser | None = Field(None, alias="anonymousUser")
    phone_user: NamedUser | None = Field(None, alias="phoneUser")

    _aware = field_validator("earliest_start_time", "latest_end_time")(naive_as_utc)

    @property
    def user_id(self) -> str:
        return (self.signedin_user.user if self.signedin_user else "").strip()

    @property
    def display_name(self) -> str:
        who = self.signedin_user or self.anonymous_user or self.phone_user
        return (who.display_name if who else "").strip()

    @property
    def kind(self) -> str:
        if self.signedin_user:
            return "signedin"
        return "phone" if self.phone_user else "anonymous"


class ParticipantSession(VendorModel):
    """One join-to-leave session of a participant (each rejoin is a new session)."""

    name: str = ""
    start_time: dt.datetime | None = Field(None, alias="startTime")
    end_time: dt.datetime | None = Field(None, alias="endTime")  # unset while connected

    _aware = field_validator("start_time", "end_time")(naive_as_utc)
