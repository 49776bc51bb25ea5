"""Who an alert goes to: the alert's audiences resolved to e-mail addresses.

teacher = the lesson's teacher (point 33); class_teacher = the class teacher of the student's
home group (a student of a subgroup keeps their own), of each student an alert lists, else of
the lesson's group (points 19, 22, 32); oversight = the
school's oversight addresses (point 6); parents only on request (point 32) and only where the
school data has their address. A role whose address is unknown is skipped with a log line
that names ids only.
"""

from __future__ import annotations

import logging
from email.utils import parseaddr

from mappings.model import Alert, Audience, Lesson, School, Teacher
from sync_jobs.alerts.compose import Recipient

log = logging.getLogger("kartiba.alerts")


def _valid(email: str) -> bool:
    _, addr = parseaddr(email or "")
    local, _, domain = addr.partition("@")
    return bool(local) and "." in domain and addr == (email or "").strip()


def _teacher(teacher_id: str | None, school: School, alert: Alert, role: str) -> list[Recipient]:
    teacher: Teacher | None = school.teachers.get(teacher_id) if teacher_id else None
    if teacher is None or not _valid(teacher.email):
        log.warning("alert %s: no usable e-mail for %s (teacher %s)", alert.key, role,
                    teacher_id or "-")
        return []
    return [Recipient(email=teacher.email.strip(), name=teacher.name, role=role)]


def _class_groups(alert: Alert, lesson: Lesson | None, school: School) -> list[str]:
    """The groups whose class teachers hear of an alert (points 19, 22, 32).

    A student's own home group (a student of a subgroup or a shared module keeps their class
    teacher); for an alert about several students (``detail["marked_students"]``) each one's home
    group; else the lesson's group.
    """
    ids = [alert.student_id] if alert.student_id else _detail_students(alert)
    homes = [school.students[sid].group_id for sid in ids if sid in school.students]
    if homes:
        return sorted(set(homes), key=homes.index)
    return [lesson.group_id] if lesson is not None else []


def _detail_students(alert: Alert) -> list[str]:
    return [str(s) for s in alert.detail.get("marked_students") or ()]


def _for_audience(audience: Audience, alert: Alert, lesson: Lesson | None,
                  school: School, parents: bool) -> list[Recipient]:
    if audience is Audience.TEACHER:
        return _teacher(lesson.teacher_id if lesson else None, school, alert, "teacher")
    if audience is Audience.CLASS_TEACHER:
        found: list[Recipient] = []
        for group_id in _class_groups(alert, lesson, school):
            group = school.groups.get(group_id)
            found += _teacher(group.class_teacher_id if group else None, school, alert,
                              "class_teacher")
        return found
    if audience is Audience.OVERSIGHT:
        found = [Recipient(email=e.strip(), name="", role="oversight")
                 for e in school.oversight if _valid(e)]
        if len(found) != len(school.oversight) or not found:
            log.warning("alert %s: %d oversight address(es) unusable or none configured",
                        alert.key, len(school.oversight) - len(found))
        return found
    if audience is Audience.PARENTS and parents:
        log.warning("alert %s: parents requested but the school data has no parent "
                    "addresses (student %s)", alert.key, alert.student_id or "-")
    return []


def resolve(alert: Alert, lesson: Lesson | None, school: School, *,
            parents: bool = False) -> list[Recipient]:
    """The recipients of one alert, one per address (the first role wins), in audience order.

    Args:
        alert: the alert; its ``audience`` names the roles.
        lesson: the lesson it concerns (None for alerts without one).
        school: teachers, groups, students and oversight addresses.
        parents: whether the school mails parents (point 32; off by default).
    """
    result: list[Recipient] = []
    seen: set[str] = set()
    for audience in alert.audience:
        for recipient in _for_audience(audience, alert, lesson, school, parents):
            address = recipient.email.lower()
            if address not in seen:
                seen.add(address)
                result.append(recipient)
    return result
