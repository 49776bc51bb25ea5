"""The sandbox stack: every stand-in started on loopback for one scenario world.

Used by ``kartiba demo``/``kartiba sandbox serve`` and by the benchmark and chaos drivers.
It returns the settings tree that points kartiba's real connectors at the stand-ins; the
drivers write it as a TOML file and run ``kartiba`` as a separate process, as cron does.
"""

from __future__ import annotations

import json
import secrets
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.eklase import EklaseSandbox
from sandbox.exports import ExportWriter
from sandbox.graph import GraphSandbox
from sandbox.meet import MeetSandbox
from sandbox.moodle import MoodleSandbox
from sandbox.scenario import Scenario
from sandbox.smtp import SmtpSink
from sandbox.world import World
from sandbox.zoom import ZoomSandbox

SERVICE_ACCOUNT = "kartiba"
MEET_CLIENT = "kartiba@demo-school.iam.gserviceaccount.com"


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


def start_sandboxes(scenario: Scenario, workdir: Path, stack: ExitStack, *,
                    plan: str = "pro") -> Sandboxes:
    """Start every stand-in on loopback and return the settings tree that points at them.

    ``plan`` is the Zoom account plan the stand-in serves (its rate limits) and kartiba is
    configured with.
    """
    world = World(scenario, scenario.runs[0] if scenario.runs else None)
    password = secrets.token_urlsafe(16)
    zoom_secret, graph_secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    moodle_token = secrets.token_hex(16)
    key_pem, public_pem = _rsa_keypair()

    eklase = EklaseSandbox(world, username=SERVICE_ACCOUNT, password=password)
    zoom = ZoomSandbox(world, plan=plan, client_id="demo-zoom", client_secret=zoom_secret,
                       account_id="demo-account")
    graph = GraphSandbox(world, tenant="demo-tenant", client_id="demo-graph",
                         client_secret=graph_secret)
    # domain-wide delegation: kartiba acts as each lesson's teacher (users of the domain)
    meet = MeetSandbox(world, public_key_pem=public_pem, client_email=MEET_CLIENT,
                       subjects=[t.email for t in scenario.teachers])
    moodle = MoodleSandbox(world, token=moodle_token, enrol="linked")
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
        "type": "service_account", "client_email": MEET_CLIENT,
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
                 "oauth_url": zoom.base_url + "/oauth/token", "plan": plan,
                 "webhook_secret": secrets.token_urlsafe(16)},
        "teams": {"enabled": True, "tenant_id": "demo-tenant", "client_id": "demo-graph",
                  "client_secret": graph_secret, "graph_url": graph.base_url + "/v1.0",
                  "login_url": graph.base_url},
        "meet": {"enabled": True, "service_account_json": json.dumps(service_account),
                 "api_url": meet.base_url + "/v2",
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
