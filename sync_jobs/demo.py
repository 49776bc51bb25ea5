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
import secrets
import shutil
import threading
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sandbox.eklase import EklaseSandbox
from sandbox.exports import ExportWriter
from sandbox.graph import GraphSandbox
from sandbox.meet import MeetSandbox
from sandbox.moodle import MoodleSandbox
from sandbox.scenario import Scenario, load_scenario
from sandbox.smtp import SmtpSink
from sandbox.world import World
from sandbox.zoom import ZoomSandbox
from sync_jobs.runner import RunSummary, run_once
from sync_jobs.settings import Settings, load_settings

log = logging.getLogger("kartiba.demo")

ALERT_HEADER = "X-Kartiba-Alerts"
SERVICE_ACCOUNT = "kartiba"


def bundled_scenario() -> Path:
    """The embedded demo school shipped with the package."""
    return Path(str(resources.files("sandbox").joinpath("data/demo_school.json")))


@dataclass
class Sandboxes:
    """The running stand-ins of one demo and the secrets they were started with."""

    world: World
    eklase: EklaseSandbox
    zoom: ZoomSandbox
    graph: GraphSandbox
    meet: MeetSandbox
    moodle: MoodleSandbox
    smtp: SmtpSink
    exports: dict[str, ExportWriter]
    drop: dict[str, Path]
    settings_tree: dict[str, Any]
    webhook_url: str | None = None


def start_sandboxes(scenario: Scenario, workdir: Path, stack: ExitStack) -> Sandboxes:
    """Start every stand-in on loopback and return the settings tree that points at them."""
    world = World(scenario, scenario.runs[0] if scenario.runs else None)
    password = secrets.token_urlsafe(16)
    zoom_secret, graph_secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    moodle_token = secrets.token_hex(16)
    key_pem, public_pem = _rsa_keypair()

    eklase = EklaseSandbox(world, username=SERVICE_ACCOUNT, password=password)
    zoom = ZoomSandbox(world, client_id="demo-zoom", client_secret=zoom_secret,
                       account_id="demo-account")
    graph = GraphSandbox(world, tenant="demo-tenant", client_id="demo-graph",
                         client_secret=graph_secret)
    meet = MeetSandbox(world, public_key_pem=public_pem)
    moodle = MoodleSandbox(world, token=moodle_token)
    for server in (eklase, zoom, graph, meet, moodle):
        server.start()
        stack.callback(server.stop)
    smtp = SmtpSink().start()
    stack.callback(smtp.stop)

    drop = {name: workdir / "drop" / name for name in ("uzdevumi", "soma")}
    exports = {}
    for name, folder in drop.items():
        folder.mkdir(parents=True, exist_ok=True)
        exports[name] = ExportWriter(world, name, folder)

    service_account = {
        "type": "service_account", "client_email": "kartiba@demo.iam.gserviceaccount.com",
        "private_key": key_pem, "token_uri": meet.base_url + "/token",
        "private_key_id": "demo-key",
    }
    tree = {
        "school": {"name": scenario.school.name, "oversight": scenario.school.oversight},
        "state": {"path": str(workdir / "state.sqlite")},
        "policy": dict(scenario.policy),
        "calendar": {"non_teaching_days": [d.isoformat()
                                           for d in scenario.calendar.non_teaching_days]},
        "identity": {"aliases": {s.id: list(s.aliases) for s in scenario.students if s.aliases}},
        "eklase": {"mode": "gateway", "endpoint": eklase.base_url + "/journal",
                   "username": SERVICE_ACCOUNT, "password": password,
                   "service_account": SERVICE_ACCOUNT},
        "zoom": {"enabled": True, "account_id": "demo-account", "client_id": "demo-zoom",
                 "client_secret": zoom_secret, "api_url": zoom.base_url + "/v2",
                 "oauth_url": zoom.base_url + "/oauth/token",
                 "webhook_secret": secrets.token_urlsafe(16)},
        "teams": {"enabled": True, "tenant_id": "demo-tenant", "client_id": "demo-graph",
                  "client_secret": graph_secret, "graph_url": graph.base_url + "/v1.0",
                  "login_url": graph.base_url},
        "meet": {"enabled": True, "service_account_json": json.dumps(service_account),
                 "subject": "admin@demo.school.lv", "api_url": meet.base_url + "/v2",
                 "token_url": meet.base_url + "/token"},
        "moodle": {"enabled": True, "base_url": moodle.base_url, "token": moodle_token},
        "uzdevumi": {"enabled": True, "drop_dir": str(drop["uzdevumi"])},
        "soma": {"enabled": True, "drop_dir": str(drop["soma"])},
        "smtp": {"host": smtp.host, "port": smtp.port, "security": "none",
                 "sender": "kartiba@demo.school.lv"},
    }
    return Sandboxes(world, eklase, zoom, graph, meet, moodle, smtp, exports, drop, tree)


