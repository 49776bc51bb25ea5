"""[teams] settings: vendor defaults, secrets kept secret, unknown keys refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.teams import TeamsSettings


def test_defaults_point_at_microsoft_and_are_disabled():
    conf = TeamsSettings()
    assert not conf.enabled
    assert conf.graph_url == "https://graph.microsoft.com/v1.0"
    assert conf.login_url == "https://login.microsoftonline.com"
    assert conf.ca_bundle is None
    assert conf.missing() == ["tenant_id", "client_id", "client_secret"]


def test_the_secret_never_shows():
    conf = TeamsSettings(tenant_id="t", client_id="c", client_secret="very-secret")
    assert "very-secret" not in repr(conf) + str(conf) + conf.model_dump_json()
    assert conf.missing() == []


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"client_secrte": "typo"}, id="unknown-key"),
        pytest.param({"rate_per_s": 0}, id="zero-rate"),
        pytest.param({"read_timeout": -1}, id="negative-timeout"),
    ],
)
def test_invalid_settings_are_refused(values):
    with pytest.raises(ValidationError):
        TeamsSettings(**values)
