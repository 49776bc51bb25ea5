"""Who an alert goes to: the alert's audiences resolved to e-mail addresses.

teacher = the lesson's teacher (point 33); class_teacher = the class teacher of the student's
home group (a student of a subgroup keeps their own), of each student an alert lists, else of
the lesson's group (points 19, 22, 32); oversight = the
school's oversight addresses (point 6); parents only on request (point 32) and only where the
school data has their address. A teacher whose e-mail field does not hold exactly one usable
address does not silently lose the alert: it goes to the oversight addresses with the role
``unusable:<role>:<teacher id>``, so the message can say whose address is unusable (a log
line names ids only).
"""

from __future__ import annotations

import logging

from connectors.smtp.headers import single_address
from mappings.model import Alert, Audience, Lesson, School, Teacher
from sync_jobs.alerts.compose import Recipient

log = logging.getLogger("kartiba.alerts")


UNUSABLE = "unusable"


def _valid(email: str) -> bool:
    return single_address(email) is not None


def _oversight(school: School, role: str = "oversight") -> list[Recipient]:
    found = (single_address(e) for e in school.oversight)
    return [Recipient(email=e, name="", role=role) for e in dict.fromkeys(found) if e]


def _teacher(teacher_id: str | None, school: School, alert: Alert, role: str) -> list[Recipient]:
    teacher: Teacher | None = school.teachers.get(teacher_id) if teacher_id else None
    email = single_address(teacher.email) if teacher is not None else None
    if email is not None:
        return [Recipient(email=email, name=teacher.name, role=role)]
    fallback = _oversight(school, f"{UNUSABLE}:{role}:{teacher_id or '-'}")
    log.warning("alert %s: no usable e-mail for %s (teacher %s); %s", alert.key, role,
                teacher_id or "-", "sent to the oversight instead" if fallback
                else "and no oversight address either")
    return fallback


def redirected_from(role: str) -> tuple[str, str] | None:
    """(role, teacher id) an oversight copy stands in for, or None for an ordinary role."""
    kind, _, rest = role.partition(":")
    if kind != UNUSABLE:
        return None
    meant, _, teacher_id = rest.partition(":")
    return meant, teacher_id


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
        found = _oversight(school)
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
