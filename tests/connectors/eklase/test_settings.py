"""EklaseSettings: defaults, validation naming the field, secrets, env names when nested."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.eklase.settings import EklaseSettings
from mappings.model import LessonMode


class _App(BaseSettings):
    """How the application nests the connector settings (KARTIBA_<SECTION>__<FIELD>)."""

    model_config = SettingsConfigDict(env_prefix="KARTIBA_", env_nested_delimiter="__")
    eklase: EklaseSettings = EklaseSettings()


def test_defaults():
    settings = EklaseSettings()
    assert settings.mode == "gateway"
    assert settings.service_account == "kartiba"
    assert settings.operation_timeout == 60
    assert settings.chunk_days == 7
    assert settings.worklist_dir == "/var/lib/kartiba/worklists"
    assert settings.ca_bundle is None
    assert settings.lesson_types == {
        "Klātienē": LessonMode.IN_PERSON,
        "Attālināti tiešsaistē": LessonMode.REMOTE_SYNC,
        "Attālināti patstāvīgi": LessonMode.REMOTE_ASYNC,
        "Attālināti": LessonMode.REMOTE_SYNC,
    }


def test_default_table_is_not_shared_between_instances():
    first = EklaseSettings()
    first.lesson_types["Jauns"] = LessonMode.REMOTE_ASYNC
    assert "Jauns" not in EklaseSettings().lesson_types


@pytest.mark.parametrize(
    ("values", "field"),
    [
        pytest.param({"mode": "email"}, "mode", id="mode"),
        pytest.param({"endpoint": "gateway.school.lv"}, "endpoint", id="endpoint-not-url"),
        pytest.param({"lesson_types": {"Klātienē": "hybrid"}}, "lesson_types", id="mode-value"),
        pytest.param({"chunk_days": 0}, "chunk_days", id="chunk-days"),
        pytest.param({"operation_timeout": 0}, "operation_timeout", id="timeout"),
        pytest.param({"service_account": " "}, "service_account", id="service-account"),
        pytest.param({"surprise": 1}, "surprise", id="unknown-key"),
    ],
)
def test_invalid_values_name_the_field(values, field):
    with pytest.raises(ValidationError) as caught:
        EklaseSettings(**values)
    assert caught.value.errors()[0]["loc"][0] == field


def test_password_never_shows(monkeypatch):
    settings = EklaseSettings(password="hunter2-secret")
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in str(settings.model_dump())
    assert settings.password.get_secret_value() == "hunter2-secret"


def test_environment_names_when_nested(monkeypatch):
    monkeypatch.setenv("KARTIBA_EKLASE__ENDPOINT", "https://gw.school.lv/journal")
    monkeypatch.setenv("KARTIBA_EKLASE__PASSWORD", "from-env")
    monkeypatch.setenv("KARTIBA_EKLASE__MODE", "worklist")
    monkeypatch.setenv("KARTIBA_EKLASE__LESSON_TYPES", '{"Tiešsaistē": "remote_sync"}')
    app = _App()
    assert app.eklase.endpoint == "https://gw.school.lv/journal"
    assert app.eklase.password.get_secret_value() == "from-env"
    assert app.eklase.mode == "worklist"
    assert app.eklase.lesson_types == {"Tiešsaistē": LessonMode.REMOTE_SYNC}


def test_settings_is_a_plain_model():
    assert issubclass(EklaseSettings, BaseModel)
    assert not issubclass(EklaseSettings, BaseSettings)
