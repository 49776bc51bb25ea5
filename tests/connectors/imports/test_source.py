"""Importing exports: rows to records, bad rows by file and line, each file once, evidence."""

from __future__ import annotations

import datetime as dt
import io
import logging
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from connectors._imports import ImportActivitySource, ImportSettings
from connectors._imports.source import RowError, parse_time
from connectors.base import ActivitySource, ImportLedger
from connectors.errors import ConfigError, RecordError
from mappings.model import ActivityRef
from tests.connectors.imports.fakes import MemoryLedger

RIGA = ZoneInfo("Europe/Riga")
URL = "https://www.uzdevumi.lv/p/fizika/oma-likums/1234"
KEY = "https://uzdevumi.lv/p/fizika/oma-likums/1234"  # the normalised link
HEADER = "Skolēns;E-pasts;Uzdevums;Uzdevuma saite;Izpildīts;Rezultāts"
LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _source(tmp_path, **settings) -> tuple[ImportActivitySource, MemoryLedger]:
    ledger = MemoryLedger()
    config = ImportSettings(enabled=True, drop_dir=tmp_path, **{"settle_s": 0, **settings})
    return ImportActivitySource("uzdevumi", config, ledger), ledger


def _write(tmp_path, name: str, lines: list[str], encoding: str = "utf-8-sig") -> None:
    (tmp_path / name).write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


def _ref(url: str = URL) -> ActivityRef:
    return ActivityRef("uzdevumi", url)


def test_the_source_and_the_fake_ledger_follow_the_protocols(tmp_path):
    source, ledger = _source(tmp_path)

    assert isinstance(source, ActivitySource)
    assert isinstance(ledger, ImportLedger)
    assert source.platform == "uzdevumi"


def test_good_rows_become_result_records_at_riga_time(tmp_path):
    _write(tmp_path, "a.csv", [HEADER,
                               f"Jānis Bērziņš;janis@a.lv;Oma likums;{URL};30.11.2026 12:05;8/10",
                               f"Līga Kalna;;Oma likums;{URL};30.11.2026. ;9/10"])
    source, ledger = _source(tmp_path)

    report = source.import_new_files()

    assert (report.files, report.rows, report.errors) == (1, 2, [])
    (_, records), = ledger.files.values()
    janis, liga = sorted(records, key=lambda r: r.name)
    assert (janis.platform, janis.kind, janis.activity_url) == ("uzdevumi", "result", KEY)
    assert (janis.email, janis.name) == ("janis@a.lv", "Jānis Bērziņš")
    assert janis.at == dt.datetime(2026, 11, 30, 12, 5, tzinfo=RIGA)
    assert janis.at.utcoffset() == dt.timedelta(hours=2)
    assert (liga.email, liga.at) == ("", dt.datetime(2026, 11, 30, 0, 0, tzinfo=RIGA))


@pytest.mark.parametrize(("row", "reason"), [
    pytest.param(f"Jānis;janis@a.lv;T;{URL};31.02.2026 12:00;1", "completed_at is not a date",
                 id="impossible-date"),
    pytest.param(f"Jānis;janis@a.lv;T;{URL};vakar;1", "completed_at is not a date",
                 id="words-for-a-date"),
    pytest.param("Jānis;janis@a.lv;T;;30.11.2026 12:00;1", "task_url is empty", id="no-link"),
    pytest.param("Jānis;janis@a.lv;T;nav saites;30.11.2026 12:00;1", "task_url is not a link",
                 id="not-a-link"),
    pytest.param(f";;T;{URL};30.11.2026 12:00;1", "neither student_email nor student_name",
                 id="no-student"),
    pytest.param(f"Jānis;janis(at)a.lv;T;{URL};30.11.2026 12:00;1",
                 "student_email is not an e-mail", id="bad-email"),
])
def test_a_bad_row_is_reported_by_file_and_line_and_the_rest_is_imported(tmp_path, caplog, row,
                                                                         reason):
    _write(tmp_path, "export.csv", [HEADER,
                                    f"Līga Kalna;liga@a.lv;T;{URL};30.11.2026 13:00;9",
                                    row,
                                    f"Oskars Vītols;oskars@a.lv;T;{URL};30.11.2026 14:00;7"])
    source, ledger = _source(tmp_path)

    with caplog.at_level(logging.WARNING):
        report = source.import_new_files()

    assert report.files == 1 and report.rows == 2
    (error,) = report.errors
    assert isinstance(error, RecordError)
    assert (error.system, error.record) == ("uzdevumi", "export.csv:3")
    assert reason in error.message
    (_, records), = ledger.files.values()
    assert sorted(r.email for r in records) == ["liga@a.lv", "oskars@a.lv"]
    assert "export.csv:3" in caplog.text
    assert "Jānis" not in caplog.text and "janis" not in caplog.text  # ids only in logs


