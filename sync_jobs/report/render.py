"""The report as HTML (inline SVG charts, no script, no network), XLSX, CSV or JSON."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from connectors._cells import csv_cell, xlsx_row
from mappings.explain import REASONS
from sync_jobs.report.labels import FORMATS, LABELS, OUTCOMES, STATES, dmy, percent
from sync_jobs.report.model import Report

BAR_WIDTH = 360  # px of the quota chart's bar area
ROW_HEIGHT = 22


def render(report: Report, fmt: str, lang: str = "lv") -> bytes:
    """The report in one format.

    Raises:
        ValueError: an unknown format or language.
    """
    if lang not in LABELS:
        raise ValueError(f"unsupported language {lang!r}")
    renderers = {"html": render_html, "xlsx": render_xlsx, "csv": render_csv,
                 "json": render_json}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return renderers[fmt](report, lang)


def reason_words(code: str, lang: str) -> str:
    """A verdict reason code in words ("nepieslēdzās tiešsaistes stundai")."""
    words = REASONS.get(code)
    return words[0 if lang == "lv" else 1] if words else code


# --------------------------------------------------------------------------- charts


def quota_scale(report: Report) -> float:
    """The share the full bar width stands for: 30 %, or more when a share is above it."""
    return max([0.30, *(r.share * 1.1 for r in report.quota)])


def quota_chart(report: Report) -> dict[str, Any]:
    """Geometry of the quota bars (SVG user units) with the warning and limit lines."""
    scale = quota_scale(report)
    bars = [{"y": i * ROW_HEIGHT, "width": round(BAR_WIDTH * r.share / scale, 1), "row": r}
            for i, r in enumerate(report.quota)]
    return {"bars": bars, "height": max(1, len(bars)) * ROW_HEIGHT + 24,
            "warn_x": round(BAR_WIDTH * report.warn_share / scale, 1),
            "max_x": round(BAR_WIDTH * report.max_share / scale, 1), "width": BAR_WIDTH}


def week_chart(weeks: list) -> dict[str, Any]:
    """Geometry of one group × subject's weekly attendance columns (0–100 %)."""
    height, column = 60, 18
    cols = [{"x": i * (column + 4), "h": round(height * (w.share or 0), 1), "w": w}
            for i, w in enumerate(weeks)]
    return {"cols": cols, "height": height, "col": column,
            "width": max(1, len(cols)) * (column + 4)}


# --------------------------------------------------------------------------- HTML


