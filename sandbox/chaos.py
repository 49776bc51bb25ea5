"""The chaos driver (issue 8): faults and SIGKILLs must lose nothing and double nothing.

For each seed it generates a small school day (:func:`small_school`), then:

1. runs the day CLEAN in a fresh sandbox stack: ``kartiba --config F run --now T`` as a
   separate process at each of the scenario's instants, no faults, no kills; it records what
   the sandbox journal and the SMTP server received and, per instant, how long the run took
   and how many requests, journal writes and e-mails it made;
2. runs the same day in another fresh stack with a seeded :class:`~sandbox.faults.FaultPlan`
   on every HTTP stand-in, and at each instant kills ``kartiba run`` with SIGKILL at a seeded
   point (:class:`KillPlan`): after a random delay, at the n-th upstream request (during the
   fetch), right after the journal applied the k-th mark and before kartiba hears of it
   (between write and bookkeeping), or at a random moment of the gap after the SMTP server
   accepted the k-th message (during mail) — then reruns until a run exits 0 without being
   killed (bounded attempts). ``--kill-phases mail_ack`` kills at the very moment of the
   SMTP acceptance instead: the worst case of at-least-once mail, measured on request;
3. compares the journal (marks the gateway *created*: lesson, student, code, excused) and the
   delivered alerts (each ``X-Kartiba-Alerts`` item per recipient) with the clean run.

It prints ONE JSON line (``--json``) or a short summary::

    python -m sandbox.chaos --seeds 10 --json

Fields: ``seeds``, ``faults_injected`` (by kind, and ``total``), ``crashes`` (SIGKILLs that hit
a run), ``identical`` (seeds whose journal and mail equal the clean run), ``duplicate_marks``,
``lost_marks``, ``extra_marks``, ``duplicate_emails`` (alert items delivered more often than
in the clean run), ``lost_emails``, ``failed_runs`` (runs that exited non-zero on their own),
``incomplete`` (instants that never completed), ``kills`` (by phase), ``not_identical``
(seeds), ``wall_s``.

The SMTP sink is faulted with ``smtp_451`` (a ``451`` temporary failure, budgeted) and
``smtp_down`` (every message of one run attempt refused: the relay is down for that run);
kills during mail exercise the mail path. Hostile-world kinds (issue 15): ``trickle`` (an
answer sent one byte at a time: only the client's overall deadline ends the call) and
``bad_chars`` (e-klase teacher, student, group and subject names carry CR/LF, tabs and
zero-width characters, addresses carry blanks: the connector boundary cleans them, so the
day's marks and alerts are the clean day's). ``--worklist`` runs the day with e-klase in
worklist mode: the proposed marks are mailed to teachers (each worklist row delivered counts
as a mail item), so ``smtp_down`` hits the worklist mail.
"""

from __future__ import annotations

import argparse
import contextlib
import email.policy
import functools
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from lxml import etree

from sandbox.faults import FaultPlan, Outcome
from sandbox.httpserver import LoopbackServer, Request
from sandbox.scenario import Scenario, parse_scenario
from sandbox.school import STUDENTS_PER_GROUP, generate_school
from sandbox.stack import Sandboxes, start_sandboxes, to_toml

ALERTS_HEADER = "X-Kartiba-Alerts"
DIGEST_HEADER = "X-Kartiba-Digest"