def test_a_row_without_completion_time_is_a_task_not_done_and_no_error(tmp_path):
    _write(tmp_path, "a.csv", [HEADER, f"Jānis;janis@a.lv;T;{URL};;",
                               f"Līga;liga@a.lv;T;{URL};30.11.2026 13:00;9"])
    source, _ = _source(tmp_path)

    report = source.import_new_files()

    assert (report.rows, report.errors) == (1, [])


def test_the_same_file_is_imported_once_even_under_another_name(tmp_path):
    lines = [HEADER, f"Jānis;janis@a.lv;T;{URL};30.11.2026 12:05;8"]
    _write(tmp_path, "a.csv", lines)
    source, ledger = _source(tmp_path)

    first = source.import_new_files()
    _write(tmp_path, "a (copy).csv", lines)
    second = source.import_new_files()
    third = source.import_new_files()

    assert (first.files, second.files, third.files) == (1, 0, 0)
    assert ledger.record_calls == 1
    assert ledger.names("uzdevumi") == ["a.csv"]


def test_a_changed_file_is_a_new_file(tmp_path):
    _write(tmp_path, "a.csv", [HEADER, f"Jānis;janis@a.lv;T;{URL};30.11.2026 12:05;8"])
    source, ledger = _source(tmp_path)
    source.import_new_files()
    _write(tmp_path, "a.csv", [HEADER, f"Jānis;janis@a.lv;T;{URL};30.11.2026 12:05;8",
                               f"Līga;liga@a.lv;T;{URL};30.11.2026 13:00;9"])

    report = source.import_new_files()

    assert (report.files, report.rows, ledger.record_calls) == (1, 2, 2)


def test_duplicate_rows_in_one_file_are_recorded_once(tmp_path):
    row = f"Jānis;janis@a.lv;T;{URL};30.11.2026 12:05;8"
    _write(tmp_path, "a.csv", [HEADER, row, row])
    source, _ = _source(tmp_path)

    assert source.import_new_files().rows == 1


def test_a_file_without_the_needed_columns_is_reported_and_left_for_a_later_run(tmp_path):
    _write(tmp_path, "a.csv", ["Name;Mail;Link;Done", f"Jānis;janis@a.lv;{URL};30.11.2026 12:05"])
    source, ledger = _source(tmp_path)

    report = source.import_new_files()

    assert (report.files, ledger.record_calls) == (0, 0)
    (error,) = report.errors
    assert error.record == "a.csv" and "no header row" in error.message
    fixed, ledger2 = _source(tmp_path, columns={"student_name": "Name", "student_email": "Mail",
                                                "task_url": "Link", "completed_at": "Done"})
    assert fixed.import_new_files().rows == 1


def test_a_cp1257_export_with_a_title_line_and_comma_delimiter(tmp_path):
    _write(tmp_path, "a.csv", ["Rezultāti: Oma likums", "",
                               HEADER.replace(";", ","),
                               f"Jānis Bērziņš,janis@a.lv,T,{URL},30.11.2026 12:05,8"],
           encoding="cp1257")
    source, ledger = _source(tmp_path)

    report = source.import_new_files()

    assert (report.rows, report.errors) == (1, [])
    (_, records), = ledger.files.values()
    assert records[0].name == "Jānis Bērziņš"


