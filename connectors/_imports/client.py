"""Reading the drop folder: which files are exports, their bytes and hash, their cells.

The "wire" of the file-import connectors is the file system: CSV (``;`` or ``,`` separated,
encodings tried in order) and XLSX (first worksheet, read-only). Nothing here knows what the
columns mean; :mod:`connectors._imports.source` does.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from connectors._imports.models import Table

SUFFIXES = (".csv", ".xlsx")
_TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")
_DELIMITERS = (";", ",", "\t")


class FileError(Exception):
    """A file that cannot be read as an export at all (the message names no content)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DropFolder:
    """The export files present in one folder.

    Args:
        path: the folder.
        max_bytes: larger files are refused (a stray backup or video must not fill memory).
    """

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def candidates(self) -> list[Path]:
        """Export files, by name: ``*.csv`` / ``*.xlsx``, no hidden, lock or partial files."""
        out = []
        for entry in self.path.iterdir():
            name = entry.name
            if name.startswith((".", "~$")) or name.lower().endswith(_TEMP_SUFFIXES):
                continue
            if entry.suffix.lower() in SUFFIXES and entry.is_file():
                out.append(entry)
        return sorted(out, key=lambda p: p.name)

    def read(self, path: Path) -> bytes:
        """The file's bytes.

        Raises:
            FileError: too large or unreadable.
        """
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise FileError(f"file is larger than {self.max_bytes // 1_000_000} MB")
            return path.read_bytes()
        except OSError as exc:
            raise FileError(f"cannot read the file ({type(exc).__name__})") from None


def read_table(name: str, data: bytes, encodings: Sequence[str],
               known_headers: Iterable[str] = ()) -> Table:
    """The cells of a CSV or XLSX export (by the file name's suffix).

    Args:
        name: file name (its suffix decides the format).
        data: the file's bytes.
        encodings: CSV encodings to try, in order.
        known_headers: header names expected in the file, used to tell the CSV delimiter.

    Raises:
        FileError: not decodable / not a spreadsheet.
    """
    if name.lower().endswith(".xlsx"):
        return Table(name, tuple(_xlsx_rows(data)))
    return Table(name, tuple(_csv_rows(_decode(data, encodings), set(known_headers))))


def _decode(data: bytes, encodings: Sequence[str]) -> str:
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileError("cannot decode the file with encodings " + ", ".join(encodings))


def normalise_header(value: Any) -> str:
    """A header cell compared loosely: case, spacing, a trailing colon and BOM ignored."""
    text = "" if value is None else str(value)
    return " ".join(text.replace("\ufeff", "").split()).rstrip(":").casefold()


def _delimiter(text: str, known: set[str]) -> str:
    """The delimiter under which the first lines contain the most known header names."""
    sample = text.splitlines()[:10]
    wanted = {normalise_header(h) for h in known}

    def score(delimiter: str) -> tuple[int, int]:
        best = (0, 0)
        for cells in csv.reader(sample, delimiter=delimiter):
            hits = sum(normalise_header(c) in wanted for c in cells)
            best = max(best, (hits, len(cells)))
        return best

    return max(_DELIMITERS, key=score)


def _csv_rows(text: str, known: set[str]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text, known))
    start = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield start, tuple(cells)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileError(f"line {start}: not valid CSV ({exc})") from None


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, tuple[Any, ...]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise FileError("not a readable XLSX workbook") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        rows = sheet.iter_rows(values_only=True) if sheet is not None else iter(())
        for number, cells in enumerate(rows, start=1):
            if any(c is not None and str(c).strip() for c in cells):
                yield number, tuple(cells)
    except Exception as exc:  # a damaged sheet fails in many ways: one file error for all
        raise FileError(f"damaged XLSX worksheet ({type(exc).__name__})") from None
    finally:
        book.close()
