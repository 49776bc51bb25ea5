"""Shapes of the journal gateway's responses (contract v1, ``journal.xsd``).

zeep turns the SOAP body into Python values; these models check one record at a time, so a
malformed record can be reported and skipped while the rest is used. Field names follow the
XSD (camelCase on the wire, snake_case here).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from connectors._text import clean_name, normalise_address
from mappings.model import Agreement, NoticeKind, SubjectKind

log = logging.getLogger("kartiba.eklase")


class WsShape(BaseModel):
    """Base of the gateway shapes: camelCase aliases, unknown keys ignored, immutable."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              frozen=True)


def _none_to_empty(value: object) -> object:
    """zeep reads an empty text element as None; a text field may be empty."""
    return "" if value is None else value


def _address(value: object, info: ValidationInfo) -> object:
    """A usable e-mail address or "" (reported by the record's id): exactly one address,
    no control characters, the domain in IDNA form (see :mod:`connectors._text`)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if not isinstance(value, str):
        return value
    usable = normalise_address(value)
    if usable is None:
        log.warning("eklase: record %s: e-mail address unusable, ignored",
                    info.data.get("id", "?"))
        return ""
    return usable


class WsServiceInfo(WsShape):
    school_name: str
    gateway_version: str
    server_time: AwareDatetime
    contract_version: str | None = None  # contract 1.1; absent = 1.0
    account_id: str | None = None
    lesson_type_label: list[str] = []
    max_window_days: PositiveInt | None = None

    _labels = field_validator("lesson_type_label", mode="before")(lambda v: v or [])


class WsTeacher(WsShape):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: str = ""

    _name = field_validator("name", mode="before")(clean_name)
    _email = field_validator("email", mode="before")(_address)


class WsStudent(WsShape):
    id: str = Field(min_length=1)
    first_name: str = Field(min_length=1)
    last_name: str = Field(min_length=1)
    email: str = ""
    offline_mode: bool
    other_group_id: list[str] = []

    _names = field_validator("first_name", "last_name", mode="before")(clean_name)
    _email = field_validator("email", mode="before")(_address)
    _other = field_validator("other_group_id", mode="before")(lambda v: v or [])


class WsGroup(WsShape):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    class_teacher_id: str | None = None
    student: list[dict] = []  # validated one by one (WsStudent), so one bad row is skipped

    _name = field_validator("name", mode="before")(clean_name)
    _student = field_validator("student", mode="before")(lambda v: v or [])


class WsPlannedHours(WsShape):
    group_id: str = Field(min_length=1)
    hours: NonNegativeInt


class WsSubject(WsShape):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: SubjectKind
    planned_hours: list[WsPlannedHours] = []

    _name = field_validator("name", mode="before")(clean_name)
    _planned = field_validator("planned_hours", mode="before")(lambda v: v or [])


class WsTopic(WsShape):
    text: str
    entered_at: AwareDatetime

    _text = field_validator("text", mode="before")(_none_to_empty)


class WsAttachment(WsShape):
    name: str = Field(min_length=1)


class WsUzdots(WsShape):
    text: str
    attachment: list[WsAttachment] = []
    created_at: AwareDatetime
    modified_at: AwareDatetime | None = None
    author_id: str | None = None
    link: list[str] = []  # contract 1.1: every href of an HTML entry

    _text = field_validator("text", mode="before")(_none_to_empty)
    _attachment = field_validator("attachment", mode="before")(lambda v: v or [])
    _link = field_validator("link", mode="before")(lambda v: [str(x) for x in v or [] if x])


class WsMark(WsShape):
    student_id: str = Field(min_length=1)
    code: str = Field(min_length=1)
    excused: bool | None = None
    author_id: str = Field(min_length=1)
    entered_at: AwareDatetime


class WsMarkEdit(WsShape):
    student_id: str = Field(min_length=1)
    code: str | None = None  # None = the mark was deleted
    author_id: str = Field(min_length=1)
    at: AwareDatetime


class WsLesson(WsShape):
    id: str = Field(min_length=1)
    date: dt.date
    number: PositiveInt
    start: AwareDatetime
    end: AwareDatetime
    group_id: str = Field(min_length=1)
    subject_id: str = Field(min_length=1)
    teacher_id: list[str] = Field(min_length=1)
    lesson_type: str = Field(min_length=1)
    topic: WsTopic | None = None
    uzdots: WsUzdots | None = None
    mark: list[WsMark] = []
    cancelled: bool = False
    modified_at: AwareDatetime | None = None
    mark_edit: list[WsMarkEdit] = []

    _mark = field_validator("mark", "mark_edit", mode="before")(lambda v: v or [])
    _cancelled = field_validator("cancelled", mode="before")(lambda v: bool(v))

    @model_validator(mode="after")
    def _ends_after_start(self) -> WsLesson:
        if self.end <= self.start:
            raise ValueError("lesson end is not after its start")
        return self


class WsNotice(WsShape):
    id: str = Field(min_length=1)
    student_id: str = Field(min_length=1)
    kind: NoticeKind
    date_from: dt.date
    date_to: dt.date
    received_at: AwareDatetime
    agreement: Agreement | None = None
    new_due: AwareDatetime | None = None
    withdrawn_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> WsNotice:
        if self.date_to < self.date_from:
            raise ValueError("notice dateTo is before dateFrom")
        return self


class WsWriteResult(WsShape):
    status: Literal["created", "already-present", "refused"]
    reason: str | None = None