def test_an_xlsx_export_with_date_cells(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(";"))
    sheet.append(["Jānis Bērziņš", "janis@a.lv", "T", URL, dt.datetime(2026, 3, 29, 5, 30), 8])
    sheet.append(["Līga Kalna", "liga@a.lv", "T", URL, dt.date(2026, 11, 30), 9])
    sheet.append(["Oskars Vītols", "oskars@a.lv", "T", URL, "nav", 9])
    buffer = io.BytesIO()
    book.save(buffer)
    (tmp_path / "r.xlsx").write_bytes(buffer.getvalue())
    source, ledger = _source(tmp_path)

    report = source.import_new_files()

    assert report.rows == 2
    assert [e.record for e in report.errors] == ["r.xlsx:4"]
    (_, records), = ledger.files.values()
    by_email = {r.email: r.at for r in records}
    # 29 March 2026 05:30 Riga is summer time already (clocks went 03:00 -> 04:00): UTC+3
    assert by_email["janis@a.lv"].astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 2, 30,
                                                                      tzinfo=dt.UTC)
    assert by_email["liga@a.lv"] == dt.datetime(2026, 11, 30, tzinfo=RIGA)


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("30.11.2026 12:05", dt.datetime(2026, 11, 30, 12, 5, tzinfo=RIGA), id="lv"),
    pytest.param("30.11.2026 12:05:30", dt.datetime(2026, 11, 30, 12, 5, 30, tzinfo=RIGA),
                 id="lv-seconds"),
    pytest.param("30.11.2026.", dt.datetime(2026, 11, 30, tzinfo=RIGA), id="lv-date"),
    pytest.param("2026-11-30T12:05", dt.datetime(2026, 11, 30, 12, 5, tzinfo=RIGA), id="iso"),
    pytest.param("2026-11-30T10:05:00Z", dt.datetime(2026, 11, 30, 10, 5, tzinfo=dt.UTC),
                 id="iso-utc"),
    pytest.param("01.07.2026 12:00", dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC),
                 id="summer-time"),
    pytest.param(46356.5, dt.datetime(2026, 11, 30, 12, 0, tzinfo=RIGA), id="excel-serial"),
])
def test_completion_times(value, expected):
    settings = ImportSettings()

    assert parse_time(value, settings.date_formats) == expected


def test_a_time_in_no_format_is_a_row_error():
    with pytest.raises(RowError):
        parse_time("11/30/2026", ImportSettings().date_formats)


def test_fetch_imports_then_answers_each_ref_from_every_imported_row(tmp_path):
    other = "https://uzdevumi.lv/p/fizika/cits/99"
    _write(tmp_path, "a.csv", [HEADER, f"Jānis;janis@a.lv;T;{URL};30.11.2026 12:05;8"])
    source, _ = _source(tmp_path)
    source.import_new_files()
    _write(tmp_path, "b.csv", [HEADER, f"Līga;liga@a.lv;T;{URL.upper().replace('HTTPS', 'http')}"
                                       f";01.12.2026 09:00;9"])
    refs = [_ref(), _ref(other), ActivityRef("soma", URL)]

    evidence = source.fetch(refs, until=dt.datetime(2026, 12, 1, 0, 0, tzinfo=RIGA))

    assert source.last_report.files == 1  # b.csv, imported by fetch
    assert evidence[refs[0]].found is True
    assert [r.email for r in evidence[refs[0]].records] == ["janis@a.lv"]  # Līga after until
    assert evidence[refs[0]].records[0].activity_url == URL
    assert evidence[refs[1]].found is False and evidence[refs[1]].records == ()
    assert evidence[refs[2]].found is False  # another platform's link


def test_fetch_with_the_same_link_spelled_differently(tmp_path):
    _write(tmp_path, "a.csv", [HEADER, f"Jānis;janis@a.lv;T;{URL}/;30.11.2026 12:05;8"])
    source, _ = _source(tmp_path)
    ref = _ref("uzdevumi.lv/p/fizika/oma-likums/1234#sakums")

    evidence = source.fetch([ref], until=LATER)

    assert [r.email for r in evidence[ref].records] == ["janis@a.lv"]


def test_a_missing_drop_folder_is_a_configuration_error(tmp_path):
    source, _ = _source(tmp_path / "nav")

    with pytest.raises(ConfigError) as info:
        source.import_new_files()
    assert info.value.setting == "uzdevumi.drop_dir"


def test_health_counts_export_files(tmp_path):
    _write(tmp_path, "a.csv", [HEADER])
    source, _ = _source(tmp_path)

    assert "1 export file(s)" in source.health()
