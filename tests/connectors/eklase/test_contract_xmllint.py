"""The contract checked with an independent toolkit: libxml2's ``xmllint`` (skipped without it).

``apt-get install libxml2-utils`` provides it. The XSD is compiled by xmllint itself, the
WSDL's own ``types`` schema too, and the recorded answers are validated against both.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from connectors.eklase.client import NS, WSDL_PATH
from tests.connectors.eklase.conftest import FIXTURES, SOAP_ENV

XMLLINT = shutil.which("xmllint")
pytestmark = pytest.mark.skipif(XMLLINT is None, reason="xmllint (libxml2-utils) not installed")

XSD_PATH = WSDL_PATH.with_name("journal.xsd")
SANDBOX_CONTRACT = Path(__file__).resolve().parents[3] / "sandbox" / "eklase_contract"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XS = "http://www.w3.org/2001/XMLSchema"
#: Recorded answers that are not what the schema says on purpose (kartiba copes with them).
TOLERATED = ("violation", "unqualified", "message_expired")


def xmllint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([XMLLINT, "--noout", "--nonet", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def _payloads(tmp_path: Path) -> list[Path]:
    """The body element (or fault detail) of every schema-true fixture, one file each."""
    out = []
    for fixture in sorted(FIXTURES.glob("*.xml")):
        if any(word in fixture.name for word in TOLERATED):
            continue
        body = etree.parse(str(fixture)).getroot().find(f"{{{SOAP_ENV}}}Body")[0]
        if body.tag == f"{{{SOAP_ENV}}}Fault":
            body = body.find("detail")[0]
        target = tmp_path / fixture.name
        target.write_bytes(etree.tostring(body, xml_declaration=True, encoding="UTF-8"))
        out.append(target)
    return out


@pytest.mark.parametrize("directory", [WSDL_PATH.parent, SANDBOX_CONTRACT],
                         ids=["connector", "sandbox"])
def test_wsdl_and_xsd_are_well_formed(directory):
    result = xmllint(str(directory / "journal.wsdl"), str(directory / "journal.xsd"))
    assert result.returncode == 0, result.stderr


def test_recorded_answers_validate_against_the_xsd(tmp_path):
    payloads = _payloads(tmp_path)
    assert len(payloads) >= 10
    result = xmllint("--schema", str(XSD_PATH), *map(str, payloads))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("validates") == len(payloads)


def test_the_wsdl_types_section_compiles_and_validates(tmp_path):
    """The schema inside the WSDL (an xs:include of journal.xsd) works on its own."""
    wsdl = etree.parse(str(WSDL_PATH)).getroot()
    schema = wsdl.find(f"{{{WSDL_NS}}}types/{{{XS}}}schema")
    (tmp_path / "types.xsd").write_bytes(etree.tostring(schema))
    shutil.copy(XSD_PATH, tmp_path / "journal.xsd")
    (tmp_path / "answers").mkdir()
    payloads = _payloads(tmp_path / "answers")
    result = xmllint("--schema", str(tmp_path / "types.xsd"), *map(str, payloads))
    assert result.returncode == 0, result.stderr


def test_a_time_without_offset_does_not_validate(tmp_path):
    doc = tmp_path / "naive.xml"
    doc.write_text(f'<j:GetServiceInfoResponse xmlns:j="{NS}"><j:schoolName>S</j:schoolName>'
                   "<j:gatewayVersion>1</j:gatewayVersion>"
                   "<j:serverTime>2026-11-30T09:00:00</j:serverTime>"
                   "</j:GetServiceInfoResponse>", encoding="utf-8")
    result = xmllint("--schema", str(XSD_PATH), str(doc))
    assert result.returncode != 0
    assert "serverTime" in result.stderr


def test_extension_points_take_foreign_elements_only(tmp_path):
    foreign = tmp_path / "foreign.xml"
    foreign.write_text(
        f'<j:GetTeachersResponse xmlns:j="{NS}" xmlns:x="urn:school:extra"><j:teacher>'
        "<j:id>t1</j:id><j:name>N</j:name><j:email>n@school.lv</j:email>"
        "<x:room>204</x:room></j:teacher></j:GetTeachersResponse>", encoding="utf-8")
    own = tmp_path / "own.xml"
    own.write_text(foreign.read_text(encoding="utf-8").replace("x:room", "j:room"),
                   encoding="utf-8")
    assert xmllint("--schema", str(XSD_PATH), str(foreign)).returncode == 0
    assert xmllint("--schema", str(XSD_PATH), str(own)).returncode != 0


def test_fault_message_name_differs_from_its_element():
    """JAX-WS names the exception after the wsdl:message: JournalError, bean JournalFault."""
    wsdl = etree.parse(str(WSDL_PATH)).getroot()
    messages = {m.get("name"): m for m in wsdl.findall(f"{{{WSDL_NS}}}message")}
    assert "JournalFault" not in messages
    part = messages["JournalError"].find(f"{{{WSDL_NS}}}part")
    assert part.get("element") == "j:JournalFault"
    faults = wsdl.findall(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation/{{{WSDL_NS}}}fault")
    assert len(faults) == 7
    assert {(f.get("name"), f.get("message")) for f in faults} == {("JournalError",
                                                                    "j:JournalError")}
