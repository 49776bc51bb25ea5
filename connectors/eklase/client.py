"""The SOAP client of the e-klase journal gateway (contract v1.1, called with zeep).

The shipped WSDL/XSD are loaded from the package directory only: the transport refuses to
fetch documents over the network. Every operation is posted through the shared
:class:`connectors._http.HttpClient` (timeouts, TLS, retries on 5xx without a Fault body,
resets and cut-off answers, call counting under upstream ``eklase``), with a WS-Security
header built afresh for every HTTP attempt (:mod:`connectors.eklase.auth`).

A SOAP Fault (HTTP 500 with a Fault body) is never retried by the HTTP layer: zeep raises it
and it is mapped to the error hierarchy here by its fault code. Only the transient codes
UNAVAILABLE and RATE_LIMITED (CONTRACT.md) are sent again, after the fault's ``retryAfter``;
every other fault ends the call at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
import zeep
from lxml import etree
from zeep.exceptions import (
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
    Fault,
    TransportError,
    XMLParseError,
    XMLSyntaxError,
)
from zeep.exceptions import (
    ValidationError as ZeepValidationError,
)
from zeep.helpers import serialize_object
from zeep.plugins import Plugin

from connectors._http import CALLS, USER_AGENT, Action, CallStats, HttpClient, HttpSettings, scrub
from connectors.eklase.auth import SecurityHeader, security_header
from connectors.eklase.settings import EklaseSettings
from connectors.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    TransientError,
    UpstreamError,
)

log = logging.getLogger("kartiba.eklase")

UPSTREAM = "eklase"
NS = "urn:kartiba:eklase:journal:v1"
WSDL_PATH = Path(__file__).with_name("journal.wsdl")
BINDING = f"{{{NS}}}JournalBinding"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

_AUTH_FAULTCODES = {"FailedAuthentication", "InvalidSecurity", "InvalidSecurityToken",
                    "UnsupportedSecurityToken", "SecurityTokenUnavailable", "MessageExpired"}
_NOT_FOUND_CODES = {"UNKNOWN_LESSON", "UNKNOWN_STUDENT", "UNKNOWN_GROUP"}
#: The only fault codes worth sending the same request again (CONTRACT.md, "Faults").
TRANSIENT_CODES = frozenset({"UNAVAILABLE", "RATE_LIMITED"})


def _safe_parser() -> etree.XMLParser:
    """A parser without entity expansion or network access (one per call: thread safety)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


# --------------------------------------------------------------------------- transport


def _fault(body: bytes) -> etree._Element | None:
    if b"Fault" not in body:
        return None
    try:
        root = etree.fromstring(body, parser=_safe_parser())
    except etree.XMLSyntaxError:
        return None
    return root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")


def is_soap_fault(body: bytes) -> bool:
    """Whether an HTTP body is a SOAP 1.1 envelope carrying a Fault."""
    return _fault(body) is not None


def classify(response: requests.Response) -> Action | None:
    """SOAP 1.1 answers a Fault with HTTP 500: hand it to zeep, never retry it here.

    Transient faults are retried per operation by :class:`EklaseClient` (with a fresh
    security header and the fault's own ``retryAfter``); any other 5xx keeps the shared
    client's table (retried).
    """
    if response.status_code != 500 or _fault(response.content) is None:
        return None
    return Action.OK


