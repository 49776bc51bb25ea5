"""The evidence helpers every meeting connector shares: window, merging, grouping, cache."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest

from connectors._evidence import (
    Memo,
    People,
    RunScopedSource,
    check_request,
    found,
    lesson_window,
    merge_segments,
    not_found,
)
from mappings.model import MeetingRef, Participant, Segment, Teacher

RIGA = ZoneInfo("Europe/Riga")
UTC = dt.UTC
TEACHER = Teacher(id="t1", name="Ilze Kalniņa", email="ilze.kalnina@school.lv")


def at(h: int, m: int) -> dt.datetime:
    return dt.datetime(2026, 11, 30, h, m, tzinfo=UTC)


def seg(a: tuple[int, int], b: tuple[int, int]) -> Segment:
    return Segment(at(*a), at(*b))


@pytest.mark.parametrize(
    ("segments", "merged"),
    [
        pytest.param([], (), id="none"),
        pytest.param([seg((7, 0), (7, 10))], (seg((7, 0), (7, 10)),), id="one"),
        pytest.param([seg((7, 20), (7, 30)), seg((7, 0), (7, 10))],
                     (seg((7, 0), (7, 10)), seg((7, 20), (7, 30))), id="unsorted-gap-kept"),
        pytest.param([seg((7, 0), (7, 20)), seg((7, 10), (7, 30))], (seg((7, 0), (7, 30)),),
                     id="overlap"),
        pytest.param([seg((9, 10), (9, 20)), seg((9, 0), (9, 15))], (seg((9, 0), (9, 20)),),
                     id="overlap-unsorted"),
        pytest.param([seg((7, 0), (7, 10)), seg((7, 10), (7, 20))], (seg((7, 0), (7, 20)),),
                     id="touching"),
        pytest.param([seg((9, 0), (9, 10)), seg((9, 11), (9, 20))],
                     (seg((9, 0), (9, 10)), seg((9, 11), (9, 20))), id="gap"),
        pytest.param([seg((7, 0), (7, 40)), seg((7, 10), (7, 20))], (seg((7, 0), (7, 40)),),
                     id="contained"),
    ],
)
def test_merge_segments(segments, merged):
    assert merge_segments(segments) == merged


def test_people_keep_first_identity_and_merge_segments_sorted_by_key():
    people = People()
    people.add(("name", "marta k"), [seg((7, 5), (7, 20))], name="Marta K")
    people.add(("email", "anna@school.lv"), [seg((7, 0), (7, 30))], name="Anna",
               email="Anna@school.lv")
    people.add(("email", "anna@school.lv"), [seg((7, 25), (7, 50))], name="Anna B.",
               platform_id="u-1")
    people.add(("email", "anna@school.lv"), [], platform_id="u-2")
    assert people.participants() == (
        Participant(name="Anna", email="Anna@school.lv", platform_id="u-1",
                    segments=(seg((7, 0), (7, 50)),)),
        Participant(name="Marta K", segments=(seg((7, 5), (7, 20)),)),
    )


@pytest.mark.parametrize(
    ("before", "after", "window"),
    [
        pytest.param(dt.timedelta(minutes=30), dt.timedelta(hours=2),
                     (dt.datetime(2026, 11, 30, 8, 30, tzinfo=RIGA),
                      dt.datetime(2026, 11, 30, 11, 45, tzinfo=RIGA)), id="policy-default"),
        pytest.param(dt.timedelta(0), dt.timedelta(0),
                     (dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA),
                      dt.datetime(2026, 11, 30, 9, 45, tzinfo=RIGA)), id="lesson-only"),
    ],
)
def test_lesson_window(before, after, window):
    start = dt.datetime(2026, 11, 30, 9, 0, tzinfo=RIGA)
    end = dt.datetime(2026, 11, 30, 9, 45, tzinfo=RIGA)
    assert lesson_window(start, end, before, after) == window
    assert RunScopedSource(before, after).window(start, end) == window


@pytest.mark.parametrize(
    ("platform", "start", "message"),
    [
        pytest.param("zoom", at(9, 0), "not a Teams meeting reference", id="other-platform"),
        pytest.param("teams", dt.datetime(2026, 11, 30, 9, 0), "timezone-aware", id="naive"),
    ],
)
def test_check_request_refuses_bad_arguments(platform, start, message):
    ref = MeetingRef(platform=platform, key="k", url="")
    with pytest.raises(ValueError, match=message):
        check_request(ref, "teams", "Teams", start, at(9, 45))


def test_check_request_accepts_an_aware_lesson_of_the_platform():
    check_request(MeetingRef(platform="meet", key="abc-defg-hij", url=""), "meet", "Meet",
                  at(9, 0), at(9, 45))


@pytest.mark.parametrize(
    ("host", "email", "name"),
    [
        pytest.param(TEACHER, TEACHER.email, TEACHER.name, id="host-known"),
        pytest.param(None, "", "", id="no-host"),
    ],
)
def test_found_and_not_found_carry_the_host(host, email, name):
    participants = (Participant(name="Anna", segments=(seg((7, 0), (7, 10)),)),)
    empty = not_found("meet", "abc-defg-hij", host)
    full = found("meet", "abc-defg-hij", host, participants, instances=2)
    assert (empty.found, empty.participants, empty.host_email, empty.host_name) == (
        False, (), email, name)
    assert (full.found, full.participants, full.instances, full.chat) == (
        True, participants, 2, None)
    assert (full.host_email, full.host_name) == (email, name)


def test_memo_computes_each_key_once_under_concurrent_callers():
    memo = Memo()
    calls: list[str] = []
    release = threading.Event()
    barrier = threading.Barrier(5)
    results: list[int] = []

    def compute() -> int:
        calls.append("x")
        release.wait(5)
        return 42

    def work() -> None:
        barrier.wait(5)
        results.append(memo.get(("reports", "m1"), compute))

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(5)
    assert results == [42] * 5
    assert calls == ["x"]


def test_memo_does_not_cache_an_error_and_clear_forgets():
    memo = Memo()
    answers = iter([RuntimeError("503"), 1, 2])

    def compute() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with pytest.raises(RuntimeError):
        memo.get("k", compute)
    assert memo.get("k", compute) == 1
    assert memo.get("k", compute) == 1
    memo.clear()
    assert memo.get("k", compute) == 2
