"""Reading export files: encodings, delimiters, XLSX, line numbers, which files are exports."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from connectors._imports.client import DropFolder, FileError, read_table, sha256

KNOWN = ["Skolēns", "E-pasts", "Uzdevuma saite", "Izpildīts", "Rezultāts"]
ENCODINGS = ["utf-8-sig", "cp1257"]


def _csv(delimiter: str, encoding: str, newline: str = "\r\n") -> bytes:
    lines = [
        delimiter.join(["Skolēns", "E-pasts", "Uzdevuma saite", "Izpildīts", "Rezultāts"]),
        delimiter.join(["Jānis Bērziņš", "janis@a.lv", "https://www.uzdevumi.lv/p/x/1",
                        "30.11.2026 12:05", "8/10"]),
        delimiter.join(["Līga Kalna", "liga@a.lv", "https://www.uzdevumi.lv/p/x/1",
                        "30.11.2026 13:00", "9/10"]),
    ]
    return (newline.join(lines) + newline).encode(encoding)


@pytest.mark.parametrize(("delimiter", "encoding"), [
    pytest.param(";", "utf-8-sig", id="semicolon-utf8-bom"),
    pytest.param(",", "utf-8", id="comma-utf8"),
    pytest.param(";", "cp1257", id="semicolon-cp1257"),
    pytest.param(",", "cp1257", id="comma-cp1257"),
    pytest.param("\t", "utf-8", id="tab-utf8"),
])
def test_csv_is_decoded_and_split_whatever_the_encoding_and_delimiter(delimiter, encoding):
    table = read_table("x.csv", _csv(delimiter, encoding), ENCODINGS, KNOWN)

    assert [line for line, _ in table.rows] == [1, 2, 3]
    header, first = table.rows[0][1], table.rows[1][1]
    assert header[0] == "Skolēns"  # BOM stripped, diacritics intact
    assert first[:2] == ("Jānis Bērziņš", "janis@a.lv")
    assert first[4] == "8/10"


def test_csv_line_numbers_are_where_each_record_starts_across_quoted_newlines_and_blanks():
    text = ('Skolēns;E-pasts;Uzdevuma saite;Izpildīts\n'
            '"Jānis\nBērziņš";janis@a.lv;https://uzdevumi.lv/p/1;30.11.2026 12:05\n'
            '\n'
            ';;;\n'
            'Līga Kalna;liga@a.lv;https://uzdevumi.lv/p/1;30.11.2026 13:00\n')
    table = read_table("x.csv", text.encode(), ENCODINGS, KNOWN)

    assert [line for line, _ in table.rows] == [1, 2, 6]


def test_a_comma_inside_a_semicolon_file_does_not_fool_the_delimiter_guess():
    text = ("Skolēns;E-pasts;Uzdevuma saite;Izpildīts\n"
            "Bērziņš, Jānis;janis@a.lv;https://uzdevumi.lv/p/1;30.11.2026 12:05\n")
    table = read_table("x.csv", text.encode(), ENCODINGS, KNOWN)

    assert table.rows[1][1][0] == "Bērziņš, Jānis"


def test_undecodable_bytes_are_a_file_error():
    with pytest.raises(FileError, match="cannot decode"):
        read_table("x.csv", "Skolēns;E-pasts\n".encode("cp1257"), ["utf-8"], KNOWN)


def test_xlsx_rows_keep_their_sheet_row_numbers_and_cell_types():
    book = Workbook()
    sheet = book.active
    sheet.append(["Rezultātu eksports"])
    sheet.append([])
    sheet.append(["Skolēns", "E-pasts", "Uzdevuma saite", "Izpildīts"])
    sheet.append(["Jānis Bērziņš", "janis@a.lv", "https://uzdevumi.lv/p/1",
                  dt.datetime(2026, 11, 30, 12, 5)])
    buffer = io.BytesIO()
    book.save(buffer)

    table = read_table("x.xlsx", buffer.getvalue(), ENCODINGS, KNOWN)

    assert [line for line, _ in table.rows] == [1, 3, 4]
    assert table.rows[2][1][3] == dt.datetime(2026, 11, 30, 12, 5)


def test_a_broken_xlsx_is_a_file_error():
    with pytest.raises(FileError, match="XLSX"):
        read_table("x.xlsx", b"PK\x03\x04 not really a zip", ENCODINGS, KNOWN)


def test_the_folder_lists_exports_only_in_name_order(tmp_path):
    for name in ["b.csv", "a.XLSX", "c.txt", ".hidden.csv", "~$a.xlsx", "d.csv.part",
                 "e.csv.tmp"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "dir.csv").mkdir()

    names = [p.name for p in DropFolder(tmp_path, 1000).candidates()]

    assert names == ["a.XLSX", "b.csv"]


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 2_000_001)

    with pytest.raises(FileError, match="larger than 2 MB"):
        DropFolder(tmp_path, 2_000_000).read(path)


def test_hash_is_of_the_bytes():
    assert sha256(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