#: Per-request fault probabilities of a chaos run (about 15 % of the requests a kind applies to).
DEFAULT_RATES: dict[str, float] = {
    "rate_limit_seconds": 0.015, "rate_limit_http_date": 0.01, "rate_limit_iso_date": 0.01,
    "http_500": 0.015, "http_502": 0.01, "http_503": 0.015,
    "reset": 0.015, "read_timeout": 0.005, "truncated": 0.01, "malformed": 0.01,
    "slow": 0.01, "token_expired": 0.01, "page_token_expired": 0.03,
    "soap": 0.01, "ws_error": 0.01, "smtp_451": 0.03,
    "trickle": 0.004, "bad_chars": 0.15, "smtp_down": 0.1,
}
#: Kinds of the SMTP sink (not an HTTP stand-in): ``smtp_451`` refuses a message with
#: ``451 4.3.0``, a temporary failure (kartiba leaves it pending and sends it next run).
SMTP_KINDS = ("smtp_451", "smtp_down")
#: Server-specific kinds (``fault_<kind>`` hooks): ``token_expired`` (Zoom, Graph, Meet),
#: ``page_token_expired`` (Zoom, Graph, Meet), ``soap`` (e-klase: the transient UNAVAILABLE
#: Fault, after authentication), ``ws_error`` (Moodle: ``dml_read_exception`` with HTTP 200).
SERVER_KINDS = ("page_token_expired", "soap", "token_expired", "ws_error")
#: Kinds the chaos driver hooks onto one stand-in itself (:func:`bad_chars` on e-klase).
CHAOS_KINDS = ("bad_chars",)
#: Per-seed budgets of the kinds kartiba does not retry within a run (it fails the run, or
#: the lesson's evidence, and the next run heals it) and of the slow ones.
DEFAULT_BUDGETS: dict[str, int] = {"truncated": 3, "malformed": 3, "read_timeout": 4,
                                   "soap": 3, "ws_error": 3, "smtp_451": 2, "trickle": 2,
                                   "smtp_down": 2}
#: Client settings of the chaos runs: short timeouts keep ``read_timeout`` faults cheap.
CLIENT_TIMEOUT_S = 2.0
FAULT_TIMEOUT_S = 3.0  # a late answer comes after the client gave up
TOTAL_TIMEOUT_S = 10.0  # each call's overall deadline: a trickled answer ends there
TRICKLE_S = 0.5  # seconds between two bytes of a trickled answer
WORKLIST_HEADER_ROWS = 1
ZOOM_PAGE_SIZE = 8  # several report pages per meeting, so paging tokens can expire
MAX_ATTEMPTS = 8  # runs per instant before the instant counts as incomplete
MAX_KILLS_PER_INSTANT = 2
RUN_TIMEOUT_S = 180.0
KILL_PHASES = ("time", "fetch", "write", "mail", "mail_ack")
#: ``mail_ack`` (the instant the SMTP server accepted a message, before kartiba can record
#: it) is the adversarial case of ``mail``; it is measured on request, not by default.
DEFAULT_KILL_PHASES = ("time", "fetch", "write", "mail")

_ZOOM_LINK = re.compile(r"zoom\.us/j/(\d+)")
_MOODLE_LINK = re.compile(r"skolo\.lv/mod/assign/view\.php\?id=(\d+)")


# =========================================================================== the school


def small_school(seed: int, students: int = 60) -> dict[str, Any]:
    """A generated school day cut down to ``students`` (rounded up to whole groups of 20).

    The first groups of ``sandbox.school.generate_school(1, seed)`` are kept with their
    students, lessons, and the evidence and notices that belong to them.
    """
    doc = generate_school(1, seed)
    groups = doc["groups"][:max(1, math.ceil(students / STUDENTS_PER_GROUP))]
    gids = {g["id"] for g in groups}
    pupils = [s for s in doc["students"] if s["group"] in gids]
    sids = {s["id"] for s in pupils}
    lessons = [x for x in doc["lessons"] if x["group"] in gids]
    texts = " ".join(x.get("uzdots", {}).get("text", "") for x in lessons)
    meetings = [m for m in doc["zoom"]["meetings"] if m["id"] in set(_ZOOM_LINK.findall(texts))]
    cmids = {int(c) for c in _MOODLE_LINK.findall(texts)}
    moodle = doc["moodle"]
    assignments = [a for a in moodle["assignments"] if a["cmid"] in cmids]
    aids = {a["id"] for a in assignments}
    tids = ({x["teacher"] for x in lessons} | {g["class_teacher"] for g in groups}
            | {m["host"] for m in meetings})
    doc.update({
        "teachers": [t for t in doc["teachers"] if t["id"] in tids],
        "groups": groups, "students": pupils, "lessons": lessons,
        "subjects": [{**s, "planned_hours": {g: h for g, h in s["planned_hours"].items()
                                             if g in gids}} for s in doc["subjects"]],
        "zoom": {"meetings": meetings},
        "moodle": {
            "courses": [c for c in moodle["courses"]
                        if c["id"] in {a["course"] for a in assignments}],
            "assignments": assignments,
            "submissions": [s for s in moodle["submissions"]
                            if s["assignment"] in aids and s["student"] in sids],
            "quiz_attempts": [q for q in moodle["quiz_attempts"] if q["student"] in sids]},
        "uzdevumi": {"rows": [r for r in doc["uzdevumi"]["rows"] if r["student"] in sids]},
        "notices": [n for n in doc["notices"] if n["student"] in sids],
    })
    return doc


