"""The shipped contract: WSDL loads offline in zeep; fixtures follow the XSD; sandbox copy in sync."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses
import zeep
from lxml import etree

from connectors.eklase.client import BINDING, NS, WSDL_PATH, EklaseClient
from connectors.errors import ConfigError
from tests.connectors.eklase.conftest import FIXTURES, SOAP_ENV, make_settings

OPERATIONS = ["GetServiceInfo", "GetTeachers", "GetRoster", "GetSubjects", "GetLessons",
              "GetNotices", "SetAttendanceMark"]
SANDBOX_CONTRACT = Path(__file__).resolve().parents[3] / "sandbox" / "eklase_contract"


def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(WSDL_PATH.with_name("journal.xsd"))))


def test_wsdl_loads_without_any_network_request():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        client = EklaseClient(make_settings())
        assert len(rsps.calls) == 0
    binding = client._zeep.wsdl.bindings[BINDING]
    assert sorted(binding._operations) == sorted(OPERATIONS)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_is_document_literal_with_its_soap_action(operation):
    wsdl = zeep.Client(str(WSDL_PATH), settings=zeep.Settings(forbid_external=True))
    op = wsdl.wsdl.bindings[BINDING]._operations[operation]
    assert op.style == "document"
    assert op.soapaction == f"{NS}#{operation}"
    assert op.input.body.qname == etree.QName(NS, operation)
    assert op.output.body.qname == etree.QName(NS, f"{operation}Response")


def test_remote_schema_reference_is_refused(tmp_path):
    text = WSDL_PATH.read_text(encoding="utf-8").replace(
        'schemaLocation="journal.xsd"', 'schemaLocation="http://example.invalid/journal.xsd"')
    wsdl = tmp_path / "journal.wsdl"
    wsdl.write_text(text, encoding="utf-8")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, \
            pytest.raises(ConfigError, match="remote document"):
        EklaseClient(make_settings(), wsdl=wsdl)
    assert len(rsps.calls) == 0


#: Answers kartiba copes with although they are not what the schema says.
TOLERATED = ("violation", "unqualified", "message_expired")


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.xml")
                                        if not any(word in p.name for word in TOLERATED)))
def test_response_fixtures_follow_the_schema(name):
    root = etree.parse(str(FIXTURES / name)).getroot()
    body = root.find(f"{{{SOAP_ENV}}}Body")[0]
    if body.tag == f"{{{SOAP_ENV}}}Fault":
        body = body.find("detail")[0]
    schema = _schema()
    assert schema.validate(etree.ElementTree(body)), schema.error_log.last_error


def test_contract_violation_fixture_really_violates_the_schema():
    root = etree.parse(str(FIXTURES / "lessons_contract_violation.xml")).getroot()
    body = root.find(f"{{{SOAP_ENV}}}Body")[0]
    assert not _schema().validate(etree.ElementTree(body))


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        pytest.param("2026-11-30T09:00:00+02:00", True, id="offset"),
        pytest.param("2026-11-30T07:00:00Z", True, id="zulu"),
        pytest.param("2026-11-30T09:00:00", False, id="no-offset"),
    ],
)
def test_instants_must_carry_an_offset(value, valid):
    doc = etree.fromstring(
        f'<j:GetServiceInfoResponse xmlns:j="{NS}"><j:schoolName>S</j:schoolName>'
        f"<j:gatewayVersion>1</j:gatewayVersion><j:serverTime>{value}</j:serverTime>"
        "</j:GetServiceInfoResponse>")
    assert _schema().validate(etree.ElementTree(doc)) is valid


@pytest.mark.parametrize("name", ["journal.wsdl", "journal.xsd"])
def test_sandbox_keeps_an_identical_copy_of_the_contract(name):
    assert (SANDBOX_CONTRACT / name).read_bytes() == WSDL_PATH.with_name(name).read_bytes()
