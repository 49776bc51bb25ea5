"""Whether the evidence is complete enough to judge: "no wrong n" (points 30, 31, 43).

An "n" is a minor's official record. It is written only when the platform showed the
student's record and the record is final. Incomplete evidence (a meeting still running, a
report not ready, rights missing, an answer with warnings, a student the account cannot see)
is never read as "no activity": those students get no verdict that writes a mark, the lesson
stays open and is tried again, and when the attendance window closes the teacher is told
(``evidence_missing`` with the reason).

Point 16 and 30 together: every meeting link in the UZDOTS entry is evidence (a main and a
backup link), so presence is the union over all of them. Point 30 "nepamatoti atslēdzas":
presence is measured against the part of the lesson that was held — a teacher who ends the
meeting early (or starts it late) does not make students leave without reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mappings.identity import RosterIndex, match_person
from mappings.model import (
    ActivityEvidence,
    ChatLine,
    EvidenceGap,
    MeetingEvidence,
    Segment,
)
from mappings.policy import Policy

INCOMPLETE = "evidence_incomplete"
"""Verdict reason: the platform could not (yet) show the student's record."""


@dataclass(frozen=True, slots=True)
class HeldPart:
    """The part of a synchronous lesson that was held (point 30).

    Attributes:
        start: the lesson start, or the first relevant session's start if later.
        end: the lesson end, or the last relevant session's end if earlier.
    """

    start: dt.datetime
    end: dt.datetime

    @property
    def empty(self) -> bool:
        return self.end <= self.start


def held_part(lesson_start: dt.datetime, lesson_end: dt.datetime,
              sessions: Iterable[Segment]) -> HeldPart:
    """Point 30: the held part of the lesson from the sessions that overlap it.

    Sessions that do not overlap the lesson are ignored: when sessions are known and none
    overlaps, nothing of the lesson was held (an empty part). Without session times (the
    platform gave none) the whole lesson counts.
    """
    known = list(sessions)
    if not known:
        return HeldPart(lesson_start, lesson_end)
    inside = [s for s in known if s.start < lesson_end and s.end > lesson_start]
    if not inside:
        return HeldPart(lesson_start, lesson_start)
    first = min(s.start for s in inside)
    last = max(s.end for s in inside)
    return HeldPart(max(lesson_start, first), min(lesson_end, last))


def first_gap(gaps: Iterable[str]) -> str:
    """The first incompleteness reason of several, or "" when all are complete."""
    return next((g for g in gaps if g and g != EvidenceGap.INVALID_LINK), "")


def meeting_gap(evidence: Sequence[MeetingEvidence]) -> str:
    """Points 16, 30: the reason the union over the linked meetings is incomplete, or "".

    One incomplete link makes the union incomplete: a student missing from the main meeting
    may be in the backup meeting whose report is not ready.
    """
    return first_gap(ev.gap for ev in evidence)


def union(evidence: Sequence[MeetingEvidence]) -> MeetingEvidence | None:
    """Points 16, 30: every linked meeting that has data, as one evidence; None if none has.

    Participants are listed side by side (identity matching merges a student's rows),
    sessions are joined, chat exists when any meeting has chat data.
    """
    held = [ev for ev in evidence if ev.found]
    if not held:
        return None
    if len(held) == 1:
        return held[0]
    chats = [ev.chat for ev in held if ev.chat is not None]
    chat: tuple[ChatLine, ...] | None = (
        tuple(line for lines in chats for line in lines) if chats else None)
    first = held[0]
    return MeetingEvidence(
        platform=first.platform,
        key=" + ".join(ev.key for ev in held),
        found=True,
        participants=tuple(p for ev in held for p in ev.participants),
        chat=chat,
        host_email=next((ev.host_email for ev in held if ev.host_email), ""),
        host_name=next((ev.host_name for ev in held if ev.host_name), ""),
        instances=sum(ev.instances for ev in held),
        sessions=tuple(s for ev in held for s in ev.sessions),
    )


def activity_gap(evidence: Sequence[ActivityEvidence]) -> str:
    """Point 31: the reason the linked activities' evidence is incomplete, or ""."""
    return first_gap(ev.gap for ev in evidence)


def visible_students(evidence: Sequence[ActivityEvidence], index: RosterIndex,
                     policy: Policy) -> frozenset[str] | None:
    """Point 31: students the platform showed on EVERY found activity that lists users.

    A student not visible on one linked activity may have worked there: no "n" for them.
    None when no activity enumerates its users (every student counts as visible).
    """
    listing = [ev for ev in evidence if ev.found and ev.visible is not None]
    if not listing:
        return None
    seen: frozenset[str] | None = None
    for ev in listing:
        ids = frozenset(sid for user in ev.visible or ()
                        for sid in _user_ids(user.student_id, user.name, user.email,
                                             index, policy))
        seen = ids if seen is None else seen & ids
    return seen or frozenset()


def _user_ids(student_id: str | None, name: str, email: str, index: RosterIndex,
              policy: Policy) -> tuple[str, ...]:
    """The roster students a listed user is (a namesake pair makes both visible)."""
    if student_id:
        return (student_id,)
    if not (name or email):
        return ()
    return match_person(name, email, index, policy)
