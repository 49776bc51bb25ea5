"""Worklist mode through the runner: marks survive an SMTP outage and go out once, same id."""

from __future__ import annotations

import copy
import email.utils
from contextlib import ExitStack
from pathlib import Path

import pytest

from sandbox.scenario import load_scenario
from sandbox.stack import start_sandboxes, to_toml
from sync_jobs.cli import main
from sync_jobs.state import StateStore

PRESENCE = Path(__file__).parents[1] / "scenarios" / "01_sync_presence_rerun.json"


@pytest.fixture(autouse=True)
def _no_host_secrets(monkeypatch):
    monkeypatch.setenv("KARTIBA_SECRETS_DIR", "/nonexistent")


@pytest.fixture
def world(tmp_path):
    """The presence scenario on loopback, e-klase in worklist mode (no gateway writes)."""
    scenario = load_scenario(PRESENCE)
    with ExitStack() as stack:
        boxes = start_sandboxes(scenario, tmp_path, stack)
        tree = copy.deepcopy(boxes.settings_tree)
        tree["eklase"]["mode"] = "worklist"
        tree["eklase"]["worklist_dir"] = str(tmp_path / "worklists")
        config = tmp_path / "kartiba.toml"
        config.write_text(to_toml(tree), encoding="utf-8")
        boxes.world.set_now(scenario.runs[-1])
        yield boxes, config, scenario, tree


def _run(config: Path, at) -> int:
    return main(["--config", str(config), "run", "--now", at.isoformat(), "attendance"])


def _worklists(boxes) -> list:
    return [m for m in boxes.smtp.messages if "ievadīšanai e-klasē" in str(m.message["Subject"])]


def test_smtp_down_then_up_mails_the_worklist_once_with_one_message_id(world, tmp_path):
    boxes, config, scenario, tree = world
    boxes.smtp.tempfail = lambda *_: True  # run 1: every message refused (451)
    assert _run(config, scenario.runs[-1]) == 1  # work left for the next run: exit 1
    assert _worklists(boxes) == []
    store = StateStore.open(tree["state"]["path"])
    try:
        pending = store.worklist_pending()
        assert pending, "the proposed marks wait in the state store"
        keys = sorted(e.key for e in pending)
    finally:
        store.close()

    boxes.smtp.tempfail = None  # run 2: SMTP is back
    assert _run(config, scenario.runs[-1]) == 0
    mails = _worklists(boxes)
    assert len(mails) == 1
    message = mails[0].message
    body = message.get_body(("plain",)).get_content()
    store = StateStore.open(tree["state"]["path"])
    try:
        assert store.worklist_pending() == []
        sent_ids = store.worklist_message_ids()
    finally:
        store.close()
    assert sorted(sent_ids) == keys  # no mark lost
    assert set(sent_ids.values()) == {message["Message-ID"]}
    assert boxes.eklase.writes == []  # worklist mode never writes to the journal
    assert body.count("„n”") >= len(keys)

    # the headers as the SMTP server received them
    assert message["From"].addresses[0].display_name == "kārtības automātika (kartiba)"
    assert message["To"].addresses[0].addr_spec == mails[0].rcpt_tos[0]
    assert email.utils.parsedate_to_datetime(str(message["Date"])) is not None
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].startswith("<kartiba.worklist.")
    html = message.get_body(("html",))
    assert html.get_content_charset() == "utf-8" and '<html lang="lv">' in html.get_content()

    # run 3 at the same instant: nothing new
    assert _run(config, scenario.runs[-1]) == 0
    assert len(_worklists(boxes)) == 1
    folder = Path(tree["eklase"]["worklist_dir"])
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o600}