# =========================================================================== what was received


@dataclass
class Received:
    """What the sandbox journal and SMTP server received during one day."""

    marks: Counter[tuple] = field(default_factory=Counter)
    alerts: Counter[tuple] = field(default_factory=Counter)
    redelivered: int = 0  # copies of a message already received (same Message-ID)


def by_message_id(messages: Iterable[Any]) -> tuple[list[Any], int]:
    """The first copy of each message, and how many later copies carried the same Message-ID.

    kartiba re-sends a message whose delivery it could not record (the run died between the
    SMTP server's "accepted" and the ledger's "sent") with the same Message-ID; mail systems
    and clients treat such copies as one message. They are reported as ``redelivered``.
    """
    messages = list(messages)
    seen: set[str] = set()
    first: list[Any] = []
    for received in messages:
        message_id = str(received.message.get("Message-ID", "")).strip()
        if message_id and message_id in seen:
            continue
        seen.add(message_id)
        first.append(received)
    return first, len(messages) - len(first)


def journal_marks(writes: Iterable[dict]) -> Counter[tuple]:
    """(lesson, student, code, excused) of every mark the gateway created, with counts."""
    return Counter((w["lesson"], w["student"], w["code"], bool(w["excused"]))
                   for w in writes if w["status"] == "created")


def mail_items(messages: Iterable[Any]) -> Counter[tuple]:
    """(recipient, kind, lesson, student, excused) of every alert item delivered, with counts;
    a digest counts as (recipient, "digest", its period)."""
    items: Counter[tuple] = Counter()
    for received in messages:
        message = received.message
        recipients = sorted(r.lower() for r in received.rcpt_tos)
        header = message.get(ALERTS_HEADER)
        for item in json.loads(str(header)) if header is not None else []:
            for to in recipients:
                items[(to, item["kind"], item.get("lesson"), item.get("student"),
                       item.get("excused"))] += 1
        digest = message.get(DIGEST_HEADER)
        if digest is not None:
            for to in recipients:
                items[(to, "digest", str(digest), None, None)] += 1
        for row in worklist_rows(message):
            for to in recipients:
                items[(to, "worklist", *row)] += 1
    return items


def worklist_rows(message: Any) -> list[tuple[str, ...]]:
    """The rows of a worklist message's CSV attachment (header left out); [] for others."""
    rows: list[tuple[str, ...]] = []
    for part in message.iter_attachments():
        if (part.get_filename() or "").lower().endswith(".csv"):
            text = part.get_content()
            text = text.decode("utf-8-sig") if isinstance(text, bytes) else text
            lines = [line for line in text.splitlines() if line.strip()]
            rows += [tuple(line.split(";")) for line in lines[WORKLIST_HEADER_ROWS:]]
    return rows


def mail_identity(rcpt_tos: Sequence[str], raw: bytes) -> str:
    """What a message is about, the same in every run that sends it (its recipients and
    alert/digest headers; not its Message-ID or Date, which each run makes anew)."""
    headers = BytesParser(policy=email.policy.default).parsebytes(raw, headersonly=True)
    return "\x1f".join((",".join(sorted(r.lower() for r in rcpt_tos)),
                         str(headers.get(ALERTS_HEADER, "")),
                         str(headers.get(DIGEST_HEADER, ""))))


