"""Teachers' exports of uzdevumi.lv / soma.lv results, written into a drop folder.

Neither service has an API; a teacher downloads a task's results and puts the file where
kartiba reads it. :class:`ExportWriter` plays that teacher for the scenario's ``uzdevumi`` /
``soma`` rows: each call writes the rows completed by ``world.now`` and not written before,
one file per task, with the default Latvian headers. Formats: CSV (UTF-8 with BOM, ``;``
separated, times as ``dd.mm.yyyy HH:MM`` Riga time) and XLSX (a title line, then the header,
times as real date cells in Riga local time). With ``fmt="both"`` the files alternate between
the two formats. Files are written under a temporary dot-name and renamed, as a careful
copy would.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from openpyxl import Workbook

from sandbox.scenario import ExportRow
from sandbox.world import RIGA, World

#: The export's columns, in order (the connector's default header names).
HEADERS = ("Skolēns", "E-pasts", "Uzdevums", "Uzdevuma saite", "Izpildīts", "Rezultāts")
TIME_FORMAT = "%d.%m.%Y %H:%M"


class ExportWriter:
    """Writes a system's scenario rows as teacher exports into ``folder``.

    Args:
        world: the shared scenario and clock.
        system: ``"uzdevumi"`` or ``"soma"`` (the scenario section).
        folder: the drop folder (created when missing).
    """

    def __init__(self, world: World, system: Literal["uzdevumi", "soma"], folder: Path) -> None:
        self.world = world
        self.system = system
        self.folder = folder
        self._written: set[int] = set()
        self._files = 0

    def write_new(self, fmt: Literal["csv", "xlsx", "both"] = "both") -> list[Path]:
        """Write the rows completed by now and not written yet; returns the new files."""
        section = getattr(self.world.scenario, self.system)
        now = self.world.now
        fresh = [(i, r) for i, r in enumerate(section.rows)
                 if i not in self._written and r.completed_at <= now]
        by_task: dict[str, list[ExportRow]] = {}
        for index, row in fresh:
            by_task.setdefault(row.task_url, []).append(row)
            self._written.add(index)
        self.folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for task_url, rows in by_task.items():
            kind = fmt if fmt != "both" else ("csv" if self._files % 2 == 0 else "xlsx")
            paths.append(self._write(kind, task_url, rows))
        return paths

    # -- internals

    def _cells(self, task_url: str, row: ExportRow) -> list[str]:
        student = self.world.scenario.student(row.student)
        return [f"{student.first_name} {student.last_name}", student.email, _title(task_url),
                task_url, row.completed_at.astimezone(RIGA).strftime(TIME_FORMAT), row.score]

    def _write(self, kind: str, task_url: str, rows: Sequence[ExportRow]) -> Path:
        self._files += 1
        name = f"{self.system}-eksports-{self._files:03d}.{kind}"
        data = self._csv(task_url, rows) if kind == "csv" else self._xlsx(task_url, rows)
        temp = self.folder / f".{name}.tmp"
        temp.write_bytes(data)
        final = self.folder / name
        temp.replace(final)
        (self.folder / f"{name}.done").touch()  # the exporter's "complete" marker
        return final

    def _csv(self, task_url: str, rows: Sequence[ExportRow]) -> bytes:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADERS)
        for row in rows:
            writer.writerow(self._cells(task_url, row))
        return buffer.getvalue().encode("utf-8-sig")

    def _xlsx(self, task_url: str, rows: Sequence[ExportRow]) -> bytes:
        book = Workbook()
        sheet = book.active
        sheet.title = "Rezultāti"
        sheet.append([f"{self.system}.lv — rezultātu eksports: {_title(task_url)}"])
        sheet.append(list(HEADERS))
        for row in rows:
            cells: list[object] = self._cells(task_url, row)
            cells[4] = row.completed_at.astimezone(RIGA).replace(tzinfo=None, second=0,
                                                                 microsecond=0)
            sheet.append(cells)
            sheet.cell(row=sheet.max_row, column=5).number_format = "DD.MM.YYYY HH:MM"
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


def _title(task_url: str) -> str:
    """A task title as the services show one (the link's last path segment)."""
    parts = [p for p in urlsplit(task_url).path.split("/") if p]
    return parts[-1].replace("-", " ").replace("_", " ") if parts else task_url
