"""Issue 15 items 2, 8, 10, 15: hostile files in a real drop folder, read by the import source."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from connectors._imports import ImportActivitySource, ImportSettings
from connectors._imports.client import FileError, Limits, read_table, sniff_encoding
from connectors._imports.source import RowError, parse_time
from tests.connectors.imports.fakes import MemoryLedger

RIGA = ZoneInfo("Europe/Riga")
URL = "https://www.uzdevumi.lv/p/fizika/oma-likums/1234"
HEADER = "Skolēns;E-pasts;Uzdevums;Uzdevuma saite;Izpildīts;Rezultāts"
KNOWN = ["Skolēns", "E-pasts", "Uzdevuma saite", "Izpildīts"]


def _source(tmp_path, **settings) -> tuple[ImportActivitySource, MemoryLedger]:
    ledger = MemoryLedger()
    config = ImportSettings(enabled=True, drop_dir=tmp_path, **settings)
    return ImportActivitySource("uzdevumi", config, ledger), ledger


def _rows(*times: str) -> str:
    return "\r\n".join([HEADER] + [f"S{i};s{i}@a.lv;T;{URL};{t};1"
                                   for i, t in enumerate(times)])


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_file_still_being_written_waits_for_its_settle_time_or_marker(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(_rows("30.11.2026 12:05") + "\r\n", encoding="utf-8")
    source, ledger = _source(tmp_path, settle_s=60)

    assert source.import_new_files().files == 0 and source.last_report.errors == []
    _age(path, 61)
    assert source.import_new_files().files == 1

    other = tmp_path / "b.csv"
    other.write_text(_rows("30.11.2026 12:06") + "\r\n", encoding="utf-8")
    (tmp_path / "b.csv.done").touch()
    assert source.import_new_files().files == 1  # the marker: at once


@pytest.mark.parametrize(("last", "why"), [
    pytest.param("30.11.2026", "no time of day", id="cut-after-the-date"),
    pytest.param("30.11.2026 14:0", "incomplete", id="cut-minute"),
    pytest.param("30.11.20", "no time of day", id="cut-year"),
])
def test_a_cut_last_line_is_rejected_not_read_as_midnight(tmp_path, last, why):
    (tmp_path / "a.csv").write_text(_rows("30.11.2026 12:05", last), encoding="utf-8")
    source, ledger = _source(tmp_path, settle_s=0)

    report = source.import_new_files()

    (error,) = report.errors
    assert error.record == "a.csv:3" and why in error.message
    (_, records), = ledger.files.values()
    assert [r.at for r in records] == [dt.datetime(2026, 11, 30, 12, 5, tzinfo=RIGA)]


@pytest.mark.parametrize("text", ["30.11.2026 12:5", "2026-11-30T12:0", "30.11.2026 12:05:0"])
def test_incomplete_times_are_refused_anywhere(text):
    with pytest.raises(RowError, match="incomplete"):
        parse_time(text, ImportSettings().date_formats)


def test_a_date_alone_on_a_terminated_line_is_still_the_start_of_day(tmp_path):
    (tmp_path / "a.csv").write_text(_rows("30.11.2026 12:05", "30.11.2026") + "\r\n",
                                    encoding="utf-8")
    source, ledger = _source(tmp_path, settle_s=0)
    assert source.import_new_files().rows == 2


def test_a_symlink_is_refused_by_name(tmp_path):
    (tmp_path / "passwd.csv").symlink_to("/etc/passwd")
    source, _ = _source(tmp_path, settle_s=0)
    (error,) = source.import_new_files().errors
    assert error.record == "passwd.csv" and "symbolic link" in error.message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_exports_are_read(tmp_path, encoding):
    (tmp_path / "a.csv").write_bytes((_rows("30.11.2026 12:05") + "\r\n").encode(encoding))
    source, ledger = _source(tmp_path, settle_s=0)
    report = source.import_new_files()
    assert (report.files, report.rows, report.errors) == (1, 1, [])


def test_sniff_encoding_leaves_plain_bytes_to_the_settings():
    assert sniff_encoding("Skolēns".encode("cp1257")) is None


def test_rows_over_the_cap_refuse_the_file():
    text = "\n".join(["Skolēns;E-pasts"] + [f"S{i};s{i}@a.lv" for i in range(20)])
    with pytest.raises(FileError, match="more than 10 rows"):
        read_table("a.csv", text.encode(), ["utf-8"], KNOWN, Limits(max_rows=10))


def test_xlsx_rows_over_the_cap_refuse_the_file():
    book = Workbook()
    for i in range(30):
        book.active.append([f"S{i}", f"s{i}@a.lv"])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(FileError, match="more than 10 rows"):
        read_table("a.xlsx", buffer.getvalue(), ["utf-8"], KNOWN, Limits(max_rows=10))


def test_a_long_field_in_the_first_lines_is_a_file_error_not_a_crash():
    text = "Skolēns;E-pasts\n\"" + "x" * 200_000 + "\"\n"
    with pytest.raises(FileError, match="not valid CSV"):
        read_table("a.csv", text.encode(), ["utf-8"], KNOWN)