@dataclass
class Comparison:
    """How a chaos day's journal and mail differ from the clean day's.

    ``differences`` lists (what, count in the clean day, count in the chaos day) of every
    mark (lesson, student, code, excused) and alert item (kind, lesson, student, excused;
    recipients left out) whose counts differ.
    """

    duplicate_marks: int
    lost_marks: int
    extra_marks: int
    duplicate_emails: int
    lost_emails: int
    extra_emails: int
    differences: list[tuple[tuple, int, int]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not any((self.duplicate_marks, self.lost_marks, self.extra_marks,
                        self.duplicate_emails, self.lost_emails, self.extra_emails))


def compare(clean: Received, chaos: Received) -> Comparison:
    """Duplicates (delivered more often than in the clean run), losses and extras."""
    def split(want: Counter[tuple], got: Counter[tuple]) -> tuple[int, int, int]:
        duplicate = sum(n - max(1, want[k]) for k, n in got.items() if want[k] and n > want[k])
        duplicate += sum(n - 1 for k, n in got.items() if not want[k] and n > 1)
        lost = sum(n - got[k] for k, n in want.items() if got[k] < n)
        extra = sum(1 for k in got if not want[k])
        return duplicate, lost, extra

    marks, mails = split(clean.marks, chaos.marks), split(clean.alerts, chaos.alerts)
    differences = [(("mark", *key), clean.marks[key], chaos.marks[key])
                   for key in sorted(set(clean.marks) | set(chaos.marks), key=repr)
                   if clean.marks[key] != chaos.marks[key]]
    differences += [(("alert", *key[1:]), clean.alerts[key], chaos.alerts[key])
                    for key in sorted(set(clean.alerts) | set(chaos.alerts), key=repr)
                    if clean.alerts[key] != chaos.alerts[key]]
    return Comparison(*marks, *mails, differences)


# =========================================================================== killing


@dataclass
class Expect:
    """What one instant's clean run did: the yardstick for kill points."""

    duration: float = 1.0
    requests: int = 0
    writes: int = 0
    mails: int = 0
    mail_gap: float = 0.01  # seconds between two accepted messages


@dataclass
class Kill:
    """Where to kill one run: a phase and a point within it."""

    phase: str  # one of KILL_PHASES
    at: float  # seconds (time) or the n-th event of the phase
    delay: float = 0.0  # mail: seconds after the at-th message was accepted


class KillPlan:
    """Seeded choice of whether and where each attempt of an instant is killed."""

    def __init__(self, seed: int, probability: float = 0.6,
                 phases: Sequence[str] = DEFAULT_KILL_PHASES) -> None:
        self.rng = random.Random(f"chaos-kill-{seed}")
        self.probability = probability
        self.phases = tuple(phases)

    def choose(self, attempt: int, kills_so_far: int, expect: Expect) -> Kill | None:
        """The kill for this attempt of an instant, or None (let it run)."""
        chance = self.probability / (1 + attempt)
        if kills_so_far >= MAX_KILLS_PER_INSTANT or self.rng.random() >= chance:
            return None
        limits = {"time": 1, "fetch": expect.requests, "write": expect.writes,
                  "mail": expect.mails, "mail_ack": expect.mails}
        phases = [p for p in self.phases if limits[p]]
        if not phases:
            return None
        phase = self.rng.choice(phases)
        if phase == "time":
            return Kill(phase, self.rng.uniform(0.05, 1.0) * expect.duration)
        at = self.rng.randint(1, limits[phase])
        delay = self.rng.uniform(0.0, expect.mail_gap) if phase == "mail" else 0.0
        return Kill(phase, at, delay)


class KillSwitch:
    """Kills the armed process when its kill point is reached (from the server threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._kill: Kill | None = None
        self._count = 0
        self.fired = False

    def arm(self, pid: int, kill: Kill | None) -> None:
        with self._lock:
            self._pid, self._kill, self._count, self.fired = pid, kill, 0, False

    def disarm(self) -> None:
        with self._lock:
            self._pid, self._kill = None, None

    def phase(self) -> Kill | None:
        with self._lock:
            return self._kill

    def fire(self) -> None:
        """SIGKILL the armed process now (once)."""
        with self._lock:
            if self._pid is None or self.fired:
                return
            self.fired = True
            pid = self._pid
        with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
            os.kill(pid, signal.SIGKILL)

    def observe(self, server: LoopbackServer, request: Request, outcome: Outcome) -> None:
        """Server observer: count fetch requests / applied journal writes; kill at the point."""
        with self._lock:
            kill = self._kill
            if kill is None or self.fired:
                return
            counts = kill.phase == "fetch" or (
                kill.phase == "write" and _applied_write(request, outcome))
            if not counts:
                return
            self._count += 1
            due = self._count >= kill.at
        if due:
            self.fire()


#: e-klase answer elements whose text is a name (cleaned at kartiba's boundary) or an address
_NAME_ELEMENTS = frozenset({"name", "firstName", "lastName"})
_ADDRESS_ELEMENTS = frozenset({"email"})


def bad_chars(server: LoopbackServer, request: Request) -> Any:
    """Fault hook ``bad_chars`` of the e-klase stand-in: the teachers/roster/subjects answer
    with hostile characters in names (CR/LF, a tab, a zero-width space, a trailing newline)
    and blanks around addresses; None for other operations (answered normally)."""
    if not any(op in request.body for op in (b"GetTeachers", b"GetRoster", b"GetSubjects")):
        return None
    response = server.handle(request)
    if response is None or response.status != 200:
        return response
    root = etree.fromstring(response.body, etree.XMLParser(resolve_entities=False,
                                                           no_network=True))
    for element in root.iter():
        local = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if local in _NAME_ELEMENTS and element.text:
            element.text = "\t" + element.text.replace(" ", " \r\n", 1) + "\u200b\n"
        elif local in _ADDRESS_ELEMENTS and element.text:
            element.text = f"  {element.text}\t"
    response.body = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return response


def _applied_write(request: Request, outcome: Outcome) -> bool:
    response = outcome.response
    return (b"SetAttendanceMark" in request.body and response is not None
            and response.status == 200 and b"<" in response.body
            and b"created" in response.body)


# =========================================================================== one day


@dataclass
class DayResult:
    """One day's received journal and mail, and what it took to get there."""

    received: Received
    expects: list[Expect]
    faults: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    failed_runs: int = 0
    incomplete: int = 0
    errors: list[str] = field(default_factory=list)
    kill_log: list[str] = field(default_factory=list)


def _tune(tree: dict[str, Any], worklist: Path | None = None) -> dict[str, Any]:
    """Short timeouts (a late answer costs seconds, not minutes) and a quick lock recovery;
    e-klase in worklist mode (files kept in ``worklist``) when given."""
    tree = {key: dict(value) if isinstance(value, dict) else value for key, value in tree.items()}
    for section in ("zoom", "teams", "meet", "moodle"):
        tree[section].update(connect_timeout=CLIENT_TIMEOUT_S, read_timeout=CLIENT_TIMEOUT_S,
                             total_timeout=TOTAL_TIMEOUT_S)
    tree["eklase"].update(connect_timeout=CLIENT_TIMEOUT_S, read_timeout=CLIENT_TIMEOUT_S,
                          operation_timeout=CLIENT_TIMEOUT_S, total_timeout=TOTAL_TIMEOUT_S)
    if worklist is not None:
        tree["eklase"].update(mode="worklist", worklist_dir=str(worklist))
    tree["smtp"]["timeout"] = 10
    tree["state"]["stale_lock_s"] = 60
    return tree


def _kartiba() -> list[str]:
    script = Path(sys.executable).with_name("kartiba")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sync_jobs.cli"]


def _environment(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KARTIBA_")}
    env.update(KARTIBA_SECRETS_DIR=str(workdir / "no-secrets"), KARTIBA_LOG_LEVEL="WARNING",
               PYTHONDONTWRITEBYTECODE="1")
    return env


class Day:
    """One scenario day in a fresh sandbox stack, run instant by instant as cron would."""

    def __init__(self, scenario: Scenario, workdir: Path, plan: FaultPlan | None,
                 kills: KillPlan | None, expects: Sequence[Expect] | None = None, *,
                 worklist: bool = False) -> None:
        self.scenario = scenario
        self.workdir = workdir
        self.plan = plan
        self.kills = kills
        self.expects = list(expects or [])
        self.worklist = worklist
        self.switch = KillSwitch()
        self.boxes: Sandboxes | None = None
        self._smtp_down = False  # smtp_down: the relay refuses every message of this attempt

    def run(self) -> DayResult:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            boxes = self.boxes = start_sandboxes(self.scenario, self.workdir, stack)
            boxes.zoom.page_size_cap = ZOOM_PAGE_SIZE
            for server in self._servers():
                server.faults = self.plan
                server.observers.append(self.switch.observe)
            if self.plan is not None:  # the stack's random credentials: not part of identities
                boxes.smtp.tempfail = self._smtp_tempfail
                boxes.eklase.fault_bad_chars = functools.partial(bad_chars, boxes.eklase)
                tree = boxes.settings_tree
                self.plan.ignore(tree["eklase"]["password"], tree["moodle"]["token"],
                                 tree["teams"]["client_secret"])
            config = self.workdir / "kartiba.toml"
            worklists = self.workdir / "worklists" if self.worklist else None
            config.write_text(to_toml(_tune(boxes.settings_tree, worklists)), encoding="utf-8")
            config.chmod(0o600)
            result = DayResult(Received(), [])
            for index, instant in enumerate(self.scenario.runs):
                boxes.world.set_now(instant)
                for writer in boxes.exports.values():
                    writer.write_new("both")
                expect = self.expects[index] if index < len(self.expects) else Expect()
                label = f"#{index + 1} {instant.isoformat()}"
                result.expects.append(self._instant(config, instant.isoformat(), label,
                                                    expect, result))
            unique, redelivered = by_message_id(boxes.smtp.messages)
            result.received = Received(journal_marks(boxes.eklase.writes), mail_items(unique),
                                       redelivered)
            if self.plan is not None:
                result.faults = Counter(self.plan.snapshot())
        return result

    def _smtp_tempfail(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> bool:
        """Whether the SMTP sink answers this message ``451`` (kind ``smtp_451``)."""
        assert self.plan is not None
        return self._smtp_down or self.plan.hit("smtp_451", mail_identity(rcpt_tos, raw))

    def _servers(self) -> list[LoopbackServer]:
        boxes = self.boxes
        assert boxes is not None
        return [boxes.eklase, boxes.zoom, boxes.graph, boxes.meet, boxes.moodle]

    def _counts(self) -> tuple[int, int, int]:
        boxes = self.boxes
        assert boxes is not None
        return (sum(s.requests_seen for s in self._servers()), len(boxes.eklase.writes),
                len(boxes.smtp.messages))

    def _instant(self, config: Path, instant: str, label: str, expect: Expect,
                 result: DayResult) -> Expect:
        """Run one instant until a run exits 0 unkilled; returns what the first clean-looking
        run did (the clean day's yardstick)."""
        kills = 0
        before = self._counts()
        for attempt in range(MAX_ATTEMPTS):
            kill = self.kills.choose(attempt, kills, expect) if self.kills else None
            self._smtp_down = self.plan is not None and self.plan.hit(
                "smtp_down", f"{label}\x1f{attempt}")
            started = time.monotonic()
            code, stderr, arrivals = self._attempt(config, instant, kill)
            took = time.monotonic() - started
            if self.switch.fired:
                kills += 1
                result.crashes += 1
                phase = kill.phase if kill else "time"
                result.kills[phase] += 1
                result.kill_log.append(f"{label} attempt {attempt + 1}: {phase} "
                                       f"at {kill.at if kill else 0:.4g} ({took:.2f} s)")
                continue
            if code == 0:
                after = self._counts()
                gap = ((arrivals[-1] - arrivals[0]) / (len(arrivals) - 1)
                       if len(arrivals) > 1 else Expect.mail_gap)
                return Expect(took, after[0] - before[0], after[1] - before[1],
                              after[2] - before[2], max(gap, 0.001))
            result.failed_runs += 1
            result.errors.append(f"{label} attempt {attempt + 1}: exit {code}: "
                                 f"{_last_line(stderr)}")
        result.incomplete += 1
        return Expect()

    def _attempt(self, config: Path, instant: str, kill: Kill | None
                 ) -> tuple[int, str, list[float]]:
        log = self.workdir / "kartiba.stderr"
        with open(log, "w", encoding="utf-8") as err:
            proc = subprocess.Popen([*_kartiba(), "--config", str(config), "run", "--now",
                                     instant], stdout=subprocess.DEVNULL, stderr=err,
                                    env=_environment(self.workdir), cwd=self.workdir)
            self.switch.arm(proc.pid, kill)
            try:
                arrivals = self._watch(proc, kill)
            finally:
                self.switch.disarm()
        return proc.returncode, log.read_text(encoding="utf-8", errors="replace"), arrivals

    def _watch(self, proc: subprocess.Popen, kill: Kill | None) -> list[float]:
        """Wait for the run, firing time- and mail-phase kills from here; returns when (s
        after the start) each message of this run was accepted by the SMTP server."""
        assert self.boxes is not None
        smtp = self.boxes.smtp
        started = time.monotonic()
        base = len(smtp.messages)
        arrivals: list[float] = []
        while proc.poll() is None:
            elapsed = time.monotonic() - started
            arrivals.extend([elapsed] * (len(smtp.messages) - base - len(arrivals)))
            if kill is not None and not self.switch.fired and _due(kill, elapsed, arrivals):
                self.switch.fire()
            if elapsed > RUN_TIMEOUT_S:
                proc.kill()  # a hung run: counted as a failed run, not as a crash
            time.sleep(0.001)
        proc.wait()
        return arrivals


def _due(kill: Kill, elapsed: float, arrivals: Sequence[float]) -> bool:
    """Whether a time- or mail-phase kill point has been reached."""
    if kill.phase == "time":
        return elapsed >= kill.at
    if kill.phase in {"mail", "mail_ack"} and len(arrivals) >= kill.at:
        return elapsed - arrivals[int(kill.at) - 1] >= kill.delay
    return False


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


# =========================================================================== the driver


@dataclass
class SeedReport:
    """One seed's chaos day against its clean day."""

    seed: int
    comparison: Comparison
    chaos: DayResult
    clean_failed: int


def run_seed(seed: int, students: int, rates: dict[str, float], workdir: Path,
             kill_probability: float = 0.6, max_faults: int | None = None,
             phases: Sequence[str] = DEFAULT_KILL_PHASES, *,
             worklist: bool = False) -> SeedReport:
    """Clean day, chaos day, comparison, for one seed."""
    scenario = parse_scenario(small_school(seed, students), source=f"chaos seed {seed}")
    clean = Day(scenario, workdir / "clean", None, None, worklist=worklist).run()
    plan = FaultPlan(seed, rates, max_faults, max_per_kind=DEFAULT_BUDGETS,
                     timeout_s=FAULT_TIMEOUT_S, trickle_s=TRICKLE_S)
    chaos = Day(scenario, workdir / "chaos", plan, KillPlan(seed, kill_probability, phases),
                clean.expects, worklist=worklist).run()
    return SeedReport(seed, compare(clean.received, chaos.received), chaos,
                      clean.failed_runs + clean.incomplete)


def summarise(reports: Sequence[SeedReport], wall_s: float) -> dict[str, Any]:
    """The one-line JSON result of a chaos run."""
    faults: Counter[str] = Counter()
    kills: Counter[str] = Counter()
    for report in reports:
        faults.update(report.chaos.faults)
        kills.update(report.chaos.kills)
    total = sum(faults.values())

    def tally(name: str) -> int:
        return sum(getattr(r.comparison, name) for r in reports)

    return {
        "seeds": len(reports),
        "faults_injected": {**dict(sorted(faults.items())), "total": total},
        "crashes": sum(r.chaos.crashes for r in reports),
        "identical": sum(r.comparison.identical for r in reports),
        "duplicate_marks": tally("duplicate_marks"),
        "lost_marks": tally("lost_marks"),
        "extra_marks": tally("extra_marks"),
        "duplicate_emails": tally("duplicate_emails"),
        "redelivered_emails": sum(r.chaos.received.redelivered for r in reports),
        "lost_emails": tally("lost_emails"),
        "extra_emails": tally("extra_emails"),
        "failed_runs": sum(r.chaos.failed_runs for r in reports),
        "incomplete": sum(r.chaos.incomplete for r in reports),
        "clean_failures": sum(r.clean_failed for r in reports),
        "kills": dict(sorted(kills.items())),
        "not_identical": [r.seed for r in reports if not r.comparison.identical],
        "wall_s": round(wall_s, 1),
    }


def parse_rates(items: Sequence[str]) -> dict[str, float]:
    """``KIND=P`` overrides of the fault rates (a known kind, 0 <= P <= 1).

    Raises:
        ValueError: a malformed item, an unknown kind or a rate outside [0, 1].
    """
    rates: dict[str, float] = {}
    for item in items:
        kind, sep, value = item.partition("=")
        kind = kind.strip()
        if not sep or kind not in DEFAULT_RATES:
            raise ValueError(f"--rate {item!r}: expected KIND=P with KIND one of "
                             + ", ".join(sorted(DEFAULT_RATES)))
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"--rate {item!r}: P must be a number") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"--rate {item!r}: P must be between 0 and 1")
        rates[kind] = rate
    return rates


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.chaos",
        description="Run generated school days with faults and SIGKILLs; compare with clean "
                    "runs.")
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds (0..N-1)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--scale-students", type=int, default=60,
                        help="students of the generated school (whole groups of 20)")
    parser.add_argument("--fault-scale", type=float, default=1.0,
                        help="multiply every default fault rate by this")
    parser.add_argument("--rate", action="append", default=[], metavar="KIND=P",
                        help="set one fault kind's rate (after --fault-scale); repeatable")
    parser.add_argument("--max-faults", type=int, default=None,
                        help="fault budget per seed (default: none)")
    parser.add_argument("--kill-probability", type=float, default=0.6,
                        help="chance that an instant's first run is killed (halved per rerun)")
    parser.add_argument("--kill-phases", default=",".join(DEFAULT_KILL_PHASES),
                        help="comma-separated kill points to choose from: " + ", ".join(
                            KILL_PHASES))
    parser.add_argument("--worklist", action="store_true",
                        help="e-klase in worklist mode: proposed marks are mailed to teachers")
    parser.add_argument("--jobs", type=int, default=2, help="seeds run side by side")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep every run's files here (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--verbose", action="store_true",
                        help="per-seed lines and run errors on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seeds < 1 or args.scale_students < 1 or args.fault_scale < 0:
        print("chaos: --seeds and --scale-students must be positive", file=sys.stderr)
        return 2
    phases = [p.strip() for p in args.kill_phases.split(",") if p.strip()]
    if set(phases) - set(KILL_PHASES):
        print(f"chaos: unknown kill phase(s) in {args.kill_phases!r}", file=sys.stderr)
        return 2
    rates = {kind: rate * args.fault_scale for kind, rate in DEFAULT_RATES.items()}
    try:
        rates.update(parse_rates(args.rate))
        if sum(rates.values()) > 1.0:
            raise ValueError("the fault rates must sum to at most 1")
    except ValueError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 2
    root = args.workdir or Path(tempfile.mkdtemp(prefix="kartiba-chaos-"))
    started = time.monotonic()
    seeds = range(args.first_seed, args.first_seed + args.seeds)

    def one(seed: int) -> SeedReport:
        report = run_seed(seed, args.scale_students, rates, root / f"seed-{seed}",
                          args.kill_probability, args.max_faults, phases,
                          worklist=args.worklist)
        if args.verbose:
            _describe(report)
        return report

    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            reports = list(pool.map(one, seeds))
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    summary = summarise(reports, time.monotonic() - started)
    if args.json:
        print(json.dumps(summary, sort_keys=False))
    else:
        print(f"chaos: {summary['identical']}/{summary['seeds']} identical, "
              f"{summary['crashes']} crashes, {summary['faults_injected']['total']} faults, "
              f"duplicate marks {summary['duplicate_marks']}, lost marks "
              f"{summary['lost_marks']}, duplicate e-mails {summary['duplicate_emails']}, "
              f"{summary['wall_s']} s")
    return 0


def _describe(report: SeedReport) -> None:
    c, day = report.comparison, report.chaos
    lines = [f"seed {report.seed}: identical={c.identical} crashes={day.crashes} "
             f"kills={dict(day.kills)} faults={sum(day.faults.values())} "
             f"failed_runs={day.failed_runs} incomplete={day.incomplete}"]
    lines += [f"  differs: {what} clean={want} chaos={got}" for what, want, got in c.differences]
    lines += [f"  kill: {line}" for line in day.kill_log]
    lines += [f"  failed: {line}" for line in day.errors]
    print("\n".join(lines), file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
