"""The ``kartiba`` command line: run, explain, check, status, notice, purge, demo, sandbox.

Exit codes: 0 success (also when another run holds the lock for less than
``state.max_run_s``), 1 a run failed or left work for the next run (also: the lock has been held
longer than a run may last), 2 invalid settings or arguments (one line naming the problem).
The global options ``--config`` and ``--log-level`` are accepted before or after the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from connectors.errors import ConfigError, KartibaError
from sync_jobs.clock import parse_instant, read_clock
from sync_jobs.logs import configure_logging, scrub_text
from sync_jobs.report.cli import add_parser as add_report_parser
from sync_jobs.report.cli import cmd_report
from sync_jobs.settings import Settings, SettingsError, load_settings

log = logging.getLogger("kartiba.cli")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
NOTICES_CSV_HELP = (
    "CSV columns (header row required; comma or semicolon; UTF-8, UTF-8 with BOM, UTF-16 or "
    "Windows-1257 as Latvian Excel saves it): student (e-klase student id), kind (illness | "
    "other | tech_problem), from (YYYY-MM-DD), to (YYYY-MM-DD, default = from), received_at "
    "(ISO 8601 with offset, default = now), agreement (catch_up | extended_deadline, "
    "tech_problem only), new_due (ISO 8601, with extended_deadline). Importing a file again "
    "adds nothing twice; every rejected line is reported as FILE:LINE.")


class UsageError(Exception):
    """A user's mistake (a missing file, an impossible date range): one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``kartiba: ...``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"kartiba: {message} (see `{self.prog} --help`)\n")


