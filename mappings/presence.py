"""Presence arithmetic over connection segments (kārtība p. 30: "takes part").

A student may join, drop and rejoin, or be connected twice (phone and laptop). Segments are
half-open intervals ``[start, end)``; they are merged before counting so overlapping time is
counted once, and only time inside the lesson window counts.

All arithmetic is done in UTC: Python subtracts and compares datetimes that share a
``ZoneInfo`` by wall clock, which is wrong across a DST change. Returned segments are UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from mappings.model import Segment

_UTC = dt.UTC


def _utc(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("naive datetime in a segment: every instant must be timezone-aware")
    return t.astimezone(_UTC)


def _utc_segments(segments: Iterable[Segment]) -> list[tuple[dt.datetime, dt.datetime]]:
    spans = ((_utc(s.start), _utc(s.end)) for s in segments)
    return [(start, end) for start, end in spans if end > start]


def merge_segments(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """Sorted segments with overlapping and touching ones merged; empty ones dropped.

    Args:
        segments: aware segments in any order.

    Returns:
        Disjoint, non-touching segments in time order (UTC).

    Raises:
        ValueError: a segment has a naive datetime.
    """
    merged: list[list[dt.datetime]] = []
    for start, end in sorted(_utc_segments(segments)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(Segment(start, end) for start, end in merged)


def clip(segments: Iterable[Segment], start: dt.datetime, end: dt.datetime) -> tuple[Segment, ...]:
    """The merged segments cut to the window ``[start, end)``.

    Args:
        segments: aware segments in any order.
        start: window start (e.g. lesson start).
        end: window end (exclusive).

    Returns:
        Disjoint segments inside the window, in time order (UTC); empty for an empty window.
    """
    lo_bound, hi_bound = _utc(start), _utc(end)
    if hi_bound <= lo_bound:
        return ()
    clipped = []
    for segment in merge_segments(segments):
        lo = max(segment.start, lo_bound)
        hi = min(segment.end, hi_bound)
        if hi > lo:
            clipped.append(Segment(lo, hi))
    return tuple(clipped)


def connected_seconds(segments: Iterable[Segment], start: dt.datetime, end: dt.datetime) -> float:
    """Seconds connected inside ``[start, end)``, overlapping time counted once."""
    return sum((s.end - s.start).total_seconds() for s in clip(segments, start, end))


def presence_share(segments: Iterable[Segment], start: dt.datetime, end: dt.datetime) -> float:
    """Share (0..1) of the window ``[start, end)`` the segments cover.

    Returns:
        0.0 for an empty window.
    """
    window = (_utc(end) - _utc(start)).total_seconds()
    if window <= 0:
        return 0.0
    share = connected_seconds(segments, start, end) / window
    return min(1.0, max(0.0, share))


def first_join(segments: Iterable[Segment]) -> dt.datetime | None:
    """The earliest start of a non-empty segment (UTC), or None."""
    spans = _utc_segments(segments)
    return min(start for start, _ in spans) if spans else None
