"""Shared helpers of the e-klase connector tests: settings, client, SOAP answers from fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses
from lxml import etree
from pydantic import SecretStr
from responses import matchers

from connectors._http import CallStats
from connectors.eklase.client import NS, EklaseClient
from connectors.eklase.settings import EklaseSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "eklase"
ENDPOINT = "https://gateway.school.lv/kartiba/journal/v1"
PASSWORD = "s3cret-Pass"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def answer(rsps: responses.RequestsMock, operation: str, fixture: str | bytes,
           status: int = 200) -> None:
    """Register the gateway's answer to one operation (matched on its SOAPAction)."""
    body = fixture if isinstance(fixture, bytes) else fixture_bytes(fixture)
    rsps.add(responses.POST, ENDPOINT, body=body, status=status,
             content_type="text/xml; charset=utf-8",
             match=[matchers.header_matcher({"SOAPAction": f'"{NS}#{operation}"'})])


def payload(call) -> etree._Element:
    """The payload element (first child of soap:Body) of a recorded request."""
    body = call.request.body
    root = etree.fromstring(body if isinstance(body, bytes) else body.encode())
    return root.find(f"{{{SOAP_ENV}}}Body")[0]


def texts(element: etree._Element, name: str) -> list[str]:
    return [e.text for e in element.iter(f"{{{NS}}}{name}")]


def make_settings(**overrides) -> EklaseSettings:
    values = {"endpoint": ENDPOINT, "username": "kartiba", "password": SecretStr(PASSWORD)}
    values.update(overrides)
    return EklaseSettings(**values)


@pytest.fixture
def settings() -> EklaseSettings:
    return make_settings()


@pytest.fixture
def stats() -> CallStats:
    return CallStats()


@pytest.fixture
def client(settings: EklaseSettings, stats: CallStats) -> EklaseClient:
    return EklaseClient(settings, stats=stats, sleep=lambda _s: None)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def envelope(inner: str) -> bytes:
    """A SOAP 1.1 answer around a body snippet written with the ``j:`` prefix."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" '
            f'xmlns:j="{NS}"><soap:Body>{inner}</soap:Body></soap:Envelope>').encode()


def lesson_xml(lesson_id: str, *, day: str = "2026-11-30", group: str = "g1",
               start: str = "09:00", end: str = "09:45", label: str = "Klātienē",
               marks: str = "") -> str:
    """One ``j:lesson`` element; times are Riga winter time (+02:00)."""
    return (f"<j:lesson><j:id>{lesson_id}</j:id><j:date>{day}</j:date><j:number>1</j:number>"
            f"<j:start>{day}T{start}:00+02:00</j:start><j:end>{day}T{end}:00+02:00</j:end>"
            f"<j:groupId>{group}</j:groupId><j:subjectId>m1</j:subjectId>"
            f"<j:teacherId>t1</j:teacherId><j:lessonType>{label}</j:lessonType>{marks}"
            "</j:lesson>")


def mark_xml(student: str, author: str, code: str = "n") -> str:
    return (f"<j:mark><j:studentId>{student}</j:studentId><j:code>{code}</j:code>"
            f"<j:authorId>{author}</j:authorId>"
            "<j:enteredAt>2026-11-30T09:50:00+02:00</j:enteredAt></j:mark>")


def lessons_answer(*lessons: str) -> bytes:
    return envelope("<j:GetLessonsResponse>" + "".join(lessons) + "</j:GetLessonsResponse>")
