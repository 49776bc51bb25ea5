"""Shapes of the Moodle web-service JSON the connector reads (Moodle 4.5, REST, JSON format).

Only the fields kartiba uses are declared; Moodle's many other fields are ignored. Records are
validated one by one (see :func:`parse_items`), so one malformed record is reported and skipped
while the rest of the answer is used. Times are Unix seconds (UTC); 0 means "not set".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WsError(_Shape):
    """A web-service error: HTTP 200 with ``{"exception", "errorcode", "message"}``."""

    exception: str
    errorcode: str = ""
    message: str = ""


class LoginError(_Shape):
    """``/login/token.php`` failure: ``{"error", "errorcode"}``."""

    error: str
    errorcode: str = ""


class WsWarning(_Shape):
    """One item of an answer's ``warnings`` list (not an error: the rest of the answer holds)."""

    item: str = ""
    itemid: int | None = None
    warningcode: str = ""
    message: str = ""


class SiteInfo(_Shape):
    """``core_webservice_get_site_info``: who the token belongs to and what it may call."""

    sitename: str = ""
    userid: int
    release: str = ""
    version: str = ""
    functions: list[dict[str, Any]] = []

    @property
    def function_names(self) -> set[str]:
        return {str(f.get("name")) for f in self.functions}


class Assignment(_Shape):
    """An assignment; ``submissiondrafts``/``teamsubmission`` None = not known yet (the
    assignment was located through ``core_course_get_course_module``)."""

    id: int
    cmid: int
    course: int
    duedate: int = 0
    submissiondrafts: int | None = None  # 0: no submit button, saving is submitting
    teamsubmission: int | None = None


class Submission(_Shape):
    """One attempt: ``userid`` 0 with a ``groupid`` is a team's submission."""

    id: int | None = None
    userid: int
    status: str
    attemptnumber: int = 0
    timecreated: int = 0
    timemodified: int
    groupid: int = 0


class PreviousAttempt(_Shape):
    """An item of ``mod_assign_get_submission_status`` -> ``previousattempts``."""

    attemptnumber: int = 0
    submission: Submission | None = None


class Quiz(_Shape):
    id: int
    coursemodule: int
    course: int
    timeclose: int = 0


class QuizAttempt(_Shape):
    id: int | None = None
    userid: int
    state: str = ""
    timefinish: int = 0


class Role(_Shape):
    roleid: int | None = None
    shortname: str = ""


class UserGroup(_Shape):
    id: int
    name: str = ""


class EnrolledUser(_Shape):
    id: int
    fullname: str = ""
    email: str | None = None  # None: left out (the account lacks moodle/course:useremail)
    idnumber: str = ""
    roles: list[Role] | None = None  # None = Moodle did not tell (no capability to review roles)
    groups: list[UserGroup] | None = None  # None: no groups, or no moodle/site:accessallgroups


class CompletionStatus(_Shape):
    cmid: int
    modname: str = ""
    state: int = 0  # 0 incomplete, 1 complete, 2 complete-pass, 3 complete-fail
    timecompleted: int = 0
    tracking: int = 0  # 0 none, 1 manual, 2 automatic


class CourseModule(_Shape):
    id: int
    course: int
    modname: str
    instance: int


M = TypeVar("M", bound=BaseModel)


def parse_items(model: type[M], items: Any) -> tuple[list[M], list[tuple[int, Any, str]]]:
    """Validate a JSON list item by item.

    Returns:
        The valid items, and for each invalid one ``(index, raw item, reason)``; the reason
        names the offending fields only, never their values.
    """
    good: list[M] = []
    bad: list[tuple[int, Any, str]] = []
    for index, raw in enumerate(items if isinstance(items, list) else []):
        try:
            good.append(model.model_validate(raw))
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) or "(item)" for e in exc.errors()})
            bad.append((index, raw, "invalid " + ", ".join(fields)))
    return good, bad


def from_unix(seconds: int) -> dt.datetime | None:
    """A Moodle time (Unix seconds, 0 = not set) as an aware UTC datetime."""
    if not seconds:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def warnings_of(payload: Any) -> list[WsWarning]:
    """The ``warnings`` list of an answer, leniently parsed."""
    raw: Iterable[Any] = payload.get("warnings", []) if isinstance(payload, dict) else []
    good, _ = parse_items(WsWarning, list(raw))
    return good
