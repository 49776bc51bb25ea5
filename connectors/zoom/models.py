"""Shapes of Zoom's JSON, as the API reference documents them (only the fields kartiba reads).

Unknown fields are ignored (Zoom adds fields over time); times must carry an offset (Zoom
sends UTC with ``Z``). Participant rows and recording files are validated one by one by the
client, so one malformed row is reported and skipped instead of failing the whole page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class _Zoom(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Reject naive times; keep aware ones as UTC instants."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("time without a UTC offset")
    return value.astimezone(dt.UTC)


class TokenResponse(_Zoom):
    """``POST /oauth/token`` (grant ``account_credentials``); there is no refresh token."""

    access_token: SecretStr
    token_type: str = "bearer"
    expires_in: int = Field(3600, gt=0)
    scope: str = ""


class ZoomErrorBody(_Zoom):
    """The error body of the REST API, e.g. ``{"code": 3001, "message": "..."}``."""

    code: int | None = None
    message: str = ""


class PastMeetingInstance(_Zoom):
    """One ended occurrence of a meeting id: ``GET /past_meetings/{id}/instances`` lists only
    instances that have ended (a running one is not a past meeting yet)."""

    uuid: str = Field(min_length=1)
    start_time: dt.datetime
    _aware = field_validator("start_time")(_aware)


class InstancesResponse(_Zoom):
    meetings: list[dict[str, Any]] = []


class MeetingDetails(_Zoom):
    """``GET /meetings/{meetingId}`` (only what kartiba reads): ``status`` is ``"started"``
    while an instance of the meeting runs, else ``"waiting"``."""

    uuid: str = ""
    status: str = ""

    @property
    def started(self) -> bool:
        return self.status.strip().lower() == "started"


class ReportParticipant(_Zoom):
    """One row of ``GET /report/meetings/{uuid}/participants`` (one join..leave session).

    Since March 2023 ``id`` and ``participant_user_id`` are empty for guests, and
    ``user_email`` is often empty: identity uses what exists.
    """

    id: str = ""
    user_id: str = ""
    name: str = ""
    user_email: str = ""
    join_time: dt.datetime
    leave_time: dt.datetime
    duration: int = 0
    status: str = "in_meeting"  # "in_meeting" | "in_waiting_room"
    registrant_id: str = ""
    participant_user_id: str = ""
    customer_key: str = ""
    failover: bool = False
    _aware = field_validator("join_time", "leave_time")(_aware)

    @field_validator("id", "user_id", "name", "user_email", "participant_user_id",
                     "registrant_id", "customer_key", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @property
    def in_waiting_room(self) -> bool:
        return self.status == "in_waiting_room"


class ParticipantsPage(_Zoom):
    """One page of the participant report; ``next_page_token`` empty on the last page."""

    page_count: int = 0
    page_size: int = 0
    total_records: int = 0
    next_page_token: str = ""
    participants: list[dict[str, Any]] = []

    @field_validator("next_page_token", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class RecordingFile(_Zoom):
    """One file of a cloud recording; the chat transcript has ``file_type`` ``"CHAT"``."""

    id: str = ""
    file_type: str = ""
    file_extension: str = ""
    download_url: str = ""
    recording_start: dt.datetime | None = None
    recording_end: dt.datetime | None = None
    status: str = ""
    _aware = field_validator("recording_start", "recording_end")(_aware)

    @property
    def is_chat(self) -> bool:
        return self.file_type.upper() == "CHAT"


class MeetingRecordings(_Zoom):
    """``GET /meetings/{uuid}/recordings`` (only the fields kartiba reads)."""

    uuid: str = ""
    start_time: dt.datetime | None = None
    recording_files: list[dict[str, Any]] = []
    _aware = field_validator("start_time")(_aware)


# --------------------------------------------------------------------------- webhooks


class WebhookParticipant(_Zoom):
    """``payload.object.participant`` of ``meeting.participant_joined`` / ``_left``."""

    user_name: str = ""
    email: str = ""
    id: str = ""
    participant_user_id: str = ""
    participant_uuid: str = ""
    join_time: dt.datetime | None = None
    leave_time: dt.datetime | None = None
    leave_reason: str = ""
    _aware = field_validator("join_time", "leave_time")(_aware)

    @field_validator("user_name", "email", "id", "participant_user_id", "participant_uuid",
                     "leave_reason", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class WebhookChatMessage(_Zoom):
    """``payload.object.chat_message`` of ``meeting.chat_message_sent``."""

    message_id: str = ""
    date_time: dt.datetime
    sender_name: str = ""
    sender_email: str = ""
    message_content: str = ""
    _aware = field_validator("date_time")(_aware)

    @field_validator("sender_name", "sender_email", "message_content", "message_id",
                     mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class WebhookObject(_Zoom):
    """``payload.object``: the meeting (numeric ``id``) and its instance ``uuid``."""

    id: str
    uuid: str = Field(min_length=1)
    participant: WebhookParticipant | None = None
    chat_message: WebhookChatMessage | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class WebhookPayload(_Zoom):
    account_id: str = ""
    object: WebhookObject


class WebhookEvent(_Zoom):
    """A meeting event as Zoom posts it: ``{"event", "event_ts" (ms), "payload"}``."""

    event: str
    event_ts: int = 0
    payload: WebhookPayload
