"""``kartiba demo``: a scenario's world served on loopback, the real jobs run at each instant.

The sandbox servers (e-klase SOAP gateway, Zoom, Graph, Meet, Moodle, export files, SMTP) are
started on 127.0.0.1, the real connectors are pointed at them through ordinary settings, and
``result.json`` is written from what the sandbox journal and the SMTP server received.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import shutil
import threading
from collections import defaultdict
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from sandbox.scenario import Scenario, load_scenario
from sandbox.stack import Sandboxes, start_sandboxes, to_toml
from sync_jobs.runner import RunSummary, run_once
from sync_jobs.settings import Settings, load_settings

log = logging.getLogger("kartiba.demo")

ALERT_HEADER = "X-Kartiba-Alerts"


def bundled_scenario() -> Path:
    """The embedded demo school shipped with the package."""
    return Path(str(resources.files("sandbox").joinpath("data/demo_school.json")))


def _start_webhook_receiver(boxes: Sandboxes, settings: Settings, stack: ExitStack) -> None:
    """Zoom pushes participant events (with leave_reason) to the receiver, as in production."""
    from connectors.zoom.webhook import WebhookReceiver
    from sync_jobs.state import StateStore

    store = StateStore.open(settings.state.path)
    stack.callback(store.close)
    receiver = WebhookReceiver(settings.zoom.webhook_secret.get_secret_value(), store)
    server = receiver.serve("127.0.0.1:0")
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="zoom-webhook")
    thread.start()
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    host, port = server.server_address[:2]
    boxes.webhook_url = f"http://{host}:{port}/"


#: The jobs a scenario instant runs. The weekly digest is a summary, not an alert of the
#: scenario contract (result.json cannot name it); ``--with-digest`` adds it.
SCENARIO_JOBS = ("attendance", "uzdots", "quota")


def run_demo(scenario_path: Path | None, out: Path, *, with_digest: bool = False) -> dict:
    """Run a scenario end to end and write ``out/result.json``; returns the result."""
    jobs = SCENARIO_JOBS + (("digest",) if with_digest else ())
    scenario = load_scenario(scenario_path or bundled_scenario())
    if out.exists():
        shutil.rmtree(out / "mail", ignore_errors=True)
        for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm", "result.json",
                     "report.html", "state.sqlite.lock"):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "drop", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    runs: list[dict] = []
    with ExitStack() as stack:
        boxes = start_sandboxes(scenario, out, stack)
        settings = _settings(boxes)
        _start_webhook_receiver(boxes, settings, stack)
        for index, instant in enumerate(scenario.runs):
            runs.append(_one_instant(boxes, settings, instant, index, jobs))
        if scenario.runs:  # names from the stand-in journal while it still serves
            _write_report(settings, scenario.runs[-1], out)
    result = {"runs": runs}
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n",
                                     encoding="utf-8")
    _write_mail(boxes, out)
    return result


def _settings(boxes: Sandboxes) -> Settings:
    return load_settings(config=None, environ={"KARTIBA_CONFIG": "/nonexistent/kartiba.toml",
                                              "KARTIBA_SECRETS_DIR": "/nonexistent"},
                         overrides=boxes.settings_tree)


def _one_instant(boxes: Sandboxes, settings: Settings, instant: dt.datetime, index: int,
                 jobs: tuple[str, ...]) -> dict:
    boxes.world.set_now(instant)
    if boxes.webhook_url:
        boxes.zoom.deliver_webhooks(boxes.webhook_url,
                                    settings.zoom.webhook_secret.get_secret_value())
    for writer in boxes.exports.values():
        writer.write_new("both")
    writes_before = len(boxes.eklase.writes)
    mails_before = len(boxes.smtp.messages)
    summary = run_once(settings, instant, list(jobs), run_id=f"demo-{index + 1}")
    writes = boxes.eklase.writes[writes_before:]
    mails = boxes.smtp.messages[mails_before:]
    return _run_result(instant, summary, writes, mails)


def _run_result(instant: dt.datetime, summary: RunSummary, writes, mails) -> dict:
    marks = [{"lesson": w["lesson"], "student": w["student"], "code": w["code"],
              "excused": bool(w["excused"]), "points": list(w["points"])}
             for w in writes if w["status"] == "created"]
    skipped = [{"lesson": s.lesson_id, "student": s.student_id, "why": s.why}
               for s in summary.skips]
    alerts = _alerts_from_mail(mails)
    key = lambda item: (item.get("lesson") or "", item.get("student") or "",  # noqa: E731
                        item.get("kind", ""))
    return {
        "at": instant.isoformat(),
        "marks": sorted(marks, key=key),
        "skipped": sorted(skipped, key=key),
        "alerts": sorted(alerts, key=key),
        "emails": len(mails),
    }


def decode_alert_header(value: str) -> list[dict]:
    """The alert items a message carries in its machine-readable header."""
    text = str(value).strip()
    if not text.startswith("["):
        text = base64.b64decode(text).decode("utf-8")
    return json.loads(text)


def _alerts_from_mail(mails) -> list[dict]:
    merged: dict[tuple, dict] = {}
    recipients: dict[tuple, set[str]] = defaultdict(set)
    for received in mails:
        header = received.message.get(ALERT_HEADER)
        if not header:
            continue
        for item in decode_alert_header(header):
            key = (item["kind"], item.get("lesson"), item.get("student"))
            entry = {"kind": item["kind"], "lesson": item.get("lesson"),
                     "student": item.get("student"), "to": [],
                     "points": list(item.get("points", []))}
            if item["kind"] == "absence":
                entry["excused"] = bool(item.get("excused"))
            merged.setdefault(key, entry)
            recipients[key].update(r.lower() for r in received.rcpt_tos)
    for key, entry in merged.items():
        entry["to"] = sorted(recipients[key])
    return list(merged.values())


def _write_mail(boxes: Sandboxes, out: Path) -> None:
    folder = out / "mail"
    folder.mkdir(exist_ok=True)
    for received in boxes.smtp.messages:
        (folder / f"{received.seq + 1:04d}.eml").write_bytes(received.raw)


def _write_report(settings: Settings, last: dt.datetime, out: Path) -> None:
    """``report.html``: ``kartiba report`` over the demo school's school year so far."""
    from mappings.calendar import RIGA, school_year
    from sync_jobs.report.cli import write_private
    from sync_jobs.report.directory import load_directory
    from sync_jobs.report.model import Filters, build_report
    from sync_jobs.report.render import render_html
    from sync_jobs.state import StateStore

    day = last.astimezone(RIGA).date()
    school, named = load_directory(settings, day)
    policy = settings.policy_obj
    with StateStore.open(settings.state.path) as store:
        report = build_report(store, school, Filters(school_year(day)[0], day), now=last,
                              warn_share=policy.quota_warn_share,
                              max_share=policy.quota_max_share, names_shown=named)
    write_private(out / "report.html", render_html(report, settings.school.language))


