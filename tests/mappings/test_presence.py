"""Presence arithmetic (kārtība p. 30: "takes part" = connected share of the lesson)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.calendar import RIGA
from mappings.model import Segment
from mappings.presence import (
    clip,
    connected_seconds,
    first_join,
    merge_segments,
    presence_share,
)

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA)
END = dt.datetime(2026, 11, 30, 9, 45, tzinfo=RIGA)


def at(minute: int, second: int = 0) -> dt.datetime:
    """Minutes after 09:00 Riga on 2026-11-30 (negative = before the lesson)."""
    return START + dt.timedelta(minutes=minute, seconds=second)


def seg(a: int, b: int) -> Segment:
    return Segment(at(a), at(b))


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        pytest.param([], [], id="none"),
        pytest.param([seg(0, 45)], [seg(0, 45)], id="one"),
        pytest.param([seg(20, 30), seg(0, 10)], [seg(0, 10), seg(20, 30)], id="sorted"),
        pytest.param([seg(0, 20), seg(10, 30)], [seg(0, 30)], id="overlap"),
        pytest.param([seg(0, 20), seg(20, 30)], [seg(0, 30)], id="touching"),
        pytest.param([seg(0, 40), seg(5, 10)], [seg(0, 40)], id="contained"),
        pytest.param([seg(5, 5), seg(10, 8)], [], id="empty-and-inverted-dropped"),
        pytest.param(
            [seg(0, 10), seg(0, 10), seg(9, 12)], [seg(0, 12)], id="p30-two-devices-same-time"
        ),
    ],
)
def test_merge_segments(segments: list[Segment], expected: list[Segment]) -> None:
    assert merge_segments(segments) == tuple(expected)


def test_merge_segments_mixed_zones_compare_instants() -> None:
    """A platform reporting UTC and one reporting Riga time describe the same instants."""
    utc_seg = Segment(at(0).astimezone(dt.UTC), at(20).astimezone(dt.UTC))
    assert merge_segments([utc_seg, seg(10, 30)]) == (seg(0, 30),)


def test_merge_segments_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        merge_segments([Segment(dt.datetime(2026, 11, 30, 9), dt.datetime(2026, 11, 30, 10))])


@pytest.mark.parametrize(
    ("segments", "expected_seconds", "expected_share"),
    [
        pytest.param([seg(0, 45)], 45 * 60, 1.0, id="p30-whole-lesson"),
        pytest.param([seg(-5, 50)], 45 * 60, 1.0, id="p30-early-join-late-leave-clipped"),
        pytest.param([seg(12, 45)], 33 * 60, 33 / 45, id="p30-late-join"),
        pytest.param([seg(0, 12)], 12 * 60, 12 / 45, id="p30-left-early"),
        pytest.param([seg(0, 10), seg(30, 45)], 25 * 60, 25 / 45, id="p30-rejoin-merged"),
        pytest.param([seg(0, 20), seg(10, 25)], 25 * 60, 25 / 45, id="p30-overlap-counted-once"),
        pytest.param([seg(-30, -1), seg(46, 60)], 0, 0.0, id="p30-only-outside-lesson"),
        pytest.param([], 0, 0.0, id="p30-not-connected"),
        pytest.param([Segment(at(0), at(22, 30))], 22 * 60 + 30, 0.5, id="p30-exactly-half"),
    ],
)
def test_connected_and_share(
    segments: list[Segment], expected_seconds: float, expected_share: float
) -> None:
    assert connected_seconds(segments, START, END) == pytest.approx(expected_seconds)
    assert presence_share(segments, START, END) == pytest.approx(expected_share)


def test_clip_cuts_to_window() -> None:
    assert clip([seg(-10, 5), seg(40, 60)], START, END) == (seg(0, 5), seg(40, 45))


@pytest.mark.parametrize(
    ("start", "end"),
    [pytest.param(END, START, id="inverted"), pytest.param(START, START, id="empty")],
)
def test_empty_window(start: dt.datetime, end: dt.datetime) -> None:
    assert clip([seg(0, 45)], start, end) == ()
    assert presence_share([seg(0, 45)], start, end) == 0.0


def test_share_across_dst_change_uses_real_time() -> None:
    """02:30–04:30 Riga on 2026-03-29 is one real hour (03:00 jumps to 04:00)."""
    start = dt.datetime(2026, 3, 29, 2, 30, tzinfo=RIGA)
    end = dt.datetime(2026, 3, 29, 4, 30, tzinfo=RIGA)
    half = Segment(start, dt.datetime(2026, 3, 29, 2, 55, tzinfo=RIGA))
    assert connected_seconds([half], start, end) == 25 * 60
    assert presence_share([half], start, end) == pytest.approx(25 / 60)


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        pytest.param([], None, id="none"),
        pytest.param([seg(12, 20), seg(3, 5)], at(3), id="earliest"),
        pytest.param([seg(1, 1), seg(7, 9)], at(7), id="empty-ignored"),
    ],
)
def test_first_join(segments: list[Segment], expected: dt.datetime | None) -> None:
    assert first_join(segments) == expected


# --------------------------------------------------------------------------- properties

minutes = st.integers(min_value=-120, max_value=180)
segments_st = st.lists(
    st.tuples(minutes, st.integers(min_value=0, max_value=120)).map(
        lambda p: Segment(at(p[0]), at(p[0] + p[1]))
    ),
    max_size=12,
)


@given(segments_st)
def test_merge_is_idempotent(segments: list[Segment]) -> None:
    once = merge_segments(segments)
    assert merge_segments(once) == once


@given(segments_st, st.randoms(use_true_random=False))
def test_merge_is_order_independent(segments: list[Segment], rnd) -> None:
    shuffled = list(segments)
    rnd.shuffle(shuffled)
    assert merge_segments(shuffled) == merge_segments(segments)


@given(segments_st)
def test_merged_are_disjoint_sorted_and_not_longer(segments: list[Segment]) -> None:
    merged = merge_segments(segments)
    for left, right in zip(merged, merged[1:], strict=False):
        assert left.end < right.start
    assert sum(s.seconds for s in merged) <= sum(s.seconds for s in segments)
    # Every instant covered before is covered after.
    for s in segments:
        if s.seconds > 0:
            assert any(m.start <= s.start and s.end <= m.end for m in merged)


@given(segments_st, minutes, st.integers(min_value=0, max_value=120))
def test_share_is_a_fraction(segments: list[Segment], start: int, length: int) -> None:
    share = presence_share(segments, at(start), at(start + length))
    assert 0.0 <= share <= 1.0
    assert connected_seconds(segments, at(start), at(start + length)) <= length * 60


@given(segments_st, segments_st)
def test_share_is_monotonic_in_segments(first: list[Segment], more: list[Segment]) -> None:
    assert presence_share(first + more, START, END) >= presence_share(first, START, END)
