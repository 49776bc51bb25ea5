"""uzdevumi.lv and soma.lv: thin packages over the one shared file import (connectors._imports)."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors import soma, uzdevumi
from connectors._imports import ImportActivitySource, ImportSettings
from connectors.errors import ConfigError
from mappings.model import ActivityRef
from tests.connectors.imports.fakes import MemoryLedger

PACKAGES = [
    pytest.param(uzdevumi, uzdevumi.UzdevumiSettings, "uzdevumi",
                 "https://uzdevumi.lv/p/task/1", id="uzdevumi"),
    pytest.param(soma, soma.SomaSettings, "soma", "https://soma.lv/task/1", id="soma"),
]


@pytest.mark.parametrize(("package", "settings_cls", "system", "link"), PACKAGES)
def test_settings_are_the_shared_import_settings(package, settings_cls, system, link):
    assert issubclass(settings_cls, ImportSettings)
    assert system == package.SYSTEM


@pytest.mark.parametrize(("package", "settings_cls", "system", "link"), PACKAGES)
def test_build_gives_an_import_source_for_this_platform(tmp_path, package, settings_cls,
                                                         system, link):
    (tmp_path / "r.csv").write_text(
        "Skolēns;E-pasts;Uzdevuma saite;Izpildīts\n"
        f"Jānis;janis@a.lv;{link};30.11.2026 12:00\n", encoding="utf-8")
    ledger = MemoryLedger()

    source = package.build(settings_cls(enabled=True, drop_dir=tmp_path, settle_s=0),
                           ledger=ledger)
    ref = ActivityRef(system, link)
    evidence = source.fetch([ref], until=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))

    assert isinstance(source, ImportActivitySource)
    assert source.platform == system
    assert [r.platform for r in evidence[ref].records] == [system]
    assert list(ledger.files) and all(name == system for name, _ in ledger.files)


@pytest.mark.parametrize(("package", "settings_cls", "system", "link"), PACKAGES)
@pytest.mark.parametrize(("settings", "with_ledger", "field"), [
    pytest.param({"drop_dir": "/tmp"}, False, "enabled", id="no-ledger"),
    pytest.param({}, True, "drop_dir", id="no-folder"),
])
def test_build_refuses_an_incomplete_configuration(package, settings_cls, system, link,
                                                   settings, with_ledger, field):
    with pytest.raises(ConfigError) as info:
        package.build(settings_cls(**settings), ledger=MemoryLedger() if with_ledger else None)
    assert info.value.setting == f"{system}.{field}"
