"""The ``kartiba`` command line: run, explain, check, status, notice, purge, demo, sandbox.

Exit codes: 0 success (also when another run holds the lock), 1 a run failed, 2 invalid
settings or arguments (the message names the setting).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from connectors.errors import ConfigError, KartibaError
from sync_jobs.clock import parse_instant, read_clock
from sync_jobs.logs import configure_logging
from sync_jobs.settings import Settings, SettingsError, load_settings

log = logging.getLogger("kartiba.cli")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kartiba",
        description="Automates the school's remote-learning procedure (attālināto mācību "
                    "kārtība): evidence from Zoom/Teams/Meet/skolo.lv/uzdevumi.lv/soma.lv, "
                    "'n' marks to e-klase, alerts by e-mail.")
    parser.add_argument("--config", type=Path, default=None,
                        help="settings file (default $KARTIBA_CONFIG or /etc/kartiba/kartiba.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run jobs (all that are due when none is named)")
    run.add_argument("jobs", nargs="*", metavar="JOB",
                     help="attendance, uzdots, quota, digest")
    run.add_argument("--now", type=_instant, help="pretend it is this instant (ISO 8601)")
    run.add_argument("--dry-run", action="store_true",
                     help="decide and print, but write no mark and send no e-mail")
    run.add_argument("--from", dest="date_from", type=_date, help="backfill from this date")
    run.add_argument("--to", dest="date_to", type=_date, help="backfill to this date")

    explain = sub.add_parser("explain", help="why a lesson's students got their verdicts")
    explain.add_argument("lesson")
    explain.add_argument("student", nargs="?")
    explain.add_argument("--lang", choices=["lv", "en"], default=None)
    explain.add_argument("--date", type=_date, help="judge again now from live evidence "
                         "(the lesson's date); nothing is written")
    explain.add_argument("--now", type=_instant, help="with --date: judge as at this instant")

    sub.add_parser("check", help="validate settings and call each enabled connector's health check")
    sub.add_parser("status", help="last runs, outbox and ledger counts")
    sub.add_parser("purge", help="delete evidence and ledger rows older than the retention")

    notice = sub.add_parser("notice", help="record absence notices received by phone/SMS/mail")
    nsub = notice.add_subparsers(dest="notice_command", required=True, metavar="ACTION")
    add = nsub.add_parser("add", help="add one notice")
    add.add_argument("--student", required=True)
    add.add_argument("--kind", required=True, choices=["illness", "other", "tech_problem"])
    add.add_argument("--from", dest="date_from", required=True, type=_date)
    add.add_argument("--to", dest="date_to", type=_date)
    add.add_argument("--received-at", type=_instant, help="when the school was told (default now)")
    add.add_argument("--agreement", choices=["catch_up", "extended_deadline"])
    add.add_argument("--new-due", type=_instant)
    imp = nsub.add_parser("import", help="import notices from a CSV file")
    imp.add_argument("file", type=Path)

    demo = sub.add_parser("demo", help="run the jobs on a sandbox school and write result.json")
    demo.add_argument("--scenario", type=Path, help="scenario file (default: the bundled school)")
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder")
    demo.add_argument("--with-digest", action="store_true",
                      help="also run the weekly digest job (not part of result.json's contract)")

    sandbox = sub.add_parser("sandbox", help="sandbox stand-ins of the upstream systems")
    ssub = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")
    serve = ssub.add_parser("serve", help="serve a scenario's world on loopback")
    serve.add_argument("--scenario", type=Path)
    serve.add_argument("--now", type=_instant)
    serve.add_argument("--settings-out", type=Path, default=Path("sandbox-kartiba.toml"))

    hook = sub.add_parser("zoom-webhook", help="the Zoom webhook receiver")
    hsub = hook.add_subparsers(dest="hook_command", required=True, metavar="ACTION")
    hsub.add_parser("serve", help="receive Zoom events (binds zoom.webhook_bind, loopback default)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {
        "run": cmd_run, "explain": cmd_explain, "check": cmd_check, "status": cmd_status,
        "purge": cmd_purge, "notice": cmd_notice, "demo": cmd_demo, "sandbox": cmd_sandbox,
        "zoom-webhook": cmd_zoom_webhook,
    }
    try:
        return handlers[args.command](args)
    except SettingsError as exc:
        print(f"kartiba: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as exc:
        where = f" ({exc.setting})" if getattr(exc, "setting", "") else ""
        print(f"kartiba: configuration error{where}: {exc.message}", file=sys.stderr)
        return EXIT_CONFIG
    except KartibaError as exc:
        print(f"kartiba: {exc.message}", file=sys.stderr)
        log.debug("detail: %s", exc.detail)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _settings(args) -> Settings:
    settings = load_settings(args.config)
    configure_logging(os.environ.get("KARTIBA_LOG_LEVEL") or settings.log_level)
    return settings


# --------------------------------------------------------------------------- run


def cmd_run(args) -> int:
    from sync_jobs.runner import run_once

    settings = _settings(args)
    if args.date_from or args.date_to:
        return _backfill(settings, args)
    now = args.now or read_clock()
    try:
        summary = run_once(settings, now, args.jobs or None, dry_run=args.dry_run)
    except ValueError as exc:
        print(f"kartiba: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(summary.line())
    if summary.failed:
        print("kartiba: some work failed and is left for the next run (see the log)",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _backfill(settings: Settings, args) -> int:
    """Run the named jobs (default attendance) at 23:30 Riga of each day in the range."""
    from mappings.calendar import local
    from sync_jobs.progress import Progress
    from sync_jobs.runner import run_once

    start = args.date_from or args.date_to
    end = args.date_to or args.date_from
    if end < start:
        print("kartiba: --to is before --from", file=sys.stderr)
        return EXIT_CONFIG
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    progress = Progress(len(days), "backfill")
    for day in days:
        summary = run_once(settings, local(day, dt.time(23, 30)), args.jobs or ["attendance"],
                           dry_run=args.dry_run)
        if summary.locked_out:
            print(summary.line())
            return EXIT_OK
        progress.step(day.isoformat())
    progress.done()
    return EXIT_OK


# --------------------------------------------------------------------------- inspection


def cmd_explain(args) -> int:
    from sync_jobs.explain import explain_lesson

    settings = _settings(args)
    lang = args.lang or settings.school.language
    for line in explain_lesson(settings, args.lesson, args.student, lang, on=args.date,
                               now=args.now):
        print(line)
    return EXIT_OK


def cmd_check(args) -> int:
    from sync_jobs.health import check_all

    settings = _settings(args)
    ok = True
    for name, status, message in check_all(settings):
        ok &= status
        print(f"{'ok ' if status else 'FAIL'} {name}: {message}")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_status(args) -> int:
    from sync_jobs.state import StateStore

    settings = _settings(args)
    with StateStore.open(settings.state.path) as store:
        print(json.dumps(store.status(), indent=2, ensure_ascii=False, default=str))
    return EXIT_OK


def cmd_purge(args) -> int:
    from sync_jobs.state import StateStore

    settings = _settings(args)
    cutoff = read_clock() - dt.timedelta(days=settings.state.retention_days)
    with StateStore.open(settings.state.path) as store:
        removed = store.purge(cutoff)
    print("kartiba purge: " + " ".join(f"{k}={v}" for k, v in sorted(removed.items())))
    return EXIT_OK


def cmd_notice(args) -> int:
    from sync_jobs.notices import add_notice, import_notices

    settings = _settings(args)
    if args.notice_command == "add":
        notice_id = add_notice(settings, args, read_clock())
        print(f"kartiba: notice {notice_id} recorded")
        return EXIT_OK
    report = import_notices(settings, args.file, read_clock())
    for error in report.errors:
        print(f"kartiba: {error}", file=sys.stderr)
    print(f"kartiba: {report.added} notice(s) imported, {len(report.errors)} row(s) rejected")
    return EXIT_OK if not report.errors else EXIT_FAILED


# --------------------------------------------------------------------------- sandbox


def cmd_demo(args) -> int:
    from sandbox.scenario import ScenarioError
    from sync_jobs.demo import run_demo

    configure_logging(os.environ.get("KARTIBA_LOG_LEVEL") or "WARNING")
    try:
        result = run_demo(args.scenario, args.out, with_digest=args.with_digest)
    except ScenarioError as exc:
        print(f"kartiba: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    marks = sum(len(r["marks"]) for r in result["runs"])
    alerts = sum(len(r["alerts"]) for r in result["runs"])
    mails = sum(r["emails"] for r in result["runs"])
    print(f"kartiba demo: {len(result['runs'])} run(s), {marks} mark(s) written, "
          f"{alerts} alert(s), {mails} e-mail(s) -> {args.out / 'result.json'}")
    return EXIT_OK


def cmd_sandbox(args) -> int:
    from sync_jobs.demo import serve_forever

    configure_logging(os.environ.get("KARTIBA_LOG_LEVEL") or "INFO")
    return serve_forever(args.scenario, args.now, args.settings_out)


def cmd_zoom_webhook(args) -> int:
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
