"""The one HTTP client every connector uses.

It owns the session, explicit timeouts, TLS settings, authentication hooks, retries (tenacity)
and rate limiting, so no connector retries on its own. What to do with a response is decided
by one table (:data:`STATUS_ACTIONS`), like an error-handling policy in Airbyte's CDK.
Calls are counted per upstream (the benchmark reads :data:`CALLS`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import requests
import urllib3
from lxml import etree
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
)

from connectors.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    UpstreamError,
)

log = logging.getLogger("kartiba.http")

USER_AGENT = "kartiba/0.1 (+school remote-learning adapter)"


# --------------------------------------------------------------------------- scrubbing

_SECRET_PARAMS = re.compile(
    r"(?i)((?:wstoken|token|access_token|client_secret|password|secret|key|signature|code)=)[^&\s\"']+"
)
_BEARER = re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def scrub(text: str) -> str:
    """Remove secrets and e-mail addresses from a string meant for logs or errors."""
    text = _SECRET_PARAMS.sub(r"\1***", text)
    text = _BEARER.sub(r"\1 ***", text)
    return _EMAIL.sub("<email>", text)


# --------------------------------------------------------------------------- counting


class CallStats:
    """Thread-safe counters of upstream calls, 429 answers, retries and time, per upstream.

    ``retries`` counts the attempts made again after a 429, a 5xx or a broken connection, or
    after renewing a token refused with 401 (see :meth:`record_retry`); a run reports
    :meth:`total_retries` in its summary line.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()

    def record(self, upstream: str, seconds: float, status: int | None) -> None:
        with self._lock:
            self.calls[upstream] += 1
            self.seconds[upstream] += seconds
            if status == 429:
                self.rate_limited[upstream] += 1

    def record_retry(self, upstream: str) -> None:
        """Count one attempt made again (after a 429, a 5xx, no answer or a 401 renewal)."""
        with self._lock:
            self.retries[upstream] += 1

    def total_retries(self) -> int:
        """Retries of every upstream so far (a run reports the difference)."""
        with self._lock:
            return sum(self.retries.values())

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "rate_limited": dict(self.rate_limited),
                "retries": dict(self.retries),
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            }

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.rate_limited.clear()
            self.retries.clear()
            self.seconds.clear()


CALLS = CallStats()


# --------------------------------------------------------------------------- rate limiting


