"""The uzdevumi.lv connector: a thin package over the shared file import."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors import uzdevumi
from connectors._imports import ImportActivitySource, ImportSettings
from connectors.errors import ConfigError
from connectors.uzdevumi import UzdevumiSettings, build
from mappings.model import ActivityRef
from tests.connectors.imports.fakes import MemoryLedger


def test_settings_are_the_shared_import_settings():
    assert issubclass(UzdevumiSettings, ImportSettings)
    assert uzdevumi.SYSTEM == "uzdevumi"


def test_build_gives_an_import_source_for_this_platform(tmp_path):
    (tmp_path / "r.csv").write_text(
        "Skolēns;E-pasts;Uzdevuma saite;Izpildīts\n"
        "Jānis;janis@a.lv;https://uzdevumi.lv/task/1;30.11.2026 12:00\n", encoding="utf-8")
    ledger = MemoryLedger()

    source = build(UzdevumiSettings(enabled=True, drop_dir=tmp_path), ledger=ledger)
    ref = ActivityRef("uzdevumi", "https://uzdevumi.lv/task/1")
    evidence = source.fetch([ref], until=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))

    assert isinstance(source, ImportActivitySource)
    assert source.platform == "uzdevumi"
    assert [r.platform for r in evidence[ref].records] == ["uzdevumi"]
    assert list(ledger.files) and all(system == "uzdevumi" for system, _ in ledger.files)


@pytest.mark.parametrize(("settings", "ledger", "setting"), [
    pytest.param({"drop_dir": "/tmp"}, None, "uzdevumi.enabled", id="no-ledger"),
    pytest.param({}, MemoryLedger(), "uzdevumi.drop_dir", id="no-folder"),
])
def test_build_refuses_an_incomplete_configuration(settings, ledger, setting):
    with pytest.raises(ConfigError) as info:
        build(UzdevumiSettings(**settings), ledger=ledger)
    assert info.value.setting == setting
