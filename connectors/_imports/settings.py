"""Settings shared by the file-import connectors (uzdevumi.lv, soma.lv).

Neither service publishes an API: the teacher exports the results of a task (CSV or XLSX) and
drops the file in a folder kartiba reads. :class:`ImportSettings` describes that folder and
the export's columns; ``connectors.uzdevumi`` and ``connectors.soma`` subclass it for their
own settings sections.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Logical fields of an export row.
FIELDS = ("student_name", "student_email", "task_url", "task_title", "completed_at", "score")

#: Header names of a teacher's export as kartiba expects them by default (Latvian).
DEFAULT_COLUMNS: dict[str, str | list[str]] = {
    "student_name": ["Skolēns", "Skolēna vārds, uzvārds", "Vārds, uzvārds"],
    "student_email": ["E-pasts", "E-pasta adrese"],
    "task_url": ["Uzdevuma saite", "Saite"],
    "task_title": ["Uzdevums", "Uzdevuma nosaukums"],
    "completed_at": ["Izpildīts", "Izpildes laiks", "Iesniegts"],
    "score": ["Rezultāts", "Vērtējums", "Punkti"],
}

#: ``date_formats`` entry meaning ISO 8601 (``2026-11-30``, ``2026-11-30T12:05``, with offset).
ISO = "iso"


class ImportSettings(BaseModel):
    """A drop folder of exported results and how to read its files.

    ``columns`` maps each logical field to the header name(s) used in the exports: a string,
    or a list of alternatives (the first one present in a file wins); entries given replace
    the defaults field by field. A file must have the ``task_url`` and ``completed_at``
    columns and at least one of ``student_email`` / ``student_name``.

    ``date_formats`` are tried in order (``strptime`` formats, or ``"iso"``). A time without
    a UTC offset is Riga local time; a date without a time is taken as the start of that day
    (the student gets the benefit of the doubt against a due time later that day).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    drop_dir: Path | None = None
    columns: dict[str, str | list[str]] = DEFAULT_COLUMNS
    encodings: list[str] = ["utf-8-sig", "cp1257"]
    date_formats: list[str] = ["%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y. %H:%M",
                               "%d.%m.%Y.", "%d.%m.%Y", ISO]
    max_file_mb: float = Field(20.0, gt=0)  # larger files are refused, not read
    #: an XLSX whose archive would unpack to more is refused (a zip bomb)
    max_unpacked_mb: float = Field(50.0, gt=0)
    #: a file with more rows is refused
    max_rows: int = Field(50_000, gt=0)
    #: a file modified less than this many seconds ago is still being written: it is read at
    #: a later run (at once when the exporter writes a ``<file>.done`` marker next to it)
    settle_s: float = Field(60.0, ge=0)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
        return {**DEFAULT_COLUMNS, **value}

    @field_validator("encodings")
    @classmethod
    def _encodings(cls, value: list[str]) -> list[str]:
        import codecs

        for name in value:
            try:
                codecs.lookup(name)
            except LookupError:
                raise ValueError(f"unknown encoding {name!r}") from None
        if not value:
            raise ValueError("at least one encoding is needed")
        return value

    @model_validator(mode="after")
    def _folder_when_enabled(self) -> ImportSettings:
        if self.enabled and self.drop_dir is None:
            raise ValueError("drop_dir is required when the connector is enabled")
        return self

    def headers(self, field: str) -> list[str]:
        """The header names accepted for one logical field, in order of preference."""
        value = self.columns.get(field, [])
        return [value] if isinstance(value, str) else list(value)