class RateLimiter:
    """A token bucket: ``rate`` requests per second, bursts up to ``burst``; thread-safe."""

    def __init__(self, rate: float, burst: float | None = None, clock=time.monotonic,
                 sleep=time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def penalise(self, seconds: float) -> None:
        """After a 429: empty the bucket so other threads back off too."""
        with self._lock:
            self._tokens = min(self._tokens, -seconds * self.rate)


# --------------------------------------------------------------------------- error table


class Action(Enum):
    OK = "ok"
    RETRY = "retry"  # transient: retry with backoff
    RATE_LIMITED = "rate_limited"  # wait Retry-After, then retry
    REAUTH = "reauth"  # renew the token once, then retry
    CONFIG = "config"  # fail as a configuration error
    DENIED = "denied"  # fail: permission/scope missing
    NOT_FOUND = "not_found"  # the object does not exist
    FAIL = "fail"  # any other error: fail this request


STATUS_ACTIONS: Mapping[int, Action] = {
    400: Action.FAIL,
    401: Action.REAUTH,
    403: Action.DENIED,
    404: Action.NOT_FOUND,
    408: Action.RETRY,
    409: Action.FAIL,
    429: Action.RATE_LIMITED,
    500: Action.RETRY,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
}


def action_for(status: int) -> Action:
    """The action for an HTTP status (2xx/3xx OK; unknown 5xx retry; other 4xx fail)."""
    if status < 400:
        return Action.OK
    return STATUS_ACTIONS.get(status, Action.RETRY if status >= 500 else Action.FAIL)


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds, an HTTP date or an ISO date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    now = now or dt.datetime.now(dt.UTC)
    when: dt.datetime | None = None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


# --------------------------------------------------------------------------- auth hook


class Auth(Protocol):
    """How a connector authenticates requests; the client calls these hooks."""

    def apply(self, request: requests.PreparedRequest | dict[str, Any]) -> None: ...

    def invalidate(self) -> None: ...


def body_is_whole(response: requests.Response) -> bool:
    """Whether a successful JSON or XML answer parses (a cut-off body is worth a retry)."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not response.content:
        return True
    try:
        if kind.endswith("json"):
            response.json()
        elif kind.endswith("xml"):
            etree.fromstring(response.content, etree.XMLParser(resolve_entities=False,
                                                               no_network=True))
    except (ValueError, etree.XMLSyntaxError):
        return False
    return True


class _Retryable(Exception):
    """A failed attempt worth another; ``wait`` < 0 = the client's backoff decides, and
    ``jitter`` spreads that backoff (a 429 without ``Retry-After``)."""

    def __init__(self, wait: float, error: UpstreamError, *, jitter: bool = False) -> None:
        super().__init__(str(error))
        self.wait = wait
        self.error = error
        self.jitter = jitter


def jittered(ceiling: float, draw: Callable[[], float] = random.random) -> float:
    """Equal jitter: half of ``ceiling`` for certain, the other half at random.

    Clients throttled together then retry apart instead of all at once, yet every one
    still waits at least half the exponential step.
    """
    return ceiling / 2 + draw() * ceiling / 2


@dataclass
class HttpSettings:
    """Transport settings shared by the connectors."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0  # longer waits fail the request as rate-limited
    ca_bundle: str | None = None  # extra CA bundle; TLS verification is never switched off
    #: the whole call (every attempt, wait and byte of the answer) ends by then, seconds:
    #: the read timeout bounds each socket read only, and a server trickling one byte a
    #: second never trips it
    total_timeout: float = 300.0
    max_body_bytes: int = 50_000_000  # a larger answer fails the call (never held in memory)


@dataclass
class HttpClient:
    """One upstream's HTTP client: session, timeouts, auth, retries, rate limits, counting.

    Args:
        upstream: short name of the upstream ("zoom", "moodle"...), for counting and errors.
        base_url: prefix for relative paths.
        auth: optional hook that adds credentials and can be invalidated after a 401.
        limiter: default rate limiter; ``request(limiter=...)`` may pass a category's one.
    """

    upstream: str
    base_url: str = ""
    auth: Auth | None = None
    limiter: RateLimiter | None = None
    settings: HttpSettings = field(default_factory=HttpSettings)
    session: requests.Session = field(default_factory=requests.Session)
    stats: CallStats = field(default_factory=lambda: CALLS)
    sleep: Callable[[float], None] = time.sleep
    classify: Callable[[requests.Response], Action | None] | None = None
    draw: Callable[[], float] = random.random  # jitter source in [0, 1) (tests fix it)

    def __post_init__(self) -> None:
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        if self.settings.ca_bundle:
            self.session.verify = self.settings.ca_bundle

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        limiter: RateLimiter | None = None,
        authenticate: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request with retries; return the successful response or raise.

        ``data`` may be a callable returning the body: it is called for every attempt (e.g.
        a SOAP envelope whose WS-Security nonce must not be sent twice).

        Raises:
            AuthError, PermissionDeniedError, NotFoundError, RateLimitedError,
            TransientError, UpstreamError: per :data:`STATUS_ACTIONS`.
        """
        deadline = time.monotonic() + self.settings.total_timeout
        state: dict[str, Any] = {"reauthed": False, "deadline": deadline}
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.max_attempts),
            retry=retry_if_exception_type(_Retryable),
            wait=functools.partial(self._wait, deadline=deadline),
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, path, limiter or self.limiter, authenticate,
                                      state, kwargs)
        except _Retryable as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    # -- internals

    def _wait(self, state: RetryCallState, deadline: float | None = None) -> float:
        """Seconds before the next attempt.

        Raises:
            UpstreamError: the failed attempt's error, when waiting would end after the
                call's deadline (the call gives up instead of sleeping past it).
        """
        exc = state.outcome.exception() if state.outcome else None
        wait = self._backoff(state, exc)
        if deadline is not None and time.monotonic() + wait >= deadline:
            raise exc.error if isinstance(exc, _Retryable) else TransientError(
                f"{self.upstream}: no answer within {self.settings.total_timeout:.0f} s",
                upstream=self.upstream)
        return wait

    def _backoff(self, state: RetryCallState, exc: BaseException | None) -> float:
        if isinstance(exc, _Retryable) and exc.wait >= 0:
            return exc.wait
        n = state.attempt_number
        step = min(self.settings.backoff_max, self.settings.backoff_base * (2 ** (n - 1)))
        if isinstance(exc, _Retryable) and exc.jitter:
            return jittered(step, self.draw)
        return step

    def _log_retry(self, state: RetryCallState) -> None:
        """Log (INFO) and count an attempt about to be made again, with why and how long."""
        exc = state.outcome.exception() if state.outcome else None
        error = exc.error if isinstance(exc, _Retryable) else exc
        self.stats.record_retry(self.upstream)
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info("%s: attempt %d of %d failed (%s); retrying in %.1f s", self.upstream,
                 state.attempt_number, self.settings.max_attempts, _retry_reason(error), wait)

    def _once(self, method, path, limiter, authenticate, state, kwargs) -> requests.Response:
        url = self.url(path)
        kwargs = dict(kwargs)
        if callable(kwargs.get("data")):  # a body built afresh for every attempt
            kwargs["data"] = kwargs["data"]()
        headers = dict(kwargs.pop("headers", None) or {})
        if limiter is not None:
            limiter.acquire()
        if authenticate and self.auth is not None:  # after the wait: a token renewed meanwhile
            self.auth.apply(headers)
        deadline = state["deadline"]
        kwargs["timeout"] = self._timeouts(kwargs.get("timeout"), deadline, url)
        started = time.monotonic()
        status: int | None = None
        try:
            response = self.session.request(method, url, headers=headers, stream=True,
                                            **kwargs)
            status = response.status_code
            self._read_body(response, deadline, method, url)
        except requests.exceptions.SSLError as exc:
            raise ConfigError(
                f"{self.upstream}: TLS verification failed for {scrub(self._host(url))}; "
                "set the connector's ca_bundle if the server uses a private CA",
                detail=scrub(str(exc)),
            ) from None
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
                urllib3.exceptions.HTTPError, OSError) as exc:  # the body's read, urllib3's
            raise _Retryable(-1, TransientError(
                f"{self.upstream}: no (complete) answer from {self._host(url)} "
                f"({type(exc).__name__})",
                upstream=self.upstream, detail=scrub(str(exc)))) from None
        finally:
            self.stats.record(self.upstream, time.monotonic() - started, status)
        return self._judge(response, limiter, state, method, url)

    def _timeouts(self, asked: Any, deadline: float, url: str) -> tuple[float, float]:
        """(connect, read) timeouts of one attempt, none longer than what is left of the call.

        Raises:
            TransientError: nothing is left of the call's total timeout.
        """
        connect, read = (asked if isinstance(asked, tuple) else
                         (self.settings.connect_timeout, asked or self.settings.read_timeout))
        left = deadline - time.monotonic()
        if left <= 0:
            raise self._too_slow(url)
        return min(connect, left), min(read, left)

    def _too_slow(self, url: str) -> TransientError:
        return TransientError(
            f"{self.upstream}: no complete answer from {self._host(url)} within "
            f"{self.settings.total_timeout:.0f} s (total_timeout)", upstream=self.upstream)

    def _read_body(self, response: requests.Response, deadline: float, method: str,
                   url: str) -> None:
        """Read a streamed answer into ``response.content``, within the call's deadline and
        the body size cap (checked at every chunk, so neither a trickle nor a flood holds
        the run).

        Raises:
            TransientError: the deadline passed (not retried: the call's time is up).
            UpstreamError: the answer is larger than ``max_body_bytes`` (not retried).
        """
        cap = self.settings.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            response.close()
            raise self._too_big(method, url, response.status_code)
        chunks: list[bytes] = []
        size = 0
        read = getattr(response.raw, "read1", None) or response.raw.read
        while chunk := read(65536, decode_content=True):
            size += len(chunk)
            if size > cap:
                response.close()
                raise self._too_big(method, url, response.status_code)
            if time.monotonic() > deadline:
                response.close()
                raise self._too_slow(url)
            chunks.append(chunk)
        response._content = b"".join(chunks)  # what requests' own .content would hold
        response._content_consumed = True
        response.close()  # back to the pool

    def _too_big(self, method: str, url: str, status: int) -> UpstreamError:
        return UpstreamError(
            f"{self.upstream}: {method} {scrub(self._path(url))} -> an answer larger than "
            f"{self.settings.max_body_bytes // 1_000_000} MB, refused (max_answer_mb)",
            upstream=self.upstream, status=status)

    def _judge(self, response, limiter, state, method, url) -> requests.Response:
        action = (self.classify(response) if self.classify else None) or action_for(
            response.status_code)
        if action is Action.OK:
            if not body_is_whole(response):
                raise _Retryable(-1, TransientError(
                    f"{self.upstream}: {method} {scrub(self._path(url))} -> a truncated or "
                    "malformed body", upstream=self.upstream, status=response.status_code))
            return response
        where = f"{self.upstream}: {method} {scrub(self._path(url))} -> HTTP {response.status_code}"
        detail = scrub(response.text[:500])
        if action is Action.RATE_LIMITED:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is None:  # no promised wait (Google): exponential backoff with jitter
                if limiter is not None:
                    limiter.penalise(self.settings.backoff_base)
                raise _Retryable(-1, RateLimitedError(where, upstream=self.upstream,
                                                      status=429, detail=detail), jitter=True)
            if wait > self.settings.max_retry_after:
                raise RateLimitedError(f"{where} (rate limited for {wait:.0f} s)",
                                       retry_after=wait, upstream=self.upstream,
                                       status=429, detail=detail)
            if limiter is not None:
                limiter.penalise(wait)
            raise _Retryable(wait, RateLimitedError(where, retry_after=wait,
                                                    upstream=self.upstream, status=429,
                                                    detail=detail))
        if action is Action.REAUTH and self.auth is not None and not state["reauthed"]:
            state["reauthed"] = True
            self.auth.invalidate()
            raise _Retryable(0.0, AuthError(where, upstream=self.upstream, status=401,
                                            detail=detail))
        if action is Action.RETRY:
            raise _Retryable(-1, TransientError(where, upstream=self.upstream,
                                                status=response.status_code, detail=detail))
        raise self._final_error(action, where, response.status_code, detail)

    def _final_error(self, action: Action, where: str, status: int, detail: str) -> Exception:
        kinds: dict[Action, type[UpstreamError]] = {
            Action.REAUTH: AuthError,
            Action.CONFIG: AuthError,
            Action.DENIED: PermissionDeniedError,
            Action.NOT_FOUND: NotFoundError,
        }
        cls = kinds.get(action, UpstreamError)
        return cls(where, upstream=self.upstream, status=status, detail=detail)

    @staticmethod
    def _host(url: str) -> str:
        return requests.utils.urlparse(url).netloc

    @staticmethod
    def _path(url: str) -> str:
        parsed = requests.utils.urlparse(url)
        return parsed.path + (f"?{parsed.query}" if parsed.query else "")


def _retry_reason(error: BaseException | None) -> str:
    """Why an attempt is made again, for the log: no URL, no body, no personal data."""
    if isinstance(error, RateLimitedError):
        return "rate limited, HTTP 429"
    if isinstance(error, AuthError):
        return "token refused, HTTP 401; renewed"
    if isinstance(error, UpstreamError) and error.status is not None:
        return f"HTTP {error.status}" + (" with a cut body" if error.status < 300 else "")
    if isinstance(error, UpstreamError):
        return "no (complete) answer"
    return type(error).__name__ if error is not None else "unknown"


# --------------------------------------------------------------------------- shared limiters


class LimiterRegistry:
    """Process-wide rate limiters by key, for upstreams that limit per account and category.

    Zoom, for example, limits each account per rate-limit category ("Light", "Medium",
    "Heavy"); every client of that account in this process must draw from the same bucket.
    The first caller for a key decides its rate; later callers get the same limiter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limiters: dict[tuple[str, ...], RateLimiter] = {}

    def get(self, key: tuple[str, ...], rate: float, burst: float | None = None) -> RateLimiter:
        """The limiter for ``key``, created with ``rate``/``burst`` on first use."""
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = self._limiters[key] = RateLimiter(rate, burst)
            return limiter

    def clear(self) -> None:
        """Forget every limiter (tests)."""
        with self._lock:
            self._limiters.clear()


LIMITERS = LimiterRegistry()