@cache
def _env() -> Environment:
    env = Environment(loader=PackageLoader("sync_jobs.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(dmy=dmy)
    return env


def context(report: Report, lang: str) -> dict[str, Any]:
    """What the HTML templates (the report and the digest's embedded part) read."""
    return {"r": report, "t": LABELS[lang], "lang": lang, "outcomes": OUTCOMES[lang],
            "states": STATES[lang], "pct": lambda s: percent(s, lang),
            "quota_chart": quota_chart(report), "week_chart": week_chart,
            "reason": lambda code: reason_words(code, lang)}


def render_html(report: Report, lang: str = "lv") -> bytes:
    """A self-contained HTML page: tables with captions and scopes, inline SVG charts."""
    return _env().get_template("report.html.j2").render(**context(report, lang)).encode()


# --------------------------------------------------------------------------- tables


def tables(report: Report, lang: str) -> list[tuple[str, list[str], list[list[object]]]]:
    """(title, headers, rows) of every table, values typed (dates as dates, shares as
    fractions): the XLSX sheets and the CSV sections."""
    t, outcomes, states = LABELS[lang], OUTCOMES[lang], STATES[lang]
    students = [[s.group, s.name, s.student_id, s.remote, s.present, s.n_excused,
                 s.n_unexcused, s.absent_no_mark, s.not_evaluated, s.share]
                for s in report.students]
    lessons = [[s.group, s.name, s.student_id, x.date, x.number, x.subject,
                outcomes.get(x.outcome, x.outcome), x.mark, reason_words(x.reason, lang)]
               for s in report.students for x in s.lessons]
    groups = [[g.group, g.subject, g.lessons, g.judged, g.present, g.share]
              for g in report.groups]
    weeks = [[g.group, g.subject, w.week, w.judged, w.present, w.share]
             for g in report.groups for w in g.weeks]
    quota = [[q.group, q.subject, q.remote_hours, q.planned_hours, q.share,
              states.get(q.state, q.state)] for q in report.quota]
    teachers = [[x.name, x.remote, x.on_time, x.late, x.missing, x.incomplete, x.not_checked,
                 x.topic_missing] for x in report.teachers]
    return [
        (t["students_cap"], [t["group"], t["student"], t["id"], t["remote"], t["present"],
                             t["n_excused"], t["n_unexcused"], t["absent_no_mark"],
                             t["not_evaluated"], t["share"]], students),
        (t["lessons_cap"], [t["group"], t["student"], t["id"], t["date"], t["lesson"],
                            t["subject"], t["outcome"], t["mark"], t["reason"]], lessons),
        (t["groups_cap"], [t["group"], t["subject"], t["lessons"], t["judged"], t["present"],
                           t["share"]], groups),
        (t["weeks_cap"], [t["group"], t["subject"], t["week"], t["judged"], t["present"],
                          t["share"]], weeks),
        (t["quota_h"], [t["group"], t["subject"], t["remote_hours"], t["planned_hours"],
                        t["share"], t["state"]], quota),
        (t["teachers_cap"], [t["teacher"], t["remote"], t["on_time"], t["late"], t["missing"],
                             t["incomplete"], t["not_checked"], t["topic_missing"]], teachers),
    ]


SHEETS = {"lv": ("Izglītojamie", "Stundas", "Grupas", "Nedēļas", "Kvota", "Pedagogi"),
          "en": ("Students", "Lessons", "Groups", "Weeks", "Quota", "Teachers")}
SHARE_COLUMNS = {0: 10, 2: 6, 3: 6, 4: 5}  # table index -> 1-based column holding a share


def render_xlsx(report: Report, lang: str = "lv") -> bytes:
    """One sheet per table: header row, filter, frozen header, dates and percentages typed."""
    book = Workbook()
    book.remove(book.active)
    for index, ((_, headers, rows), title) in enumerate(zip(tables(report, lang),
                                                            SHEETS[lang], strict=True)):
        sheet = book.create_sheet(title)
        xlsx_row(sheet, list(headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            xlsx_row(sheet, list(row))
        _formats(sheet, index)
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(2, sheet.max_row)}"
        sheet.freeze_panes = "A2"
        for column in range(1, len(headers) + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 16
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _formats(sheet, index: int) -> None:
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, dt.date):
                cell.number_format = "DD.MM.YYYY"
        share = SHARE_COLUMNS.get(index)
        if share is not None and row[share - 1].value is not None:
            row[share - 1].number_format = "0.0%"


def render_csv(report: Report, lang: str = "lv") -> bytes:
    """Every table one after another, each under its title, ``;``-separated, UTF-8 with BOM;
    dates DD.MM.YYYY, shares as percentages with one decimal."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for number, (title, headers, rows) in enumerate(tables(report, lang)):
        if number:
            writer.writerow([])
        writer.writerow([csv_cell(title)])
        writer.writerow([csv_cell(h) for h in headers])
        for row in rows:
            writer.writerow([csv_cell(_csv_value(v, lang)) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_value(value: object, lang: str) -> object:
    if isinstance(value, dt.date):
        return dmy(value)
    if isinstance(value, float):
        return percent(value, lang).removesuffix(" %")
    return "" if value is None else value


def render_json(report: Report, lang: str = "lv") -> bytes:
    """The report's data (ISO dates, shares as fractions) for other programs."""
    def default(value: object) -> object:
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    data = dataclasses.asdict(report)
    data["lang"] = lang
    return (json.dumps(data, ensure_ascii=False, indent=2, default=default) + "\n").encode()
