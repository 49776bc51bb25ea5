"""Meeting evidence for one lesson: the parts every meeting connector shares.

A meeting connector (``connectors.base.MeetingSource``) reads a platform's attendance rows
around one lesson and hands the rules one :class:`mappings.model.Participant` per person.
What does not depend on the platform lives here:

* :func:`lesson_window`: the policy's window [lesson start - before, lesson end + after];
* :func:`check_request`, :func:`not_found` and :func:`found`: the start and the end of
  ``fetch``;
* :func:`merge_segments` and :class:`People`: intervals grouped per person and merged;
* :class:`Memo`: the per-run cache, so a joint lesson (kārtības 15. p.) costs one fetch;
* :class:`RunScopedSource`: a source's window policy and cache, created once per run.

Only :mod:`mappings.model` is imported from ``mappings``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from mappings.model import ChatLine, MeetingEvidence, MeetingRef, Participant, Segment, Teacher

WINDOW_BEFORE = dt.timedelta(minutes=30)  # the policy's defaults
WINDOW_AFTER = dt.timedelta(hours=2)

T = TypeVar("T")
PersonKey = tuple[str, str]
"""Who a row belongs to, e.g. ``("email", "anna@school.lv")`` or ``("name", "anna")``."""


def lesson_window(lesson_start: dt.datetime, lesson_end: dt.datetime,
                  before: dt.timedelta = WINDOW_BEFORE,
                  after: dt.timedelta = WINDOW_AFTER) -> tuple[dt.datetime, dt.datetime]:
    """The span in which a meeting counts for a lesson: [start - before, end + after]."""
    return lesson_start - before, lesson_end + after


def check_request(ref: MeetingRef, platform: str, label: str, lesson_start: dt.datetime,
                  lesson_end: dt.datetime) -> None:
    """Refuse a ``fetch`` that is not for this platform or has naive lesson times.

    Args:
        ref: the meeting reference asked for.
        platform: the connector's platform (``ref.platform`` must equal it).
        label: the platform's name in the message ("Teams").
        lesson_start, lesson_end: the lesson; both must be timezone-aware.

    Raises:
        ValueError: a programming error of the caller.
    """
    if ref.platform != platform:
        raise ValueError(f"not a {label} meeting reference: {ref.platform!r}")
    if lesson_start.tzinfo is None or lesson_end.tzinfo is None:
        raise ValueError("lesson_start and lesson_end must be timezone-aware")


def not_found(platform: str, key: str, host: Teacher | None) -> MeetingEvidence:
    """The evidence of a meeting with nothing to show for the lesson (``found=False``)."""
    return MeetingEvidence(platform=platform, key=key, found=False,
                           host_email=host.email if host else "",
                           host_name=host.name if host else "")


def found(platform: str, key: str, host: Teacher | None,
          participants: tuple[Participant, ...], instances: int,
          chat: tuple[ChatLine, ...] | None = None) -> MeetingEvidence:
    """The evidence of a meeting held around the lesson (``found=True``).

    Args:
        platform, key: the meeting.
        host: the lesson's teacher, if known.
        participants: one per person.
        instances: how many sessions, reports or instances were merged.
        chat: the chat lines, or None when the platform gives none.
    """
    return MeetingEvidence(platform=platform, key=key, found=True, participants=participants,
                           chat=chat, host_email=host.email if host else "",
                           host_name=host.name if host else "", instances=instances)


def merge_segments(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """Sort and merge overlapping or touching segments."""
    merged: list[Segment] = []
    for seg in sorted(segments, key=lambda s: (s.start, s.end)):
        if merged and seg.start <= merged[-1].end:
            if seg.end > merged[-1].end:
                merged[-1] = Segment(merged[-1].start, seg.end)
        else:
            merged.append(seg)
    return tuple(merged)


@dataclass
class _Person:
    name: str = ""
    email: str = ""
    platform_id: str = ""
    segments: list[Segment] = field(default_factory=list)


class People:
    """Participants collected per person across sessions, reports or instances.

    A person keeps the first non-empty name, e-mail and platform id seen; all their
    segments are merged. :meth:`participants` lists them by key, so the order does not
    depend on the order of the rows.
    """

    def __init__(self) -> None:
        self._people: dict[PersonKey, _Person] = {}

    def add(self, key: PersonKey, segments: Iterable[Segment], *, name: str = "",
            email: str = "", platform_id: str = "") -> None:
        """Add one row of the person ``key``."""
        person = self._people.setdefault(key, _Person())
        person.name = person.name or name
        person.email = person.email or email
        person.platform_id = person.platform_id or platform_id
        person.segments.extend(segments)

    def participants(self) -> tuple[Participant, ...]:
        """One participant per person, sorted by key, segments merged."""
        return tuple(
            Participant(name=p.name, email=p.email, platform_id=p.platform_id,
                        segments=merge_segments(p.segments))
            for _, p in sorted(self._people.items(), key=lambda item: item[0]))


class Memo:
    """A thread-safe per-run cache: each key is computed once, even by concurrent callers
    (they wait for the first); an error is not cached, the next caller tries again."""

    def __init__(self) -> None:
        self._data: dict[Hashable, object] = {}
        self._pending: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key``, computed by ``compute`` the first time."""
        with self._lock:
            if key in self._data:
                return self._data[key]  # type: ignore[return-value]
            key_lock = self._pending.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._data:
                    return self._data[key]  # type: ignore[return-value]
            value = compute()
            with self._lock:
                self._data[key] = value
                self._pending.pop(key, None)
            return value

    def clear(self) -> None:
        """Forget every value (a new run starts afresh)."""
        with self._lock:
            self._data.clear()


class RunScopedSource:
    """Base of a meeting source created once per run: the policy's window and the run's cache.

    Args:
        before, after: the lesson window is [start - before, end + after] (policy).
    """

    def __init__(self, before: dt.timedelta = WINDOW_BEFORE,
                 after: dt.timedelta = WINDOW_AFTER) -> None:
        self.before = before
        self.after = after
        self._cache = Memo()  # keys tagged by the call they answer, e.g. ("reports", id)

    def window(self, lesson_start: dt.datetime,
               lesson_end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """This source's window around a lesson."""
        return lesson_window(lesson_start, lesson_end, self.before, self.after)

    def clear_cache(self) -> None:
        """Forget everything fetched (a new run starts afresh)."""
        self._cache.clear()