def _rsa_keypair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


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


def run_demo(scenario_path: Path | None, out: Path) -> dict:
    """Run a scenario end to end and write ``out/result.json``; returns the result."""
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
            runs.append(_one_instant(boxes, settings, instant, index))
    result = {"runs": runs}
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n",
                                     encoding="utf-8")
    _write_mail(boxes, out)
    _write_report(scenario, result, out)
    return result


def _settings(boxes: Sandboxes) -> Settings:
    return load_settings(config=None, environ={"KARTIBA_CONFIG": "/nonexistent/kartiba.toml",
                                              "KARTIBA_SECRETS_DIR": "/nonexistent"},
                         overrides=boxes.settings_tree)


def _one_instant(boxes: Sandboxes, settings: Settings, instant: dt.datetime, index: int) -> dict:
    boxes.world.set_now(instant)
    if boxes.webhook_url:
        boxes.zoom.deliver_webhooks(boxes.webhook_url,
                                    settings.zoom.webhook_secret.get_secret_value())
    for writer in boxes.exports.values():
        writer.write_new("both")
    writes_before = len(boxes.eklase.writes)
    mails_before = len(boxes.smtp.messages)
    summary = run_once(settings, instant, ["attendance", "uzdots", "quota", "digest"],
                       run_id=f"demo-{index + 1}")
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


def _write_report(scenario: Scenario, result: dict, out: Path) -> None:
    from sync_jobs.report import render_report

    (out / "report.html").write_text(render_report(scenario, result), encoding="utf-8")


def to_toml(tree: dict[str, Any]) -> str:
    """A small TOML writer for settings trees (strings, numbers, booleans, lists, tables)."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))} = {value(x)}"
                                   for k, x in v.items()) + "}"
        return json.dumps(str(v), ensure_ascii=False)

    for key, item in tree.items():
        if not isinstance(item, dict):
            lines.append(f"{key} = {value(item)}")
    for key, item in tree.items():
        if isinstance(item, dict):
            lines.append(f"\n[{key}]")
            lines.extend(f"{k} = {value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def serve_forever(scenario_path: Path | None, now: dt.datetime | None,
                  settings_out: Path) -> int:
    """``kartiba sandbox serve``: serve a scenario's world until interrupted.

    Writes a settings file pointing at the stand-ins, so ``kartiba --config FILE run`` can be
    tried by hand against them.
    """
    import time

    scenario = load_scenario(scenario_path or bundled_scenario())
    workdir = settings_out.resolve().parent / "sandbox-state"
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        boxes = start_sandboxes(scenario, workdir, stack)
        if now is not None:
            boxes.world.set_now(now)
        for writer in boxes.exports.values():
            writer.write_new("both")
        settings_out.write_text(to_toml(boxes.settings_tree), encoding="utf-8")
        settings_out.chmod(0o600)
        print(f"sandbox serving {scenario.school.name!r} at {boxes.world.now.isoformat()}")
        print(f"settings: {settings_out} (kartiba --config {settings_out} run --now ...)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")
    return 0
