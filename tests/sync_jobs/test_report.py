"""``kartiba report`` over the demo school: its numbers against the journal the sandbox holds."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from contextlib import ExitStack

import pytest
from openpyxl import load_workbook

from mappings.calendar import RIGA, school_year
from mappings.model import SubjectKind
from sandbox.scenario import load_scenario
from sandbox.stack import start_sandboxes
from sync_jobs import demo, wiring
from sync_jobs.cli import main
from sync_jobs.jobs.digest import bar_cells
from sync_jobs.report.directory import load_directory
from sync_jobs.report.model import Filters, build_report
from sync_jobs.report.render import render
from sync_jobs.state import StateStore


@pytest.fixture(scope="module")
def demo_school(tmp_path_factory):
    """The bundled demo school run at each of its instants; sandboxes kept up for checking."""
    out = tmp_path_factory.mktemp("demo")
    scenario = load_scenario(demo.bundled_scenario())
    with ExitStack() as stack:
        boxes = start_sandboxes(scenario, out, stack)
        settings = demo._settings(boxes)
        demo._start_webhook_receiver(boxes, settings, stack)
        for index, instant in enumerate(scenario.runs):
            demo._one_instant(boxes, settings, instant, index, demo.SCENARIO_JOBS)
        last = scenario.runs[-1]
        day = last.astimezone(RIGA).date()
        school, named = load_directory(settings, day)
        journal_lessons = wiring.journal(settings).lessons(*school_year(day))
        with StateStore.open(settings.state.path) as store:
            report = build_report(store, school, Filters(school_year(day)[0], day), now=last)
        yield {"boxes": boxes, "settings": settings, "school": school, "named": named,
               "report": report, "lessons": journal_lessons, "day": day, "last": last}


def test_n_per_student_is_what_the_journal_received(demo_school):
    written = Counter((w["student"], bool(w["excused"])) for w in demo_school["boxes"].eklase.writes
                      if w["status"] == "created")
    report = demo_school["report"]
    assert written, "the demo school writes marks"
    for row in report.students:
        assert row.n_excused == written[(row.student_id, True)], row.student_id
        assert row.n_unexcused == written[(row.student_id, False)], row.student_id
    assert sum(r.n_excused + r.n_unexcused for r in report.students) == sum(written.values())


def test_each_students_lessons_add_up(demo_school):
    for row in demo_school["report"].students:
        assert row.remote == len(row.lessons)
        assert row.remote == (row.present + row.n_excused + row.n_unexcused
                              + row.absent_no_mark + row.not_evaluated)
        assert [x.mark for x in row.lessons].count("n") == row.n_excused + row.n_unexcused


def test_group_totals_agree_with_the_students(demo_school):
    report = demo_school["report"]
    present = Counter()
    for row in report.students:
        for lesson in row.lessons:
            present[(row.group, lesson.subject)] += lesson.outcome == "present"
    for group in report.groups:
        assert group.present == present[(group.group, group.subject)]
        assert group.present == sum(w.present for w in group.weeks)
        assert group.judged == sum(w.judged for w in group.weeks)


def test_quota_is_remote_over_planned_hours_of_the_journal(demo_school):
    """Point 7 counted again from the journal's lessons of the school year (class hours and
    practice left out) gives the report's numbers and percentages."""
    school = demo_school["school"]
    remote = Counter((x.group_id, x.subject_id) for x in demo_school["lessons"]
                     if x.mode.is_remote and school.subjects[x.subject_id].kind not in (
                         SubjectKind.CLASS_HOUR, SubjectKind.QUALIFICATION_PRACTICE))
    expected = {}
    for (group, subject), hours in remote.items():
        planned = school.subjects[subject].planned_hours.get(group, 0)
        if planned:
            expected[(group, subject)] = (hours, planned, round(100 * hours / planned, 1))
    got = {(q.group_id, q.subject_id): (q.remote_hours, q.planned_hours, round(100 * q.share, 1))
           for q in demo_school["report"].quota}
    assert got == expected
    programming = next(q for q in demo_school["report"].quota if q.subject == "Programmēšana")
    assert (programming.remote_hours, programming.planned_hours, programming.state) == (
        3, 10, "exceeded")


