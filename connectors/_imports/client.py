"""Reading the drop folder: which files are exports, their bytes and hash, their cells.

The "wire" of the file-import connectors is the file system: CSV (``;`` or ``,`` separated;
UTF-16/UTF-8 by their byte-order mark or NUL pattern, else the configured encodings in order)
and XLSX (first worksheet, read-only). Nothing here knows what the columns mean;
:mod:`connectors._imports.source` does.

The folder is a trust boundary (anyone who can write into it is believed), so reading is
defensive: a symbolic link is refused (never followed out of the folder), a file still being
written is left for a later run (its modification time is younger than the settle time and
no ``<name>.done`` marker is there), and the sizes are capped: the bytes of a file, what an
XLSX (a ZIP archive) would unpack to, and the rows of a table. A file that breaks a rule is
one :class:`FileError`; the other files are read.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import stat
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors._imports.models import Table

SUFFIXES = (".csv", ".xlsx")
_TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")
_DELIMITERS = (";", ",", "\t")
DONE_SUFFIX = ".done"


class FileError(Exception):
    """A file that cannot be read as an export at all (the message names no content)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DropFolder:
    """The export files present in one folder.

    Args:
        path: the folder.
        max_bytes: larger files are refused (a stray backup or video must not fill memory).
        settle_s: a file modified less than this many seconds ago is still being written
            and is left for a later run, unless its ``<name>.done`` marker exists.
        clock: wall-clock seconds (tests move it).
    """

    def __init__(self, path: Path, max_bytes: int, *, settle_s: float = 0.0,
                 clock=time.time) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.settle_s = settle_s
        self._clock = clock

    def candidates(self) -> list[Path]:
        """Export files, by name: ``*.csv`` / ``*.xlsx``, no hidden, lock or partial files.

        Symbolic links are listed too, so that :meth:`read` refuses them by name.
        """
        out = []
        for entry in self.path.iterdir():
            name = entry.name
            if name.startswith((".", "~$")) or name.lower().endswith(_TEMP_SUFFIXES):
                continue
            if entry.suffix.lower() in SUFFIXES and (entry.is_symlink() or entry.is_file()):
                out.append(entry)
        return sorted(out, key=lambda p: p.name)

    def settled(self, path: Path) -> bool:
        """Whether a file has stopped changing: a ``.done`` marker, or an old enough mtime."""
        if Path(f"{path}{DONE_SUFFIX}").is_file():
            return True
        try:
            info = path.lstat()
        except OSError:
            return False
        return self._clock() - info.st_mtime >= self.settle_s

    def read(self, path: Path) -> bytes:
        """The file's bytes, read without following a symbolic link.

        Raises:
            FileError: a symbolic link, not a regular file, too large, or unreadable.
        """
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            if path.is_symlink():
                raise FileError("is a symbolic link: refused (files must be in the folder)"
                                ) from None
            raise FileError(f"cannot read the file ({type(exc).__name__})") from None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise FileError("is not a regular file: refused")
            if info.st_size > self.max_bytes:
                raise FileError(f"file is larger than {self.max_bytes // 1_000_000} MB")
            try:
                data = fh.read(self.max_bytes + 1)
            except OSError as exc:
                raise FileError(f"cannot read the file ({type(exc).__name__})") from None
        if len(data) > self.max_bytes:
            raise FileError(f"file is larger than {self.max_bytes // 1_000_000} MB")
        return data


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on what one export may cost to read.

    Attributes:
        max_rows: rows of a table (CSV records / XLSX rows) beyond which the file is refused.
        max_unpacked_bytes: what an XLSX's archive members may unpack to, in total.
    """

    max_rows: int = 100_000
    max_unpacked_bytes: int = 100_000_000


def read_table(name: str, data: bytes, encodings: Sequence[str],
               known_headers: Iterable[str] = (), limits: Limits | None = None) -> Table:
    """The cells of a CSV or XLSX export (by the file name's suffix).

    Args:
        name: file name (its suffix decides the format).
        data: the file's bytes.
        encodings: CSV encodings to try, in order, after the byte-order mark / UTF-16 check.
        known_headers: header names expected in the file, used to tell the CSV delimiter.
        limits: size caps (defaults: :class:`Limits`).

    Raises:
        FileError: not decodable / not a spreadsheet / over a cap / not valid CSV.
    """
    limits = limits or Limits()
    if name.lower().endswith(".xlsx"):
        return Table(name, tuple(_capped(_xlsx_rows(data, limits), limits.max_rows)))
    text = _decode(data, encodings)
    rows = _csv_rows(text, set(known_headers))
    return Table(name, tuple(_capped(rows, limits.max_rows)),
                 unterminated=bool(text) and not text.endswith(("\n", "\r")))


def _capped(rows: Iterator[tuple[int, tuple[Any, ...]]],
            max_rows: int) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for count, row in enumerate(rows, start=1):
        if count > max_rows:
            raise FileError(f"more than {max_rows} rows: refused (imports.max_rows)")
        yield row


def sniff_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark or a UTF-16 NUL pattern names; None when neither."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:4096]
    if len(head) >= 4 and head.count(0) * 4 >= len(head):
        # ASCII text in UTF-16 has a NUL in every other byte: which half tells the order
        even, odd = head[0::2].count(0), head[1::2].count(0)
        return "utf-16-le" if odd > even else "utf-16-be"
    return None


def _decode(data: bytes, encodings: Sequence[str]) -> str:
    sniffed = sniff_encoding(data)
    for encoding in ([sniffed] if sniffed else []) + list(encodings):
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
    """The delimiter under which the first lines contain the most known header names.

    A sample that is not valid CSV under a delimiter (a field over the csv module's limit,
    a stray quote) scores nothing under it; reading the file then reports the line.
    """
    sample = text.splitlines()[:10]
    wanted = {normalise_header(h) for h in known}

    def score(delimiter: str) -> tuple[int, int]:
        best = (0, 0)
        try:
            for cells in csv.reader(sample, delimiter=delimiter):
                hits = sum(normalise_header(c) in wanted for c in cells)
                best = max(best, (hits, len(cells)))
        except csv.Error:
            return best
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


def _check_archive(data: bytes, max_unpacked: int) -> None:
    """Refuse an XLSX whose members would unpack to more than ``max_unpacked`` bytes.

    The sizes are the archive's own declarations; openpyxl's reader (zipfile) stops at the
    declared size, so a member cannot unpack to more than it declares.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileError("not a readable XLSX workbook") from None
    if unpacked > max_unpacked:
        raise FileError(f"XLSX unpacks to {unpacked // 1_000_000} MB, more than "
                        f"{max_unpacked // 1_000_000} MB: refused (imports.max_unpacked_mb)")


def _xlsx_rows(data: bytes, limits: Limits) -> Iterator[tuple[int, tuple[Any, ...]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_archive(data, limits.max_unpacked_bytes)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise FileError("not a readable XLSX workbook") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        rows = sheet.iter_rows(values_only=True) if sheet is not None else iter(())
        for number, cells in enumerate(rows, start=1):
            if number > limits.max_rows * 2:  # blank rows too: a sheet of empty rows is a bomb
                raise FileError(f"more than {limits.max_rows} rows: refused (max_rows)")
            if any(c is not None and str(c).strip() for c in cells):
                yield number, tuple(cells)
    except FileError:
        raise
    except Exception as exc:  # a damaged sheet fails in many ways: one file error for all
        raise FileError(f"damaged XLSX worksheet ({type(exc).__name__})") from None
    finally:
        book.close()
