"""The SOAP client of the e-klase journal gateway (contract v1, called with zeep).

The shipped WSDL/XSD are loaded from the package directory only: the transport refuses to
fetch documents over the network. Every operation is posted through the shared
:class:`connectors._http.HttpClient` (timeouts, TLS, retries on 5xx/resets with tenacity,
call counting under upstream ``eklase``); a SOAP Fault (HTTP 500 with a Fault body) is not
retried but handed to zeep, and mapped to the error hierarchy here.
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
from connectors.eklase.auth import username_token
from connectors.eklase.settings import EklaseSettings
from connectors.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    ProtocolError,
    UpstreamError,
)

log = logging.getLogger("kartiba.eklase")

UPSTREAM = "eklase"
NS = "urn:kartiba:eklase:journal:v1"
WSDL_PATH = Path(__file__).with_name("journal.wsdl")
BINDING = f"{{{NS}}}JournalBinding"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

_AUTH_FAULTCODES = {"FailedAuthentication", "InvalidSecurity", "InvalidSecurityToken"}
_NOT_FOUND_CODES = {"UNKNOWN_LESSON", "UNKNOWN_STUDENT", "UNKNOWN_GROUP"}


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


def is_transient_fault(fault: etree._Element) -> bool:
    """A gateway failure (``soap:Server``, detail code INTERNAL or none): worth a retry.

    Reads are idempotent and SetAttendanceMark carries an idempotency key, so retrying a
    gateway-side failure can neither double nor lose a mark.
    """
    faultcode = (fault.findtext("faultcode") or "").strip().rpartition(":")[2]
    codes = {(e.text or "").strip() for e in fault.iter() if etree.QName(e).localname == "code"}
    return faultcode == "Server" and (not codes or codes <= {"INTERNAL"})


def classify(response: requests.Response) -> Action | None:
    """SOAP 1.1 answers a Fault with HTTP 500: a gateway failure is retried like a 5xx;
    any other Fault goes to zeep, which maps it to the error hierarchy."""
    if response.status_code != 500:
        return None
    fault = _fault(response.content)
    if fault is None:
        return None
    return Action.RETRY if is_transient_fault(fault) else Action.OK


class OfflineTransport(zeep.Transport):
    """A zeep transport that reads documents from local files and posts through HttpClient.

    Args:
        http: the shared client of upstream ``eklase``.
        timeout: (connect, read) seconds for one SOAP operation.
    """

    def __init__(self, http: HttpClient, timeout: tuple[float, float]) -> None:
        super().__init__(session=http.session, timeout=timeout[1], operation_timeout=timeout[1])
        http.session.headers["User-Agent"] = USER_AGENT  # zeep's constructor replaced ours
        self._http = http
        self._timeout = timeout

    def load(self, url: str) -> bytes:
        """Load a WSDL/XSD document from a local path; never from the network."""
        if urlparse(url).scheme in {"http", "https", "ftp"}:
            raise ConfigError(
                f"eklase: the contract refers to a remote document ({scrub(url)}); "
                "the journal WSDL/XSD must be complete on disk", setting="eklase")
        return super().load(url)

    def post(self, address: str, message: bytes | str, headers: dict) -> requests.Response:
        """Post one SOAP envelope with the shared client's retries and counting.

        Raises:
            ProtocolError: the answer is not well-formed XML (zeep itself reads answers in
                lenient mode, see :class:`EklaseClient`).
        """
        response = self._http.request("POST", address, data=message, headers=headers,
                                      timeout=self._timeout)
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


def _detail_text(fault: Fault, name: str) -> str | None:
    detail = fault.detail
    if detail is None or not hasattr(detail, "find"):
        return None
    node = detail.find(f"{{{NS}}}JournalFault/{{{NS}}}{name}")
    return node.text.strip() if node is not None and node.text else None


def fault_error(fault: Fault, operation: str) -> UpstreamError:
    """Map a SOAP Fault of the gateway to the error hierarchy.

    Authentication faults become :class:`AuthError`, unknown ids :class:`NotFoundError`,
    everything else (invalid request, too long a window, gateway failure)
    :class:`UpstreamError`. The fault string goes to ``detail`` only, scrubbed.
    """
    code = _detail_text(fault, "code")
    object_id = _detail_text(fault, "objectId")
    faultcode = (fault.code or "").rpartition(":")[2]
    what = code or faultcode or "fault"
    message = f"eklase: {operation} answered a SOAP Fault {what}"
    if object_id:
        message += f" for id {object_id}"
    detail = scrub(str(fault.message or ""))
    if code == "AUTH_FAILED" or faultcode in _AUTH_FAULTCODES:
        return AuthError(message + " (check eklase.username / eklase.password)",
                         upstream=UPSTREAM, status=500, detail=detail)
    if code in _NOT_FOUND_CODES:
        return NotFoundError(message, upstream=UPSTREAM, status=500, detail=detail)
    if code == "WINDOW_TOO_LONG":
        message += " (lower eklase.chunk_days)"
    return UpstreamError(message, upstream=UPSTREAM, status=500, detail=detail)


# --------------------------------------------------------------------------- client


class EklaseClient:
    """Typed calls of the journal gateway; results are plain dicts/lists (zeep serialised).

    Args:
        settings: the connector settings (endpoint, account, timeouts, TLS).
        wsdl: the contract to load (the shipped one by default).
        stats: where calls are counted (the process-wide :data:`CALLS` by default).
        sleep: how to wait between retries (tests pass a no-op).

    zeep reads answers in lenient mode (``strict=False``): a record that lacks a required
    element comes through with ``None`` there, so the source's per-record models can report and
    skip it instead of the whole answer failing. Well-formedness is still checked strictly (in
    the transport) and so is the answer's body element (:class:`ResponseCheck`).

    Raises:
        ConfigError: no usable endpoint, or credentials missing.
    """

    def __init__(self, settings: EklaseSettings, *, wsdl: Path = WSDL_PATH,
                 stats: CallStats = CALLS, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.http = HttpClient(
            upstream=UPSTREAM,
            settings=HttpSettings(connect_timeout=settings.connect_timeout,
                                  read_timeout=settings.read_timeout,
                                  max_attempts=settings.max_attempts,
                                  ca_bundle=settings.ca_bundle),
            stats=stats,
            sleep=sleep,
            classify=classify,
        )
        transport = OfflineTransport(
            self.http, (settings.connect_timeout, settings.operation_timeout))
        zeep_settings = zeep.Settings(strict=False, forbid_external=True, forbid_dtd=True,
                                      forbid_entities=True)
        try:
            self._zeep = zeep.Client(str(wsdl), transport=transport,
                                     wsse=username_token(settings), settings=zeep_settings,
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
        started = time.monotonic()
        try:
            result = getattr(self._service, operation)(**params)
        except Fault as fault:
            raise fault_error(fault, operation) from None
        except (TransportError, XMLSyntaxError, XMLParseError) as exc:
            raise ProtocolError(
                f"eklase: {operation} answered something that is not the v1 contract",
                upstream=UPSTREAM, status=getattr(exc, "status_code", None),
                detail=scrub(str(exc)[:500])) from None
        except ZeepValidationError as exc:
            raise ProtocolError(f"eklase: {operation} request does not fit the contract",
                                upstream=UPSTREAM, detail=scrub(str(exc)[:500])) from None
        log.debug("eklase: %s answered in %.2f s", operation, time.monotonic() - started)
        return serialize_object(result, dict)