def test_namesakes_are_two_rows(demo_school):
    rows = [r for r in demo_school["report"].students if r.name.startswith("Jānis Bērziņš")]
    assert len(rows) == 2
    assert {r.name for r in rows} == {f"Jānis Bērziņš (ID {r.student_id})" for r in rows}
    assert rows[0].lessons != rows[1].lessons or rows[0].student_id != rows[1].student_id


def test_html_is_readable_by_a_deputy(demo_school):
    page = render(demo_school["report"], "html").decode()
    assert '<html lang="lv">' in page and "<script" not in page and "http://" not in \
        page.replace("http://www.w3.org/2000/svg", "")
    assert page.count("<svg") >= 2 and "<caption>" in page and 'scope="col"' in page
    assert 'scope="row"' in page
    visible = re.sub(r"<[^>]+>", " ", page)
    assert "Programmēšana" in visible and "Jānis Bērziņš (ID s01)" in visible
    assert "30 %" in visible and "pārsniedz 20 %" in visible
    assert not re.search(r"\b20\d\d-\d\d-\d\d", visible)  # no ISO dates for people
    assert re.search(r"\b\d\d\.\d\d\.20\d\d\b", visible)
    for code in ("absent_unexcused", "uzdots_missing", "not_connected"):
        assert code not in visible


def test_xlsx_has_typed_dates_filters_and_no_formulas(demo_school):
    book = load_workbook(io.BytesIO(render(demo_school["report"], "xlsx")))
    assert book.sheetnames == ["Izglītojamie", "Stundas", "Grupas", "Nedēļas", "Kvota",
                               "Pedagogi"]
    lessons = book["Stundas"]
    assert isinstance(lessons["D2"].value, dt.datetime)
    assert lessons["D2"].number_format == "DD.MM.YYYY"
    assert lessons.auto_filter.ref.startswith("A1:")
    students = book["Izglītojamie"]
    n = sum((row[5].value or 0) + (row[6].value or 0)
            for row in students.iter_rows(min_row=2))
    report = demo_school["report"]
    assert n == sum(r.n_excused + r.n_unexcused for r in report.students)
    quota = book["Kvota"]
    assert quota["E2"].number_format == "0.0%"


def test_csv_and_json_carry_the_same_numbers(demo_school):
    report = demo_school["report"]
    text = render(report, "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Attālinātās stundas katram izglītojamajam"]
    assert any(r[:2] == ["DT-23", "Programmēšana"] and r[2:5] == ["3", "10", "30"]
               for r in rows)
    data = json.loads(render(report, "json"))
    assert len(data["students"]) == len(report.students)
    assert data["filters"]["date_to"] == demo_school["day"].isoformat()


def test_filters_by_group_and_subject(demo_school):
    boxes = demo_school["boxes"]
    settings = demo_school["settings"]
    with StateStore.open(settings.state.path) as store:
        only = build_report(store, demo_school["school"],
                            Filters(dt.date(2026, 9, 1), demo_school["day"], "ET-22",
                                    "elektrotehnika"), now=demo_school["last"])
    assert {r.group for r in only.students} == {"ET-22"}
    assert {g.subject for g in only.groups} == {"Elektrotehnika"}
    assert {(q.group, q.subject) for q in only.quota} == {("ET-22", "Elektrotehnika")}
    assert boxes.eklase.writes  # the sandbox is still up