def clock_file(settings_out: Path) -> Path:
    """Where ``kartiba sandbox clock`` leaves the instant a running sandbox moves to."""
    return settings_out.resolve().parent / "sandbox-state" / "clock"


def set_sandbox_clock(settings_out: Path, instant: dt.datetime) -> Path:
    """Ask the sandbox serving ``settings_out`` to move its clock to ``instant``.

    Raises:
        FileNotFoundError: no sandbox was started with that settings file.
    """
    path = clock_file(settings_out)
    if not path.parent.is_dir():
        raise FileNotFoundError(2, "no running sandbox wrote its state here (start "
                                "`kartiba sandbox serve` first)", str(path.parent))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(instant.isoformat() + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


class _SandboxTicker:
    """Applies clock moves and writes received mail while ``sandbox serve`` runs."""

    def __init__(self, boxes: Sandboxes, clock: Path, mail_dir: Path | None) -> None:
        self.boxes, self.clock, self.mail_dir = boxes, clock, mail_dir
        self._clock_seen: float | None = None
        self._mails_written = 0

    def tick(self) -> None:
        """One poll: a new clock instant, then any new message as ``.eml``."""
        self._move_clock()
        self._write_mail()

    def _move_clock(self) -> None:
        try:
            stamp = self.clock.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if stamp == self._clock_seen:
            return
        self._clock_seen = stamp
        from sync_jobs.clock import parse_instant

        try:
            instant = parse_instant(self.clock.read_text(encoding="utf-8").strip())
        except ValueError as exc:
            print(f"sandbox: ignored clock file: {exc}", flush=True)
            return
        self.boxes.world.set_now(instant)
        for writer in self.boxes.exports.values():
            writer.write_new("both")
        print(f"sandbox clock: {instant.isoformat()}", flush=True)

    def _write_mail(self) -> None:
        if self.mail_dir is None:
            return
        messages = self.boxes.smtp.messages
        for received in messages[self._mails_written:]:
            name = self.mail_dir / f"{received.seq + 1:04d}.eml"
            name.write_bytes(received.raw)
            print(f"sandbox mail: {name}", flush=True)
        self._mails_written = len(messages)


def serve_forever(scenario_path: Path | None, now: dt.datetime | None,
                  settings_out: Path, *, mail_dir: Path | None = None,
                  poll_s: float = 0.5) -> int:
    """``kartiba sandbox serve``: serve a scenario's world until interrupted.

    Writes a settings file pointing at the stand-ins, so ``kartiba --config FILE run`` can be
    tried by hand against them; ``kartiba sandbox clock INSTANT`` moves the world's clock, and
    every message the SMTP stand-in receives is written to ``mail_dir`` as an ``.eml`` file.
    """
    import time

    scenario = load_scenario(scenario_path or bundled_scenario())
    workdir = settings_out.resolve().parent / "sandbox-state"
    workdir.mkdir(parents=True, exist_ok=True)
    clock = clock_file(settings_out)
    clock.unlink(missing_ok=True)
    if mail_dir is not None:
        mail_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        boxes = start_sandboxes(scenario, workdir, stack)
        if now is not None:
            boxes.world.set_now(now)
        for writer in boxes.exports.values():
            writer.write_new("both")
        settings_out.write_text(to_toml(boxes.settings_tree), encoding="utf-8")
        settings_out.chmod(0o600)
        _print_serving(scenario, boxes, settings_out, mail_dir)
        ticker = _SandboxTicker(boxes, clock, mail_dir)
        _stop_on_sigterm()
        try:
            while True:
                ticker.tick()
                time.sleep(poll_s)
        except KeyboardInterrupt:
            print("stopped")
    return 0


def _stop_on_sigterm() -> None:
    """SIGTERM (systemctl stop, kill) stops the sandbox like Ctrl-C, closing its servers."""
    import signal

    def stop(_signum, _frame) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _print_serving(scenario: Scenario, boxes: Sandboxes, settings_out: Path,
                   mail_dir: Path | None) -> None:
    print(f"sandbox serving {scenario.school.name!r} at {boxes.world.now.isoformat()}")
    print(f"settings: {settings_out} (kartiba --config {settings_out} run --now ...)")
    print(f"clock:    kartiba sandbox clock 2026-12-01T18:00+02:00 --settings-out {settings_out}")
    if mail_dir is not None:
        print(f"mail:     every received message is written to {mail_dir}/ as .eml")
    print("stop with Ctrl-C", flush=True)
