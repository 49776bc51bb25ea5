"""Shared helpers of the Teams connector tests: settings, recorded answers, a wired source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors._http import CallStats
from connectors.teams import TeamsMeetingSource, TeamsSettings, build
from tests.connectors.conftest import RecordingLimiters, SleepRecorder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "teams"
GRAPH = "https://graph.microsoft.com/v1.0"
TOKEN_URL = "https://login.microsoftonline.com/contoso-tenant/oauth2/v2.0/token"
ORGANIZER = "ilze.kalnina@school.lv"
MEETING_ID = "MSo1N2Y5ZGFjYy03MWJmLTQ3NDMtYjQxMy01M2EdFGkdRWHJlQ"
MEETING_URL = f"{GRAPH}/users/{ORGANIZER}/onlineMeetings"
REPORTS_URL = f"{MEETING_URL}/{MEETING_ID}/attendanceReports"
REPORT1 = "ae6ddf54-5d48-4448-a7a9-780eee17fa13"
REPORT2 = "c9b6db1c-d5eb-427d-a5c0-20088d9b22d7"
REPORT_OLD = "3f1a5d3c-0f5e-4c56-9d6c-2e41e3e0d2b1"
SECRET = "s3cr3t-client-value"


def load(name: str) -> dict:
    """A recorded Graph answer from tests/fixtures/teams."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def settings(**overrides) -> TeamsSettings:
    values = {"enabled": True, "tenant_id": "contoso-tenant", "client_id": "app-client-id",
              "client_secret": SECRET, "rate_per_s": 1000.0}
    values.update(overrides)
    return TeamsSettings(**values)


@pytest.fixture
def source(sleeps: SleepRecorder) -> TeamsMeetingSource:
    return build(settings(), sleep=sleeps, stats=CallStats(),
                 registry=RecordingLimiters(sleeps))