def test_cli_writes_a_private_file_without_upstream_calls(demo_school, tmp_path, monkeypatch):
    from sandbox.stack import to_toml

    monkeypatch.setenv("KARTIBA_SECRETS_DIR", "/nonexistent")
    config = tmp_path / "kartiba.toml"
    config.write_text(to_toml(demo_school["boxes"].settings_tree), encoding="utf-8")
    out = tmp_path / "r.xlsx"
    before = len(demo_school["boxes"].eklase.requests) if hasattr(
        demo_school["boxes"].eklase, "requests") else None
    assert main(["--config", str(config), "report", "--ids-only", "--format", "xlsx",
                 "--from", "2026-09-01", "--to", demo_school["day"].isoformat(),
                 "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    sheet = load_workbook(out)["Izglītojamie"]
    assert sheet["B2"].value == sheet["C2"].value  # ids only: the name column shows the id
    if before is not None:
        assert len(demo_school["boxes"].eklase.requests) == before


def test_email_bar_marks_the_limit():
    cells = bar_cells(0.30)
    assert sum(width for width, _ in cells) == 180
    assert ("#222222" in [colour for _, colour in cells])
    assert bar_cells(0.05)[0][1] == "#4a8f5c"


def test_weekly_digest_shows_the_reports_numbers(demo_school):
    """The digest is the report over Monday–today: its quota lines are the report's."""
    from sync_jobs.runner import run_once

    boxes = demo_school["boxes"]
    before = len(boxes.smtp.messages)
    run_once(demo_school["settings"], demo_school["last"], ["digest"], run_id="digest-test")
    digests = [m.message for m in boxes.smtp.messages[before:] if m.message["X-Kartiba-Digest"]]
    oversight = next(m for m in digests if '"oversight"' in str(m["X-Kartiba-Digest"]))
    text = oversight.get_body(("plain",)).get_content()
    html = oversight.get_body(("html",)).get_content()
    for q in demo_school["report"].quota:  # a year's quota does not depend on the week
        pct = f"{100 * q.share:.1f}".rstrip("0").rstrip(".").replace(".", ",")
        assert f"* {q.group}, {q.subject}: {q.remote_hours} no {q.planned_hours} stundām " \
               f"({pct} %)" in text
    assert "2026-W" not in text and "<svg" not in html and 'bgcolor="#222222"' in html
    monday = demo_school["day"] - dt.timedelta(days=demo_school["day"].weekday())
    assert f"kartiba report --from {monday:%d.%m.%Y} --to {demo_school['day']:%d.%m.%Y}" in text
    assert "Jānis Bērziņš (ID s01)" in text and "Jānis Bērziņš (ID s02)" in text


def test_report_cli_takes_latvian_dates():
    from sync_jobs.report.cli import _date

    assert _date("04.12.2026") == _date("2026-12-04") == dt.date(2026, 12, 4)


def test_student_label_tells_namesakes_of_one_group_apart():
    from mappings.model import School, Student

    school = School(name="S", students={
        "s1": Student("s1", "g1", "Jānis", "Bērziņš"), "s2": Student("s2", "g1", "Jānis", "Bērziņš"),
        "s3": Student("s3", "g2", "Jānis", "Bērziņš"), "s4": Student("s4", "g1", "Anna", "Ozola")})
    assert school.student_label("s1") == "Jānis Bērziņš (ID s1)"
    assert school.student_label("s2") == "Jānis Bērziņš (ID s2)"
    assert school.student_label("s3") == "Jānis Bērziņš"  # another group: no namesake there
    assert school.student_label("s4") == "Anna Ozola"
    assert school.student_label("s9") == "s9"


def test_a_secret_file_others_can_read_is_warned_about(tmp_path, caplog):
    """Issue 15, 19: a world- or group-readable secrets file gets a warning (name only)."""
    import logging
    import os

    from sync_jobs.settings import from_secrets_dir

    secret = tmp_path / "zoom__client_secret"
    secret.write_text("s3cr3t", encoding="utf-8")
    os.chmod(secret, 0o644)
    with caplog.at_level(logging.WARNING, logger="kartiba.settings"):
        assert from_secrets_dir(tmp_path) == {"zoom": {"client_secret": "s3cr3t"}}
    assert "zoom__client_secret" in caplog.text and "s3cr3t" not in caplog.text
    caplog.clear()
    os.chmod(secret, 0o600)
    with caplog.at_level(logging.WARNING, logger="kartiba.settings"):
        from_secrets_dir(tmp_path)
    assert caplog.text == ""