def _instant(text: str) -> dt.datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _version() -> str:
    try:
        return metadata.version("kartiba")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _common() -> argparse.ArgumentParser:
    """Options every command accepts, before or after its name."""
    common = _Parser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="settings file (default $KARTIBA_CONFIG or /etc/kartiba/kartiba.toml)")
    common.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS,
                        default=argparse.SUPPRESS,
                        help="log detail on stderr (default: the settings' log_level, or "
                             "$KARTIBA_LOG_LEVEL)")
    return common


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (every option and argument has a help text)."""
    common = _common()
    parser = _Parser(
        prog="kartiba", parents=[common],
        description="Automates the school's remote-learning procedure (attālināto mācību "
                    "kārtība): evidence from Zoom/Teams/Meet/skolo.lv/uzdevumi.lv/soma.lv, "
                    "'n' marks to e-klase, alerts by e-mail.")
    parser.add_argument("--version", action="version", version=f"kartiba {_version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(sub, common)
    _add_inspection(sub, common)
    _add_notice(sub, common)
    _add_sandbox(sub, common)
    add_report_parser(sub, common)  # kartiba report (sync_jobs.report, helper "people")
    hook = sub.add_parser("zoom-webhook", parents=[common], help="the Zoom webhook receiver")
    hsub = hook.add_subparsers(dest="hook_command", required=True, metavar="ACTION")
    hsub.add_parser("serve", parents=[common],
                    help="receive Zoom events (binds zoom.webhook_bind, loopback default)")
    return parser


def _add_run(sub, common) -> None:
    run = sub.add_parser("run", parents=[common],
                         help="run jobs (all that are due when none is named)")
    run.add_argument("jobs", nargs="*", metavar="JOB",
                     help="jobs to run: attendance, uzdots, quota, digest (default: all due)")
    run.add_argument("--now", type=_instant, help="pretend it is this instant (ISO 8601)")
    run.add_argument("--dry-run", action="store_true",
                     help="decide and print, but write no mark and send no e-mail")
    run.add_argument("--from", dest="date_from", type=_date,
                     help="backfill: first day (YYYY-MM-DD), judged at 23:30 Riga")
    run.add_argument("--to", dest="date_to", type=_date,
                     help="backfill: last day (YYYY-MM-DD)")
    _json_flag(run)


def _add_inspection(sub, common) -> None:
    explain = sub.add_parser("explain", parents=[common],
                             help="why a lesson's students got their verdicts")
    explain.add_argument("lesson", help="e-klase lesson id (as in alerts and worklists)")
    explain.add_argument("student", nargs="?", help="e-klase student id (default: every student)")
    explain.add_argument("--lang", choices=["lv", "en"], default=None,
                         help="language (default: school.language)")
    explain.add_argument("--date", type=_date,
                         help="the lesson's date, when it is older than the last 14 days")
    explain.add_argument("--now", type=_instant,
                         help="judge as at this instant (default: now); nothing is written")
    _json_flag(explain)
    check = sub.add_parser("check", parents=[common],
                           help="validate settings and call each enabled connector's health check")
    check.add_argument("--strict", action="store_true",
                       help="exit 1 on warnings too (no settings file, clock skew)")
    _json_flag(check)
    status = sub.add_parser("status", parents=[common],
                            help="last runs, lock, outbox and ledger counts (read only)")
    _json_flag(status)
    sub.add_parser("purge", parents=[common],
                   help="delete evidence and ledger rows older than state.retention_days")


def _add_notice(sub, common) -> None:
    notice = sub.add_parser("notice", parents=[common],
                            help="absence notices received by phone/SMS/mail")
    nsub = notice.add_subparsers(dest="notice_command", required=True, metavar="ACTION")
    add = nsub.add_parser("add", parents=[common],
                          help="add one notice (the student must be on the roster)")
    add.add_argument("--student", required=True, help="e-klase student id")
    add.add_argument("--kind", required=True, choices=["illness", "other", "tech_problem"],
                     help="illness / other (points 20, 28) or tech_problem (points 39, 41-42)")
    add.add_argument("--from", dest="date_from", required=True, type=_date,
                     help="first day absent (YYYY-MM-DD)")
    add.add_argument("--to", dest="date_to", type=_date,
                     help="last day absent (YYYY-MM-DD, default: --from)")
    add.add_argument("--received-at", type=_instant,
                     help="when the school was told, ISO 8601 (default: now)")
    add.add_argument("--agreement", choices=["catch_up", "extended_deadline"],
                     help="tech_problem only: what the teacher agreed (points 41, 42)")
    add.add_argument("--new-due", type=_instant,
                     help="with extended_deadline: the new due time, ISO 8601")
    imp = nsub.add_parser("import", parents=[common], help="import notices from a CSV file",
                          description=NOTICES_CSV_HELP)
    imp.add_argument("file", type=Path, help="the CSV file (format above)")
    lst = nsub.add_parser("list", parents=[common], help="list the notices kartiba keeps")
    lst.add_argument("--student", help="only this student's notices")
    _json_flag(lst)
    rm = nsub.add_parser("remove", parents=[common],
                         help="remove a notice by id (recorded in the audit log)")
    rm.add_argument("notice_id", help="the id `notice list` shows")


def _add_sandbox(sub, common) -> None:
    demo = sub.add_parser("demo", parents=[common],
                          help="run the jobs on a sandbox school and write result.json")
    demo.add_argument("--scenario", type=Path, help="scenario file (default: the bundled school)")
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder")
    demo.add_argument("--with-digest", action="store_true",
                      help="also run the weekly digest job (not part of result.json's contract)")
    sandbox = sub.add_parser("sandbox", parents=[common],
                             help="sandbox stand-ins of the upstream systems")
    ssub = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")
    serve = ssub.add_parser("serve", parents=[common],
                            help="serve a scenario's world on loopback until Ctrl-C")
    serve.add_argument("--scenario", type=Path, help="scenario file (default: the bundled school)")
    serve.add_argument("--now", type=_instant, help="start the sandbox clock at this instant")
    serve.add_argument("--settings-out", type=Path, default=Path("sandbox-kartiba.toml"),
                       help="where to write the settings file pointing at the stand-ins")
    serve.add_argument("--mail-dir", type=Path,
                       help="write every message the sandbox SMTP server receives here as .eml")
    clock = ssub.add_parser("clock", parents=[common],
                            help="move a running sandbox's clock (what the stand-ins report)")
    clock.add_argument("instant", type=_instant, help="the new instant, ISO 8601 with offset")
    clock.add_argument("--settings-out", type=Path, default=Path("sandbox-kartiba.toml"),
                       help="the settings file `sandbox serve` wrote (finds the sandbox)")


# --------------------------------------------------------------------------- dispatch


def _handlers() -> dict[str, Callable[[argparse.Namespace], int]]:
    return {"run": cmd_run, "explain": cmd_explain, "check": cmd_check, "status": cmd_status,
            "purge": cmd_purge, "notice": cmd_notice, "demo": cmd_demo, "sandbox": cmd_sandbox,
            "zoom-webhook": cmd_zoom_webhook, "report": cmd_report}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _handlers()[args.command](args)
    except UsageError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except SettingsError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except ConfigError as exc:
        where = f" ({exc.setting})" if getattr(exc, "setting", "") else ""
        return _fail(f"configuration error{where}: {exc.message}", EXIT_CONFIG)
    except KartibaError as exc:
        log.debug("detail: %s", exc.detail)
        return _fail(exc.message, EXIT_FAILED)
    except (sqlite3.OperationalError, OSError) as exc:
        return _fail(storage_problem(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int) -> int:
    print(f"kartiba: {scrub_text(message)}", file=sys.stderr)
    return code


def storage_problem(exc: BaseException) -> str:
    """One line for a state store that cannot be written (read-only, full, no permission)."""
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text or getattr(exc, "errno", None) == 30:
        why = "the file system or file is read-only"
    elif "full" in text or getattr(exc, "errno", None) == 28:
        why = "the disk is full"
    elif "permission" in text or getattr(exc, "errno", None) == 13:
        why = "permission denied"
    else:
        why = f"{type(exc).__name__}: {exc}"
    where = getattr(exc, "filename", None) or "the state store"
    return f"cannot write {where}: {why} (state.path; `kartiba status` still reads it)"


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(getattr(args, "config", None))
    level = (getattr(args, "log_level", None) or os.environ.get("KARTIBA_LOG_LEVEL")
             or settings.log_level)
    configure_logging(level)
    return settings


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _sandbox_extra() -> None:
    """The sandbox's own libraries are an extra: say how to get them, not a traceback."""
    import importlib

    missing = []
    for name in ("aiosmtpd", "yaml"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise UsageError(f"the sandbox needs {', '.join(missing)}: "
                         "pip install 'kartiba[sandbox]'")


def _existing_file(path: Path | None, what: str) -> Path | None:
    if path is not None and not path.is_file():
        raise UsageError(f"{what} {path} does not exist or is not a file")
    return path


# --------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    """``kartiba run``: one run now (or at ``--now``), or a backfill over ``--from/--to``."""
    from sync_jobs.runner import run_once

    settings = _settings(args)
    if args.date_from or args.date_to:
        return _backfill(settings, args)
    now = args.now or read_clock()
    try:
        summary = run_once(settings, now, args.jobs or None, dry_run=args.dry_run)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        _print_json(summary.as_dict())
    else:
        print(summary.line())
    return _run_exit(summary)


def _run_exit(summary) -> int:
    if summary.lock_overdue:
        print(f"kartiba: {summary.lock_message()}", file=sys.stderr)
        return EXIT_FAILED
    if summary.failed:
        print("kartiba: some work failed and is left for the next run (see the log)",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _backfill(settings: Settings, args: argparse.Namespace) -> int:
    """Run the named jobs (default attendance) at 23:30 Riga of each day in the range."""
    from sync_jobs.runner import backfill

    start = args.date_from or args.date_to
    end = args.date_to or args.date_from
    if end < start:
        raise UsageError(f"--to {end} is before --from {start}")
    try:
        result = backfill(settings, start, end, args.jobs or ["attendance"],
                          dry_run=args.dry_run, bar=False if args.json else None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        _print_json(result.as_dict())
    else:
        print(result.line())
    if result.locked_out is not None:
        return _run_exit(result.locked_out)
    return EXIT_FAILED if result.failed_days else EXIT_OK


# --------------------------------------------------------------------------- inspection


def cmd_explain(args: argparse.Namespace) -> int:
    """``kartiba explain``: the verdicts of a lesson with their reasons and points."""
    from sync_jobs.explain import ExplainError, explain_lesson

    settings = _settings(args)
    lang = args.lang or settings.school.language
    try:
        report = explain_lesson(settings, args.lesson, args.student, lang, on=args.date,
                                now=args.now)
    except ExplainError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        _print_json(report.as_dict())
    else:
        for line in report.lines:
            print(line)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """``kartiba check``: settings, state store and every enabled system, without writing."""
    from sync_jobs.health import check_all

    settings = _settings(args)
    results = list(check_all(settings, getattr(args, "config", None)))
    if args.json:
        _print_json([r.as_dict() for r in results])
    else:
        for result in results:
            print(result.line())
    failed = any(r.level == "FAIL" for r in results)
    warned = any(r.level == "WARN" for r in results)
    return EXIT_FAILED if failed or (warned and args.strict) else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """``kartiba status``: read-only overview of the state store."""
    from sync_jobs.status import StatusError, read_status, status_lines

    settings = _settings(args)
    try:
        status = read_status(settings.state.path)
    except StatusError as exc:
        return _fail(str(exc), EXIT_FAILED)
    if args.json:
        _print_json(status)
    else:
        for line in status_lines(status):
            print(line)
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    """``kartiba purge``: apply the retention."""
    from sync_jobs.state import StateStore

    settings = _settings(args)
    cutoff = read_clock() - dt.timedelta(days=settings.state.retention_days)
    with StateStore.open(settings.state.path) as store:
        removed = store.purge(cutoff)
    print("kartiba purge: " + " ".join(f"{k}={v}" for k, v in sorted(removed.items())))
    return EXIT_OK


def cmd_notice(args: argparse.Namespace) -> int:
    """``kartiba notice add|import|list|remove``."""
    from sync_jobs import notices

    settings = _settings(args)
    try:
        return _notice_action(notices, settings, args)
    except (notices.NoticeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _notice_action(notices, settings: Settings, args: argparse.Namespace) -> int:
    action = args.notice_command
    if action == "add":
        notice_id, added = notices.add_notice(settings, args, read_clock())
        print(f"kartiba: notice {notice_id} " + ("recorded" if added else "already recorded"))
        return EXIT_OK
    if action == "list":
        rows = notices.list_notices(settings, args.student)
        if args.json:
            _print_json(rows)
        else:
            for line in notices.notice_lines(rows):
                print(line)
        return EXIT_OK
    if action == "remove":
        notices.remove_notice(settings, args.notice_id, read_clock())
        print(f"kartiba: notice {args.notice_id} removed (audit log)")
        return EXIT_OK
    _existing_file(args.file, "notices file")
    report = notices.import_notices(settings, args.file, read_clock())
    for error in report.errors:
        print(f"kartiba: {error}", file=sys.stderr)
    print(f"kartiba: {report.added} notice(s) imported, {report.known} already known, "
          f"{len(report.errors)} line(s) rejected")
    return EXIT_OK if not report.errors else EXIT_FAILED


# --------------------------------------------------------------------------- sandbox


def cmd_demo(args: argparse.Namespace) -> int:
    """``kartiba demo``: a scenario end to end on loopback stand-ins."""
    _sandbox_extra()
    _existing_file(args.scenario, "scenario file")
    from sandbox.scenario import ScenarioError
    from sync_jobs.demo import run_demo

    configure_logging(getattr(args, "log_level", None)
                      or os.environ.get("KARTIBA_LOG_LEVEL") or "WARNING")
    try:
        result = run_demo(args.scenario, args.out, with_digest=args.with_digest)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    marks = sum(len(r["marks"]) for r in result["runs"])
    alerts = sum(len(r["alerts"]) for r in result["runs"])
    mails = sum(r["emails"] for r in result["runs"])
    print(f"kartiba demo: {len(result['runs'])} run(s), {marks} mark(s) written, "
          f"{alerts} alert(s), {mails} e-mail(s) -> {args.out / 'result.json'}")
    print(f"  report: {args.out / 'report.html'}")
    print(f"  mails:  {args.out / 'mail'}/ (one .eml file per message)")
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    """``kartiba sandbox serve|clock``."""
    _sandbox_extra()
    from sandbox.scenario import ScenarioError
    from sync_jobs.demo import serve_forever, set_sandbox_clock

    configure_logging(getattr(args, "log_level", None)
                      or os.environ.get("KARTIBA_LOG_LEVEL") or "INFO")
    if args.sandbox_command == "clock":
        try:
            path = set_sandbox_clock(args.settings_out, args.instant)
        except FileNotFoundError as exc:
            raise UsageError(f"{exc.strerror}: {exc.filename}") from None
        print(f"kartiba: sandbox clock set to {args.instant.isoformat()} ({path})")
        return EXIT_OK
    _existing_file(args.scenario, "scenario file")
    try:
        return serve_forever(args.scenario, args.now, args.settings_out, mail_dir=args.mail_dir)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None


def cmd_zoom_webhook(args: argparse.Namespace) -> int:
    """``kartiba zoom-webhook serve``."""
    from connectors.zoom.webhook import WebhookReceiver
    from sync_jobs.state import StateStore

    settings = _settings(args)
    if not settings.zoom.webhook_secret:
        raise SettingsError("invalid setting zoom.webhook_secret (KARTIBA_ZOOM__WEBHOOK_SECRET): "
                            "required to verify Zoom's signatures")
    with StateStore.open(settings.state.path) as store:
        receiver = WebhookReceiver(settings.zoom.webhook_secret.get_secret_value(), store,
                                   max_age_s=settings.zoom.webhook_max_age_s)
        server = receiver.serve(settings.zoom.webhook_bind)
        log.info("zoom webhook receiver on %s", settings.zoom.webhook_bind)
        try:
            server.serve_forever()
        finally:
            server.server_close()
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