class OfflineTransport(zeep.Transport):
    """A zeep transport that reads documents from local files and posts through HttpClient.

    Args:
        http: the shared client of upstream ``eklase``.
        timeout: (connect, read) seconds for one SOAP operation.
        security: builds the WS-Security header of each HTTP attempt.
    """

    def __init__(self, http: HttpClient, timeout: tuple[float, float],
                 security: SecurityHeader) -> None:
        super().__init__(session=http.session, timeout=timeout[1], operation_timeout=timeout[1])
        http.session.headers["User-Agent"] = USER_AGENT  # zeep's constructor replaced ours
        self._http = http
        self._timeout = timeout
        self._security = security

    def load(self, url: str) -> bytes:
        """Load a WSDL/XSD document from a local path; never from the network."""
        if urlparse(url).scheme in {"http", "https", "ftp"}:
            raise ConfigError(
                f"eklase: the contract refers to a remote document ({scrub(url)}); "
                "the journal WSDL/XSD must be complete on disk", setting="eklase")
        return super().load(url)

    def post(self, address: str, message: bytes | str, headers: dict) -> requests.Response:
        """Post one SOAP envelope with the shared client's retries and counting.

        Every HTTP attempt carries its own WS-Security header (new Nonce and Created): a
        gateway that remembers nonces would refuse a retried envelope as a replay.

        Raises:
            ProtocolError: the answer is not well-formed XML (zeep itself reads answers in
                lenient mode, see :class:`EklaseClient`).
        """
        envelope = message.encode("utf-8") if isinstance(message, str) else message
        response = self._http.request("POST", address,
                                      data=lambda: self._security.sign(envelope),
                                      headers=headers, timeout=self._timeout)
        try:
            etree.fromstring(response.content, parser=_safe_parser())
        except etree.XMLSyntaxError as exc:
            raise ProtocolError("eklase: the gateway answered something that is not XML",
                                upstream=UPSTREAM, status=response.status_code,
                                detail=scrub(str(exc)[:300])) from None
        return response


class ResponseCheck(Plugin):
    """Refuse an answer whose body is neither the operation's response element nor a Fault.

    zeep alone reads an unrelated body element as an empty answer ("no lessons"), which would
    hide a misconfigured endpoint.
    """

    def ingress(self, envelope: etree._Element, http_headers: dict,
                operation: Any) -> tuple[etree._Element, dict]:
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
        first = children[0] if children else None
        expected = {f"{{{NS}}}{operation.name}Response", f"{{{SOAP_ENV}}}Fault"}
        if first is None or first.tag not in expected:
            raise ProtocolError(f"eklase: {operation.name} answered with another element than "
                                f"{operation.name}Response", upstream=UPSTREAM)
        return envelope, http_headers


# --------------------------------------------------------------------------- faults


def _journal_fault(detail: Any) -> etree._Element | None:
    """The JournalFault element of a fault's detail, qualified (``j:``) or not."""
    if detail is None or not hasattr(detail, "iter"):
        return None
    for element in detail.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element)
        if name.localname == "JournalFault" and name.namespace in (NS, None):
            return element
    return None


def fault_fields(detail: Any) -> dict[str, str]:
    """``code``, ``objectId`` and ``retryAfter`` of a fault detail (missing ones left out).

    Children are read in the ``j`` namespace or in none (the way some toolkits write them).
    """
    found: dict[str, str] = {}
    container = _journal_fault(detail)
    for child in container if container is not None else ():
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child)
        if name.namespace in (NS, None) and child.text and child.text.strip():
            found.setdefault(name.localname, child.text.strip())
    return found


def _retry_after(fields: dict[str, str]) -> float | None:
    try:
        return max(0.0, float(fields["retryAfter"]))
    except (KeyError, ValueError):
        return None


def fault_error(fault: Fault, operation: str, *, note: str = "") -> UpstreamError:
    """Map a SOAP Fault of the gateway to the error hierarchy, by its fault code.

    Authentication faults become :class:`AuthError`, unknown ids :class:`NotFoundError`,
    UNAVAILABLE :class:`TransientError`, RATE_LIMITED :class:`RateLimitedError` (with its
    ``retry_after``), everything else (invalid request, too long a window, INTERNAL)
    :class:`UpstreamError`. The message names the operation and the code; the fault string
    goes to ``detail`` only, scrubbed; ``note`` is added in brackets (e.g. how many attempts).
    """
    fields = fault_fields(fault.detail)
    code = fields.get("code")
    faultcode = (fault.code or "").rpartition(":")[2]
    message = f"eklase: {operation} answered a SOAP Fault {code or faultcode or 'fault'}"
    if fields.get("objectId"):
        message += f" for id {fields['objectId']}"
    if note:
        message += f" ({note})"
    detail = scrub(str(fault.message or ""))
    if code == "AUTH_FAILED" or faultcode in _AUTH_FAULTCODES:
        hint = ("check this machine's clock: the token was refused as stale"
                if faultcode == "MessageExpired" else "check eklase.username / eklase.password")
        return AuthError(f"{message} ({hint})", upstream=UPSTREAM, status=500, detail=detail)
    if code in _NOT_FOUND_CODES:
        return NotFoundError(message, upstream=UPSTREAM, status=500, detail=detail)
    wait = _retry_after(fields)
    if code == "RATE_LIMITED":
        return RateLimitedError(message, retry_after=wait, upstream=UPSTREAM, status=500,
                                detail=detail)
    if code == "UNAVAILABLE":
        return TransientError(message, upstream=UPSTREAM, status=500, detail=detail)
    if code == "WINDOW_TOO_LONG":
        message += " (lower eklase.chunk_days)"
    return UpstreamError(message, upstream=UPSTREAM, status=500, detail=detail)


