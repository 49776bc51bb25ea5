"""[meet] settings: vendor defaults, secrets kept secret, unknown keys refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.meet import MeetSettings


def test_defaults_point_at_google_and_are_disabled():
    conf = MeetSettings()
    assert not conf.enabled
    assert conf.api_url == "https://meet.googleapis.com/v2"
    assert conf.token_url == "https://oauth2.googleapis.com/token"
    assert conf.retention_days == 30
    # no subject needed: kartiba acts as each lesson's teacher (meet.subject is a fallback)
    assert conf.missing() == ["service_account_file"]


def test_the_inline_key_never_shows():
    conf = MeetSettings(service_account_json='{"private_key": "-----BEGIN PRIVATE KEY-----"}')
    assert "BEGIN" not in repr(conf) + str(conf) + conf.model_dump_json()
    assert conf.missing() == []


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"subjekt": "typo"}, id="unknown-key"),
        pytest.param({"retention_days": 0}, id="zero-retention"),
        pytest.param({"rate_per_s": -2}, id="negative-rate"),
    ],
)
def test_invalid_settings_are_refused(values):
    with pytest.raises(ValidationError):
        MeetSettings(**values)
