"""Alert routing per docs/CONVENTIONS.md: audience and points of every kind (6, 19, 22, 32, 33)."""

from __future__ import annotations

import pytest

from mappings.model import AlertKind, Audience
from mappings.rules.alerts import AUDIENCE, POINTS, make_alert

T, CT, OV = Audience.TEACHER, Audience.CLASS_TEACHER, Audience.OVERSIGHT

TABLE = [
    pytest.param(AlertKind.UZDOTS_MISSING, (T,), ("16",), id="p16-uzdots-missing"),
    pytest.param(AlertKind.UZDOTS_LATE, (T,), ("16",), id="p16-uzdots-late"),
    pytest.param(AlertKind.UZDOTS_INCOMPLETE, (T,), ("16",), id="p16-uzdots-incomplete"),
    pytest.param(AlertKind.TOPIC_MISSING, (T,), ("14.2",), id="p14.2-topic-missing"),
    pytest.param(AlertKind.ABSENCE, (CT,), ("22", "32"), id="p22-p32-absence"),
    pytest.param(AlertKind.CHAT_NOT_REGISTERED, (T,), ("30",), id="p30-chat"),
    pytest.param(AlertKind.UNMATCHED_PARTICIPANT, (T,), ("30",), id="p30-unmatched"),
    pytest.param(AlertKind.EVIDENCE_MISSING, (T,), ("30",), id="p30-evidence-missing"),
    pytest.param(AlertKind.REMOVED_BY_TEACHER, (CT,), ("19",), id="p19-removed"),
    pytest.param(AlertKind.QUOTA_WARNING, (T, OV), ("7",), id="p7-quota-warning"),
    pytest.param(AlertKind.QUOTA_EXCEEDED, (T, OV), ("7",), id="p7-quota-exceeded"),
    pytest.param(AlertKind.PRACTICE_REMOTE, (T, OV), ("8",), id="p8-practice-remote"),
]


@pytest.mark.parametrize(("kind", "audience", "points"), TABLE)
def test_routing_follows_conventions(kind, audience, points):
    alert = make_alert(kind, "L1")
    assert (alert.audience, alert.points) == (audience, points)


def test_every_kind_is_routed():
    assert set(AUDIENCE) == set(AlertKind) == set(POINTS)


def test_points_override_sorted_and_detail_read_only():
    alert = make_alert(AlertKind.EVIDENCE_MISSING, "L1", points=["31"], detail={"cause": "x"})
    assert alert.points == ("31",)
    with pytest.raises(TypeError):
        alert.detail["cause"] = "y"  # type: ignore[index]