def transient_wait(fault: Fault) -> float | None:
    """Seconds to wait before sending a request again that got a transient fault
    (UNAVAILABLE / RATE_LIMITED: its ``retryAfter``, 0 when it gives none); None for
    every other fault, which is final."""
    fields = fault_fields(fault.detail)
    if fields.get("code") not in TRANSIENT_CODES:
        return None
    wait = _retry_after(fields)
    return 0.0 if wait is None else wait


# --------------------------------------------------------------------------- client


class EklaseClient:
    """Typed calls of the journal gateway; results are plain dicts/lists (zeep serialised).

    Args:
        settings: the connector settings (endpoint, account, timeouts, TLS).
        wsdl: the contract to load (the shipped one by default).
        stats: where calls are counted (the process-wide :data:`CALLS` by default).
        sleep: how to wait between retries (tests pass a no-op).
        clock: the wall clock of the WS-Security Created stamps (UTC; tests may skew it).

    zeep reads answers in lenient mode (``strict=False``): a record that lacks a required
    element comes through with ``None`` there, so the source's per-record models can report and
    skip it instead of the whole answer failing. Well-formedness is still checked strictly (in
    the transport) and so is the answer's body element (:class:`ResponseCheck`).

    Raises:
        ConfigError: no usable endpoint, or credentials missing.
    """

    def __init__(self, settings: EklaseSettings, *, wsdl: Path = WSDL_PATH,
                 stats: CallStats = CALLS, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.settings = settings
        self._sleep = sleep
        self.http = HttpClient(
            upstream=UPSTREAM,
            settings=HttpSettings(connect_timeout=settings.connect_timeout,
                                  total_timeout=settings.total_timeout,
                                  max_body_bytes=int(settings.max_answer_mb * 1_000_000),
                                  read_timeout=settings.read_timeout,
                                  max_attempts=settings.max_attempts,
                                  ca_bundle=settings.ca_bundle),
            stats=stats,
            sleep=sleep,
            classify=classify,
        )
        transport = OfflineTransport(
            self.http, (settings.connect_timeout, settings.operation_timeout),
            security_header(settings, clock=clock))
        zeep_settings = zeep.Settings(strict=False, forbid_external=True, forbid_dtd=True,
                                      forbid_entities=True)
        try:
            self._zeep = zeep.Client(str(wsdl), transport=transport,
                                     settings=zeep_settings,
                                     plugins=[ResponseCheck()])
        except ExternalReferenceForbidden as exc:
            raise ConfigError(f"eklase: the contract refers to a remote document "
                              f"({scrub(str(exc.url))}); the WSDL/XSD must be complete on disk",
                              setting="eklase") from None
        self.address = settings.endpoint or self._wsdl_address()
        host = urlparse(self.address).hostname or ""
        if not host or host.endswith(".invalid"):  # the shipped WSDL's placeholder
            raise ConfigError("eklase: set the journal gateway address (eklase.endpoint)",
                              setting="eklase.endpoint")
        self._service = self._zeep.create_service(BINDING, self.address)

    def _wsdl_address(self) -> str:
        port = self._zeep.wsdl.services["JournalService"].ports["JournalPort"]
        return str(port.binding_options.get("address") or "")

    # -- operations

    def service_info(self) -> dict[str, Any]:
        """GetServiceInfo: schoolName, gatewayVersion, serverTime."""
        return self._call("GetServiceInfo") or {}

    def teachers(self) -> list[dict[str, Any]]:
        """GetTeachers: every teacher."""
        return self._list("GetTeachers")

    def roster(self, group_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
        """GetRoster: groups with their students (all groups when ``group_ids`` is empty)."""
        return self._list("GetRoster", groupId=list(group_ids))

    def subjects(self, school_year: str) -> list[dict[str, Any]]:
        """GetSubjects for a school year written ``2026/2027``."""
        return self._list("GetSubjects", schoolYear=school_year)

    def lessons(self, date_from: dt.date, date_to: dt.date,
                group_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
        """GetLessons dated ``date_from``..``date_to`` inclusive."""
        return self._list("GetLessons", dateFrom=date_from, dateTo=date_to,
                          groupId=list(group_ids))

    def notices(self, date_from: dt.date, date_to: dt.date) -> list[dict[str, Any]]:
        """GetNotices covering any day of ``date_from``..``date_to``."""
        return self._list("GetNotices", dateFrom=date_from, dateTo=date_to)

    def set_attendance_mark(self, *, lesson_id: str, student_id: str, code: str,
                            excused: bool, idempotency_key: str, points: Sequence[str],
                            comment: str) -> dict[str, Any]:
        """SetAttendanceMark; returns ``{"status": ..., "reason": ...}``."""
        return self._call(
            "SetAttendanceMark", lessonId=lesson_id, studentId=student_id, code=code,
            excused=excused, idempotencyKey=idempotency_key,
            reasonPoints={"point": list(points)}, comment=comment[:500]) or {}

    # -- internals

    def _list(self, operation: str, **params: Any) -> list[dict[str, Any]]:
        result = self._call(operation, **params)
        if result is None:
            return []
        if isinstance(result, list):
            return result
        raise ProtocolError(f"eklase: {operation} answered an unexpected shape",
                            upstream=UPSTREAM)

    def _call(self, operation: str, **params: Any) -> Any:
        """One operation; a transient fault sends it again (fresh security header) after
        the fault's ``retryAfter``, up to ``max_attempts`` times in all."""
        attempt = 1
        while True:
            try:
                return self._call_once(operation, params)
            except Fault as fault:
                wait = transient_wait(fault)
                note = self._final_note(wait, attempt)
                if note is not None:
                    raise fault_error(fault, operation, note=note) from None
            log.info("eklase: %s answered a transient fault; attempt %d in %.1f s",
                     operation, attempt + 1, wait)
            self._sleep(wait)
            attempt += 1

    def _final_note(self, wait: float | None, attempt: int) -> str | None:
        """None when a transient fault is worth another attempt now; else the note the
        final error carries ("" for a fault that is not transient)."""
        if wait is None:
            return ""
        if attempt >= self.settings.max_attempts:
            return f"still after {attempt} attempts"
        if wait > self.settings.max_retry_after:
            return f"retry after {wait:.0f} s: left for the next run"
        return None

    def _call_once(self, operation: str, params: dict[str, Any]) -> Any:
        started = time.monotonic()
        try:
            result = getattr(self._service, operation)(**params)
        except (TransportError, XMLSyntaxError, XMLParseError) as exc:
            raise ProtocolError(
                f"eklase: {operation} answered something that is not the v1 contract",
                upstream=UPSTREAM, status=getattr(exc, "status_code", None),
                detail=scrub(str(exc)[:500])) from None
        except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
            raise ProtocolError(
                f"eklase: {operation} answer carries a DTD or entities, refused unread",
                upstream=UPSTREAM, detail=type(exc).__name__) from None
        except ZeepValidationError as exc:
            raise ProtocolError(f"eklase: {operation} request does not fit the contract",
                                upstream=UPSTREAM, detail=scrub(str(exc)[:500])) from None
        log.debug("eklase: %s answered in %.2f s", operation, time.monotonic() - started)
        return serialize_object(result, dict)
