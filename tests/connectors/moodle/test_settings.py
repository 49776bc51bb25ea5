"""Moodle settings: credentials needed, base URL, link hosts; build refuses what is missing."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from connectors.errors import ConfigError
from connectors.moodle import MoodleSettings, build


@pytest.mark.parametrize(("values", "missing"), [
    pytest.param({"token": SecretStr("t")}, [], id="token"),
    pytest.param({"username": "kartiba", "password": SecretStr("p")}, [], id="password-login"),
    pytest.param({}, ["token"], id="nothing"),
    pytest.param({"token": SecretStr("  ")}, ["token"], id="blank-token"),
    pytest.param({"username": "kartiba"}, ["password"], id="username-without-password"),
])
def test_missing_credentials(values, missing):
    assert MoodleSettings(**values).missing() == missing


def test_build_refuses_missing_credentials_naming_the_setting():
    with pytest.raises(ConfigError) as info:
        build(MoodleSettings(enabled=True))
    assert info.value.setting == "moodle.token"


@pytest.mark.parametrize(("values", "message"), [
    pytest.param({"base_url": "skolo.lv"}, "must start with https://", id="no-scheme"),
    pytest.param({"rate_per_s": 0}, "greater than 0", id="zero-rate"),
    pytest.param({"read_timeout": -1}, "greater than 0", id="negative-timeout"),
    pytest.param({"verify": False}, "Extra inputs", id="no-way-to-disable-tls"),
])
def test_invalid_settings(values, message):
    with pytest.raises(ValidationError, match=message):
        MoodleSettings(**values)


def test_defaults_point_at_skolo_lv():
    settings = MoodleSettings(base_url="https://skolo.lv/", hosts=[" Skolo.LV ", ""])

    assert settings.base_url == "https://skolo.lv"
    assert settings.hosts == ["skolo.lv"]
    assert MoodleSettings().service == "moodle_mobile_app"
    assert "s3cret" not in repr(MoodleSettings(token=SecretStr("s3cret")))
