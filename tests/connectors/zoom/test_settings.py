"""ZoomSettings: defaults, validation errors that name the field, and the build-time check."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.errors import ConfigError
from connectors.zoom import build, build_receiver
from connectors.zoom.settings import ZoomSettings, split_bind
from tests.connectors.zoom.fakes import FakeLedger

GOOD = {"enabled": True, "account_id": "acc", "client_id": "cid", "client_secret": "s3cr3t-value"}


def test_defaults_are_valid_and_safe() -> None:
    settings = ZoomSettings()
    assert settings.enabled is False
    assert settings.api_url == "https://api.zoom.us/v2"
    assert settings.oauth_url == "https://zoom.us/oauth/token"
    assert split_bind(settings.webhook_bind)[0] == "127.0.0.1"
    assert settings.ca_bundle is None
    assert "s3cr3t-value" not in repr(ZoomSettings(**GOOD))


@pytest.mark.parametrize(("override", "field"), [
    pytest.param({"account_id": ""}, "account_id", id="enabled-without-account"),
    pytest.param({"client_id": " "}, "client_id", id="enabled-without-client-id"),
    pytest.param({"client_secret": ""}, "client_secret", id="enabled-without-secret"),
    pytest.param({"plan": "enterprise"}, "plan", id="unknown-plan"),
    pytest.param({"api_url": "http://api.zoom.us/v2"}, "api_url", id="plain-http-not-loopback"),
    pytest.param({"oauth_url": "zoom.us/oauth/token"}, "oauth_url", id="not-absolute"),
    pytest.param({"webhook_bind": "127.0.0.1"}, "webhook_bind", id="bind-without-port"),
    pytest.param({"webhook_bind": "127.0.0.1:99999"}, "webhook_bind", id="bind-port-range"),
    pytest.param({"webhook_max_age_s": 0}, "webhook_max_age_s", id="max-age-zero"),
    pytest.param({"read_timeout": -1}, "read_timeout", id="negative-timeout"),
    pytest.param({"max_workers": 0}, "max_workers", id="no-workers"),
    pytest.param({"clientsecret": "x"}, "clientsecret", id="unknown-key"),
])
def test_validation_error_names_the_field(override: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ZoomSettings(**{**GOOD, **override})
    locations = {err["loc"][0] for err in info.value.errors()}
    assert field in locations
    assert "s3cr3t-value" not in str(info.value)


@pytest.mark.parametrize("url", [
    pytest.param("http://127.0.0.1:8080/v2", id="ipv4-loopback"),
    pytest.param("http://localhost:1/v2", id="localhost"),
    pytest.param("https://zoom.example.lv/v2/", id="https-any-host"),
])
def test_loopback_http_and_https_accepted(url: str) -> None:
    assert ZoomSettings(**GOOD, api_url=url).api_url == url.rstrip("/")


def test_build_names_missing_credentials() -> None:
    with pytest.raises(ConfigError) as info:
        build(ZoomSettings(account_id="acc"))
    assert "zoom.client_id" in info.value.message
    assert "zoom.client_secret" in info.value.message
    assert "zoom.account_id" not in info.value.message


def test_receiver_needs_a_webhook_secret() -> None:
    with pytest.raises(ConfigError) as info:
        build_receiver(ZoomSettings(**GOOD), FakeLedger())
    assert info.value.setting == "webhook_secret"
    receiver = build_receiver(ZoomSettings(**GOOD, webhook_secret="whsec"), FakeLedger())
    assert receiver is not None
