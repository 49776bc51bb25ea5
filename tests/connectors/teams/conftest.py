"""Shared helpers of the Teams connector tests: settings, recorded answers, a wired source."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import responses

from connectors._http import CallStats
from connectors.teams import TeamsMeetingSource, TeamsSettings, build
from tests.connectors.conftest import RecordingLimiters, SleepRecorder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "teams"
GRAPH = "https://graph.microsoft.com/v1.0"
TOKEN_URL = "https://login.microsoftonline.com/contoso-tenant/oauth2/v2.0/token"
UPN = "ilze.kalnina@school.lv"
ORGANIZER = "5a7c1e2d-9b3f-4d6a-8e1c-2f4b6d8a0c13"  # the teacher's Entra object ID
USER_URL = f"{GRAPH}/users/{UPN}"
USER_ANSWER = {"@odata.context": f"{GRAPH}/$metadata#users(id)/$entity", "id": ORGANIZER}
MEETING_ID = "MSo1N2Y5ZGFjYy03MWJmLTQ3NDMtYjQxMy01M2EdFGkdRWHJlQ"
MEETING_URL = f"{GRAPH}/users/{ORGANIZER}/onlineMeetings"
REPORTS_URL = f"{MEETING_URL}/{MEETING_ID}/attendanceReports"
REPORT1 = "ae6ddf54-5d48-4448-a7a9-780eee17fa13"
REPORT2 = "c9b6db1c-d5eb-427d-a5c0-20088d9b22d7"
REPORT_OLD = "3f1a5d3c-0f5e-4c56-9d6c-2e41e3e0d2b1"
SECRET = "s3cr3t-client-value"
NOW = dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)  # hours after the 09:00 lesson


def load(name: str) -> dict:
    """A recorded Graph answer from tests/fixtures/teams."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def register_user(rsps, status: int = 200, body: dict | None = None) -> None:
    """The organizer lookup ``GET /users/{upn}?$select=id``."""
    rsps.get(USER_URL, status=status, json=body if body is not None else USER_ANSWER,
             match=[responses.matchers.query_param_matcher({"$select": "id"})])


def settings(**overrides) -> TeamsSettings:
    values = {"enabled": True, "tenant_id": "contoso-tenant", "client_id": "app-client-id",
              "client_secret": SECRET, "rate_per_s": 1000.0}
    values.update(overrides)
    return TeamsSettings(**values)


@pytest.fixture
def source(sleeps: SleepRecorder) -> TeamsMeetingSource:
    return build(settings(), now=NOW, sleep=sleeps, stats=CallStats(),
                 registry=RecordingLimiters(sleeps))
