"""Seeded fault injection for the loopback stand-ins (issue 8).

A :class:`FaultPlan` attached to any :class:`~sandbox.httpserver.LoopbackServer`
(``server.faults = plan``) makes some of its requests fail the way real upstreams fail:

==========================  =================================================================
kind                        what the client sees
==========================  =================================================================
``rate_limit_seconds``      ``429`` with ``Retry-After: <seconds>``
``rate_limit_http_date``    ``429`` with ``Retry-After`` as an HTTP-date a few seconds ahead
``rate_limit_iso_date``     ``429`` with ``Retry-After`` as an ISO 8601 date (Zoom's daily cap)
``http_500/502/503``        that status, without the request being served
``reset``                   the TCP connection is reset without an answer (request not served)
``read_timeout``            the request IS served, but the answer comes after ``timeout_s``
                            (longer than the client's read timeout), then the socket closes
``truncated``               ``200`` declaring the full ``Content-Length``, half the body, then
                            the connection closes (the client reads an incomplete body)
``malformed``               ``200`` whose (complete) body is the first half of the document:
                            broken JSON or XML
``slow``                    the normal answer, ``slow_s`` seconds late (below the timeout)
``trickle``                 ``200`` with the full ``Content-Length`` at once, then the body
                            one byte every ``trickle_s`` seconds: no single read ever times
                            out, only the client's overall deadline ends the call
==========================  =================================================================

Any other kind is *server-specific*: it applies to servers that define a hook
``fault_<kind>(request) -> Response | None`` (e.g. Zoom's ``fault_token_expired``, an e-klase
``fault_soap``), which returns the answer to send, or None when the kind does not apply to
that request (nothing is injected then). Kinds a server has no hook for never hit it.

Whether a request is hit is decided by a hash of (seed, server, method, path, query, body,
how many times that same request was seen before), not by one shared random stream: the
threads of a run can interleave in any order and the same request still meets the same fate,
while its retry (the next occurrence) gets a fresh draw. Values that differ from one sandbox
start to the next (credentials: :meth:`FaultPlan.ignore`; query parameters named ``*token*``,
such as paging tokens) are left out of a request's identity, so a seed replays the same
faults against a freshly started stack. ``max_faults`` bounds the total and
``max_per_kind`` each kind; :attr:`FaultPlan.injected` counts what was injected, by kind.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only (httpserver imports this module)
    from sandbox.httpserver import Request, Response

RATE_LIMIT_KINDS = ("rate_limit_seconds", "rate_limit_http_date", "rate_limit_iso_date")
STATUS_KINDS = {"http_500": 500, "http_502": 502, "http_503": 503}
#: Kinds decided before the request is served (the upstream did nothing).
BEFORE_KINDS = frozenset({*RATE_LIMIT_KINDS, *STATUS_KINDS, "reset"})
#: Kinds applied to the served answer (the upstream did the work; the answer suffers).
AFTER_KINDS = frozenset({"read_timeout", "truncated", "malformed", "slow", "trickle"})
GENERIC_KINDS = tuple(sorted(BEFORE_KINDS | AFTER_KINDS))

_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}

Handler = Callable[["Request"], "Response | None"]


@dataclass
class Outcome:
    """How the server answers one request.

    Attributes:
        response: the answer, or None to send nothing.
        kind: the fault injected (None: a normal answer).
        delay: seconds to wait before answering (or before closing, with ``drop``).
        reset: reset the connection (RST) instead of answering.
        drop: close the connection without answering (after ``delay``).
        send_bytes: send only this many bytes of the body while declaring its full length.
        trickle: seconds between two bytes of the body (0: the body at once).
    """

    response: Response | None
    kind: str | None = None
    delay: float = 0.0
    reset: bool = False
    drop: bool = False
    send_bytes: int | None = None
    trickle: float = 0.0


def hook_name(kind: str) -> str:
    """The method a server defines to support a server-specific fault kind."""
    return f"fault_{kind}"


def supports(server: object, kind: str) -> bool:
    """Whether ``server`` can suffer ``kind`` (generic kinds: every server)."""
    return kind in GENERIC_KINDS or callable(getattr(server, hook_name(kind), None))


class FaultPlan:
    """Which requests fail, and how; shared by any number of servers and threads.

    Args:
        seed: decides every draw together with the request's identity.
        rates: per-request probability of each fault kind (their sum at most 1).
        max_faults: stop injecting after this many faults in total (None: no limit).
        max_per_kind: a limit per kind (kinds not listed: no limit of their own).
        retry_after_s: the wait a 429 asks for (seconds; dates are this far ahead, rounded
            up to whole seconds as HTTP dates have no fractions).
        timeout_s: how late a ``read_timeout`` answer is (make it exceed the client's
            read timeout).
        slow_s: (min, max) seconds of delay of a ``slow`` answer.
        trickle_s: seconds between two bytes of a ``trickle`` answer.
        exempt: requests for which nothing is ever injected.
        clock: wall clock for the dates of ``Retry-After``.

    Raises:
        ValueError: a negative rate, or rates summing to more than 1.
    """

    def __init__(self, seed: int, rates: Mapping[str, float], max_faults: int | None = None,
                 *, max_per_kind: Mapping[str, int] | None = None, retry_after_s: float = 1.0,
                 timeout_s: float = 3.0, slow_s: tuple[float, float] = (0.2, 0.8),
                 trickle_s: float = 1.0,
                 exempt: Callable[[Request], bool] | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        if any(rate < 0 for rate in rates.values()):
            raise ValueError("fault rates must not be negative")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates must sum to at most 1")
        self.seed = seed
        self.rates = {kind: float(rate) for kind, rate in rates.items() if rate > 0}
        self.max_faults = max_faults
        self.max_per_kind = dict(max_per_kind or {})
        self.retry_after_s = retry_after_s
        self.timeout_s = timeout_s
        self.slow_s = slow_s
        self.trickle_s = trickle_s
        self.exempt = exempt
        self.enabled = True
        self.injected: Counter[str] = Counter()
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._volatile: list[bytes] = []

    # ------------------------------------------------------------------ accounting

    @property
    def total(self) -> int:
        """Faults injected so far."""
        with self._lock:
            return sum(self.injected.values())

    def snapshot(self) -> dict[str, int]:
        """A copy of :attr:`injected` (kind -> count)."""
        with self._lock:
            return dict(self.injected)

    def _room(self, kind: str) -> bool:
        """Whether the budgets allow one more fault of ``kind``; the caller holds the lock."""
        if self.max_faults is not None and sum(self.injected.values()) >= self.max_faults:
            return False
        limit = self.max_per_kind.get(kind)
        return limit is None or self.injected[kind] < limit

    def _take(self, kind: str) -> bool:
        """Count one fault of ``kind`` if the budgets allow it."""
        with self._lock:
            if not self._room(kind):
                return False
            self.injected[kind] += 1
            return True

    # ------------------------------------------------------------------ drawing

    def ignore(self, *values: str) -> None:
        """Leave these values (e.g. a stack's random credentials) out of request identities."""
        with self._lock:
            self._volatile.extend(v.encode("utf-8") for v in values if v)

    def _identity(self, server: object, request: Request) -> str:
        with self._lock:
            volatile = list(self._volatile)
        query = "&".join(f"{k}={v}" for k, values in sorted(request.query.items())
                         if "token" not in k.lower() for v in values)
        body = request.body
        for value in volatile:
            body = body.replace(value, b"*")
        digest = hashlib.sha256(body).hexdigest()
        return "\x1f".join((type(server).__name__, request.method, request.raw_path, query,
                            digest))

    def draw(self, server: object, request: Request) -> tuple[str | None, random.Random]:
        """The kind drawn for this occurrence of this request (None: no fault), and an RNG
        for the fault's parameters, both derived from the seed and the request's identity."""
        identity = self._identity(server, request)
        with self._lock:
            occurrence = self._seen[identity]
            self._seen[identity] += 1
        digest = hashlib.sha256(f"{self.seed}\x1e{identity}\x1e{occurrence}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[8:16], "big"))
        if not self.enabled or (self.exempt is not None and self.exempt(request)):
            return None, rng
        point = int.from_bytes(digest[:8], "big") / 2**64
        for kind in sorted(self.rates):
            if not supports(server, kind):
                continue  # a kind this server cannot suffer takes no share of its requests
            point -= self.rates[kind]
            if point < 0:
                return kind, rng
        return None, rng

    def hit(self, kind: str, identity: str) -> bool:
        """Whether this occurrence of a non-HTTP request (e.g. an SMTP message, named by
        ``identity``) suffers ``kind``, drawn at ``kind``'s own rate and counted if so."""
        with self._lock:
            key = f"{kind}\x1d{identity}"
            occurrence = self._seen[key]
            self._seen[key] += 1
        rate = self.rates.get(kind, 0.0)
        if not self.enabled or rate <= 0:
            return False
        digest = hashlib.sha256(f"{self.seed}\x1e{key}\x1e{occurrence}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < rate and self._take(kind)

    # ------------------------------------------------------------------ injecting

    def intercept(self, server: object, request: Request, handle: Handler) -> Outcome:
        """Answer ``request`` through ``handle``, with the fault drawn for it (if any)."""
        kind, rng = self.draw(server, request)
        if kind is None:
            return Outcome(handle(request))
        if kind in BEFORE_KINDS:
            if not self._take(kind):
                return Outcome(handle(request))
            return self._before(kind)
        if kind in AFTER_KINDS:
            return self._after(kind, handle(request), rng)
        return self._custom(server, kind, request, handle)

    def _before(self, kind: str) -> Outcome:
        from sandbox.httpserver import Response

        if kind == "reset":
            return Outcome(None, kind, reset=True)
        status = STATUS_KINDS.get(kind, 429)
        headers = {"Retry-After": self._retry_after(kind)} if status == 429 else {}
        return Outcome(Response(status, {"code": status, "message": _REASONS[status]},
                                headers=headers), kind)

    def _retry_after(self, kind: str) -> str:
        seconds = self.retry_after_s
        if kind == "rate_limit_seconds":
            return f"{max(0, round(seconds)):d}"
        whole = max(1, int(-(-seconds // 1)))  # dates have whole seconds: round up
        when = self._clock().astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(
            seconds=whole + 1)
        if kind == "rate_limit_http_date":
            return email.utils.format_datetime(when, usegmt=True)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _after(self, kind: str, response: Response | None, rng: random.Random) -> Outcome:
        if response is None:
            return Outcome(None, drop=True)
        cut = len(response.body) // 2
        if kind in {"truncated", "malformed", "trickle"} and (response.status != 200
                                                               or cut < 1):
            return Outcome(response)  # only a successful answer with a body can be cut
        if not self._take(kind):
            return Outcome(response)
        if kind == "read_timeout":
            return Outcome(response, kind, delay=self.timeout_s, drop=True)
        if kind == "slow":
            return Outcome(response, kind, delay=rng.uniform(*self.slow_s))
        if kind == "truncated":
            return Outcome(response, kind, send_bytes=cut)
        if kind == "trickle":
            return Outcome(response, kind, trickle=self.trickle_s)
        response.body = response.body[:cut]
        return Outcome(response, kind)

    def _custom(self, server: object, kind: str, request: Request, handle: Handler) -> Outcome:
        with self._lock:
            room = self._room(kind)
        hook: Callable[[Request], Any] = getattr(server, hook_name(kind))
        response = hook(request) if room else None
        if response is None:
            return Outcome(handle(request))
        with self._lock:
            self.injected[kind] += 1  # the hook has acted: count it even past a racing budget
        return Outcome(response, kind)

