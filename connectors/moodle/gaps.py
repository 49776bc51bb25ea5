"""Incomplete Moodle evidence: why, and which right is missing (issue 11, "no wrong n").

A real Moodle answers a missing right with warnings inside a normal answer, fewer users, users
without e-mails, or a refusal (``shared/real-moodle.md``). Each becomes an :class:`Incomplete`
with an :class:`~mappings.model.EvidenceGap` and a short, id-only detail naming the function,
Moodle's code and the right — what ``evidence_missing`` and ``kartiba check`` tell the school.
"""

from __future__ import annotations

from typing import Any

from connectors.moodle.models import WsWarning, warnings_of
from mappings.model import EvidenceGap

#: The right each function needs beyond ``webservice/rest:use`` (named in gaps and by check).
RIGHTS = {
    "core_course_get_course_module": "moodle/course:view",
    "core_enrol_get_enrolled_users": "moodle/course:viewparticipants",
    "mod_assign_get_assignments": "moodle/course:view",
    "mod_assign_get_submissions": "mod/assign:grade",
    "mod_assign_get_submission_status": "mod/assign:grade",
    "mod_quiz_get_quizzes_by_courses": "mod/quiz:view",
    "mod_quiz_get_user_attempts": "mod/quiz:viewreports",
    "core_completion_get_activities_completion_status": "report/progress:view",
}
USER_EMAIL_RIGHT = "moodle/course:useremail"
GROUPS_RIGHT = "moodle/site:accessallgroups"
#: ``accessdenied``: a user of a separate-groups course in no group of the account (recorded).
_CODE_RIGHTS = {"accessexception": "webservice/rest:use",
                "requireloginerror": "moodle/course:view", "accessdenied": GROUPS_RIGHT}


class Incomplete(Exception):
    """The evidence of one activity is incomplete: ``gap`` and ``detail`` say why."""

    def __init__(self, gap: EvidenceGap, detail: str) -> None:
        super().__init__(detail)
        self.gap = gap
        self.detail = detail


def right_of(function: str, errorcode: str = "") -> str:
    """The Moodle capability behind a refused call (``errorcode`` wins over ``function``)."""
    return _CODE_RIGHTS.get(errorcode) or RIGHTS.get(function, "")


def denied_detail(function: str, errorcode: str) -> str:
    """A short, id-only description of a refused call: function, code and the right."""
    right = right_of(function, errorcode)
    return f"{function}: {errorcode}" + (f" (needs {right})" if right else "")


def warning_detail(function: str, warning: WsWarning) -> str:
    """A short description of an answer's warning: function, code, item and the right."""
    right = RIGHTS.get(function, "")
    return (f"{function}: warningcode {warning.warningcode} for {warning.item} "
            f"{warning.itemid}" + (f" (needs {right})" if right else ""))


def raise_for_warnings(function: str, payload: Any) -> None:
    """Warnings in a per-student answer: what it lists may be incomplete."""
    for warning in warnings_of(payload):
        raise Incomplete(EvidenceGap.WARNINGS, warning_detail(function, warning))
