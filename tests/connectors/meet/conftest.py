"""Shared helpers of the Meet connector tests: a generated service account, recorded answers."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from connectors._http import CallStats
from connectors.meet import MeetMeetingSource, MeetSettings, build
from tests.connectors.conftest import RecordingLimiters, SleepRecorder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "meet"
API = "https://meet.googleapis.com/v2"
TOKEN_URL = "https://oauth2.googleapis.com/token"
CLIENT_EMAIL = "kartiba-meet@school-project.iam.gserviceaccount.com"
SUBJECT = "admin@school.lv"
CONFERENCE = "conferenceRecords/a4b5c6d7-e8f9"
NOW = dt.datetime(2026, 11, 30, 12, 30, tzinfo=dt.UTC)


def load(name: str) -> dict:
    """A recorded Meet API answer from tests/fixtures/meet."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_json(key: rsa.RSAPrivateKey, **overrides) -> str:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    data = {"type": "service_account", "project_id": "school-project",
            "private_key_id": "0123456789abcdef", "private_key": pem,
            "client_email": CLIENT_EMAIL, "client_id": "1234567890",
            "token_uri": TOKEN_URL}
    data.update(overrides)
    return json.dumps(data)


def assertion_subjects(rsps) -> list[str]:
    """The ``sub`` of every JWT bearer grant posted to the token URL, in order."""
    out = []
    for call in rsps.calls:
        if call.request.url != TOKEN_URL:
            continue
        body = call.request.body
        form = parse_qs(body.decode() if isinstance(body, bytes) else body)
        payload = form["assertion"][0].split(".")[1]
        out.append(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                   .get("sub", ""))
    return out


def settings(key: rsa.RSAPrivateKey, **overrides) -> MeetSettings:
    values = {"enabled": True, "service_account_json": SecretStr(service_account_json(key)),
              "subject": SUBJECT, "rate_per_s": 1000.0}
    values.update(overrides)
    return MeetSettings(**values)


@pytest.fixture
def source(rsa_key, sleeps: SleepRecorder) -> MeetMeetingSource:
    return build(settings(rsa_key), now=NOW, sleep=sleeps, stats=CallStats(),
                 registry=RecordingLimiters(sleeps))
