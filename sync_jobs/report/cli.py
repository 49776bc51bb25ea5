"""The ``kartiba report`` subcommand (registered by :mod:`sync_jobs.cli`)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from sync_jobs.report.labels import FORMATS


def _date(text: str) -> dt.date:
    """A date as people write it (DD.MM.YYYY) or as ISO (YYYY-MM-DD)."""
    for parse in (lambda t: dt.datetime.strptime(t, "%d.%m.%Y").date(), dt.date.fromisoformat):
        try:
            return parse(text)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r} is not a date DD.MM.YYYY or YYYY-MM-DD")


def add_parser(sub, common: argparse.ArgumentParser | None = None) -> None:
    """Add ``report`` to the CLI's subcommands (``common``: the options every command takes)."""
    report = sub.add_parser(
        "report", parents=[common] if common is not None else [],
        help="attendance, quota and UZDOTS report from the state store "
             "(HTML with charts, XLSX, CSV, JSON)")
    report.add_argument("--group", help="one group (its e-klase id or name)")
    report.add_argument("--subject", help="one subject (its e-klase id or name)")
    report.add_argument("--from", dest="date_from", type=_date,
                        help="first day, DD.MM.YYYY or YYYY-MM-DD (default: 1 September of "
                             "the school year)")
    report.add_argument("--to", dest="date_to", type=_date, help="last day (default: today)")
    report.add_argument("--format", choices=FORMATS, default="html",
                        help="output format (default: html)")
    report.add_argument("--out", type=Path,
                        help="output file (default: standard output; XLSX: kartiba-report.xlsx)")
    report.add_argument("--lang", choices=["lv", "en"], default=None,
                        help="language (default: school.language)")
    report.add_argument("--ids-only", action="store_true",
                        help="show e-klase ids instead of names; no call to the journal at all")


def cmd_report(args) -> int:
    """Build and write the report; exit 0, or 2 for bad arguments."""
    from mappings.calendar import RIGA, school_year
    from sync_jobs.clock import read_clock
    from sync_jobs.logs import configure_logging
    from sync_jobs.report.directory import ids_only, load_directory
    from sync_jobs.report.model import Filters, build_report
    from sync_jobs.report.render import render
    from sync_jobs.settings import load_settings
    from sync_jobs.state import StateStore

    settings = load_settings(getattr(args, "config", None))
    configure_logging(getattr(args, "log_level", None) or os.environ.get("KARTIBA_LOG_LEVEL")
                      or settings.log_level)
    now = read_clock()
    date_to = args.date_to or now.astimezone(RIGA).date()
    date_from = args.date_from or school_year(date_to)[0]
    if date_to < date_from:
        print("kartiba: --to is before --from", file=sys.stderr)
        return 2
    if args.ids_only:
        school, named = ids_only(settings), False
    else:
        school, named = load_directory(settings, date_to)
    policy = settings.policy_obj
    with StateStore.open(settings.state.path) as store:
        report = build_report(store, school, Filters(date_from, date_to, args.group,
                                                     args.subject),
                              now=now, warn_share=policy.quota_warn_share,
                              max_share=policy.quota_max_share, names_shown=named)
    data = render(report, args.format, args.lang or settings.school.language)
    out = args.out or (Path("kartiba-report.xlsx") if args.format == "xlsx" else None)
    if out is None:
        sys.stdout.buffer.write(data)
        return 0
    write_private(out, data)
    print(f"kartiba report: {out}", file=sys.stderr)
    return 0


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (the report holds minors' names)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
