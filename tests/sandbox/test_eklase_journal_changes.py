"""The e-klase stand-in shows the journal as it is at each instant (scenario additions to v1).

Lessons added and changed (time, lessonType, cancelled, modifiedAt), UZDOTS edits (modifiedAt),
persons' mark edits and deletions (markEdit), withdrawn notices (withdrawnAt), students in
other groups (otherGroupId) — all through the same SOAP contract, validated against its XSD.
"""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree
from pydantic import SecretStr

from connectors import eklase
from connectors.base import WriteStatus
from connectors.eklase.client import EklaseClient
from connectors.eklase.source import EklaseJournal
from mappings.model import LessonMode, Mark, MarkEdit
from sandbox.eklase import EklaseSandbox
from sandbox.scenario import parse_scenario
from sandbox.world import World
from tests.sandbox.test_eklase_sandbox import CONTRACT, Gateway, J

pytestmark = pytest.mark.e2e

WORLD = {
    "version": 1,
    "school": {"name": "S"},
    "teachers": [{"id": "t1", "name": "Ilze Kalniņa", "email": "i@s.lv"}],
    "groups": [{"id": "g1", "name": "ET-22", "class_teacher": "t1"},
               {"id": "g1-a", "name": "ET-22 (a)"}],
    "students": [{"id": "s1", "group": "g1", "first_name": "Anna", "last_name": "Liepa",
                  "other_groups": ["g1-a"]},
                 {"id": "s2", "group": "g1", "first_name": "Jānis", "last_name": "Bērziņš"}],
    "subjects": [{"id": "m1", "name": "E"}],
    "lessons": [
        {"id": "L1", "group": "g1", "subject": "m1", "teacher": "t1", "date": "2026-11-30",
         "number": 1, "start": "09:00", "end": "09:45", "mode": "remote_sync",
         "added_at": "2026-11-25T10:00:00+02:00",
         "changes": [{"at": "2026-11-27T12:00:00+02:00", "start": "10:00", "end": "10:45",
                      "mode": "remote_async"},
                     {"at": "2026-11-30T12:00:00+02:00", "cancelled": True}],
         "uzdots": {"text": "v1", "created_at": "2026-11-26T10:00:00+02:00",
                    "edits": [{"at": "2026-11-27T15:00:00+02:00", "text": "v2",
                               "attachments": ["k.pdf"]}]},
         "journal_edits": [{"student": "s2", "by": "t1", "at": "2026-11-30T11:00:00+02:00",
                            "code": None}]},
        {"id": "A1", "group": "g1-a", "subject": "m1", "teacher": "t1", "date": "2026-11-30",
         "number": 2, "start": "11:00", "end": "11:45", "mode": "remote_async"},
    ],
    "notices": [{"id": "nt1", "student": "s2", "kind": "illness", "from": "2026-11-30",
                 "to": "2026-11-30", "received_at": "2026-11-29T20:00:00+02:00",
                 "withdrawn_at": "2026-11-30T08:00:00+02:00"}],
    "runs": ["2026-11-30T18:00:00+02:00"],
}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def server():
    with EklaseSandbox(World(parse_scenario(WORLD), at("2026-11-30T18:00:00+02:00"))) as running:
        yield running


@pytest.fixture
def gw(server) -> Gateway:
    server.reset()
    return Gateway(server)


def lesson(gw: Gateway, now: str, lesson_id: str = "L1") -> etree._Element | None:
    gw.sandbox.world.set_now(at(now))
    return gw.lessons("2026-11-30", "2026-11-30").get(lesson_id)


def text(node: etree._Element, path: str) -> str | None:
    return node.findtext(path, namespaces=J)


def test_a_lesson_exists_from_added_at_and_reads_with_the_changes_made_by_then(gw):
    assert lesson(gw, "2026-11-25T09:59:00+02:00") is None
    first = lesson(gw, "2026-11-26T12:00:00+02:00")
    assert (text(first, "j:start"), text(first, "j:lessonType"), text(first, "j:cancelled"),
            text(first, "j:modifiedAt")) == (
        "2026-11-30T09:00:00+02:00", "Attālināti tiešsaistē", None, None)
    moved = lesson(gw, "2026-11-28T12:00:00+02:00")
    assert (text(moved, "j:start"), text(moved, "j:lessonType"), text(moved, "j:modifiedAt")) == (
        "2026-11-30T10:00:00+02:00", "Attālināti patstāvīgi", "2026-11-27T12:00:00+02:00")
    gone = lesson(gw, "2026-11-30T18:00:00+02:00")
    assert (text(gone, "j:cancelled"), text(gone, "j:modifiedAt")) == (
        "true", "2026-11-30T12:00:00+02:00")


def test_uzdots_reads_as_edited_with_its_modified_time(gw):
    before = lesson(gw, "2026-11-27T14:00:00+02:00")
    assert (text(before, "j:uzdots/j:text"), text(before, "j:uzdots/j:modifiedAt")) == ("v1", None)
    after = lesson(gw, "2026-11-27T15:00:00+02:00")
    assert (text(after, "j:uzdots/j:text"), text(after, "j:uzdots/j:modifiedAt"),
            text(after, "j:uzdots/j:attachment/j:name")) == (
        "v2", "2026-11-27T15:00:00+02:00", "k.pdf")


def test_a_person_deleting_our_mark_is_listed_and_refuses_later_writes(gw):
    gw.sandbox.world.set_now(at("2026-11-30T10:30:00+02:00"))
    assert gw.set_mark("L1", "s2", "L1:s2").findtext("j:status", namespaces=J) == "created"
    ours = lesson(gw, "2026-11-30T10:45:00+02:00")
    assert [text(m, "j:authorId") for m in ours.findall("j:mark", J)] == ["kartiba"]
    assert ours.findall("j:markEdit", J) == []
    after = lesson(gw, "2026-11-30T11:00:00+02:00")
    assert after.findall("j:mark", J) == []
    [edit] = after.findall("j:markEdit", J)
    assert (text(edit, "j:studentId"), text(edit, "j:code"), text(edit, "j:authorId"),
            text(edit, "j:at")) == ("s2", None, "t1", "2026-11-30T11:00:00+02:00")
    answer = gw.set_mark("L1", "s2", "L1:s2-again")
    assert (answer.findtext("j:status", namespaces=J),
            answer.findtext("j:reason", namespaces=J)) == ("refused", "manual_mark")


def test_a_student_of_another_group_is_listed_once_and_can_be_marked_there(gw):
    gw.sandbox.world.set_now(at("2026-11-30T18:00:00+02:00"))
    groups = gw.call("GetRoster").findall("j:group", J)
    listed = {text(g, "j:id"): [text(s, "j:id") for s in g.findall("j:student", J)]
              for g in groups}
    assert listed == {"g1": ["s1", "s2"], "g1-a": []}
    s1 = groups[0].find("j:student", J)
    assert [e.text for e in s1.findall("j:otherGroupId", J)] == ["g1-a"]
    assert gw.set_mark("A1", "s1", "A1:s1").findtext("j:status", namespaces=J) == "created"
    assert gw.set_mark("A1", "s2", "A1:s2")[1] == "UNKNOWN_STUDENT"


def test_a_withdrawn_notice_carries_its_withdrawal_once_it_happened(gw):
    def notices(now: str) -> list[tuple[str | None, str | None]]:
        gw.sandbox.world.set_now(at(now))
        body = gw.call("GetNotices", "<j:GetNotices><j:dateFrom>2026-11-30</j:dateFrom>"
                       "<j:dateTo>2026-11-30</j:dateTo></j:GetNotices>")
        return [(text(n, "j:id"), text(n, "j:withdrawnAt")) for n in body.findall("j:notice", J)]

    assert notices("2026-11-30T07:00:00+02:00") == [("nt1", None)]
    assert notices("2026-11-30T08:00:00+02:00") == [("nt1", "2026-11-30T08:00:00+02:00")]


def test_every_new_element_follows_the_contract(gw):
    schema = etree.XMLSchema(etree.parse(str(CONTRACT / "journal.xsd")))
    gw.sandbox.world.set_now(at("2026-11-30T18:00:00+02:00"))
    for body in (gw.call("GetRoster"),
                 gw.call("GetLessons", "<j:GetLessons><j:dateFrom>2026-11-30</j:dateFrom>"
                         "<j:dateTo>2026-11-30</j:dateTo></j:GetLessons>"),
                 gw.call("GetNotices", "<j:GetNotices><j:dateFrom>2026-11-30</j:dateFrom>"
                         "<j:dateTo>2026-11-30</j:dateTo></j:GetNotices>")):
        schema.assertValid(etree.ElementTree(body))


def test_the_connector_reads_every_addition_into_the_domain_model(gw):
    """EklaseJournal (zeep) against the stand-in: the contract's additions reach the model."""
    gw.sandbox.world.set_now(at("2026-11-30T18:00:00+02:00"))
    settings = eklase.EklaseSettings(endpoint=gw.sandbox.endpoint, username="kartiba",
                                     password=SecretStr(gw.sandbox.password),
                                     connect_timeout=2, operation_timeout=5)
    journal = EklaseJournal(EklaseClient(settings, sleep=lambda _s: None), settings)
    school = journal.school(dt.date(2026, 11, 30))
    assert school.students["s1"].other_groups == ("g1-a",)
    assert [s.id for s in school.roster("g1-a")] == ["s1"]
    lessons = {x.id: x for x in journal.lessons(dt.date(2026, 11, 30), dt.date(2026, 11, 30))}
    l1 = lessons["L1"]
    assert (l1.cancelled, l1.is_remote, l1.mode, l1.modified_at) == (
        True, False, LessonMode.REMOTE_ASYNC, at("2026-11-30T12:00:00+02:00"))
    assert l1.uzdots.modified_at == at("2026-11-27T15:00:00+02:00")
    assert l1.mark_edits == (MarkEdit("s2", "t1", at("2026-11-30T11:00:00+02:00"), None),)
    [notice] = journal.notices(dt.date(2026, 11, 30), dt.date(2026, 11, 30))
    assert (notice.id, notice.withdrawn_at) == ("nt1", at("2026-11-30T08:00:00+02:00"))


def test_the_gateway_sink_does_not_write_where_a_person_deleted_a_mark(gw):
    """The read-back before a write counts a person's deletion (markEdit) as their decision."""
    gw.sandbox.world.set_now(at("2026-11-30T18:00:00+02:00"))
    settings = eklase.EklaseSettings(endpoint=gw.sandbox.endpoint, username="kartiba",
                                     password=SecretStr(gw.sandbox.password),
                                     connect_timeout=2, operation_timeout=5)
    journal = EklaseJournal(EklaseClient(settings, sleep=lambda _s: None), settings)
    journal.lessons(dt.date(2026, 11, 30), dt.date(2026, 11, 30))
    sink = eklase.build_sink(settings, journal=journal)
    result = sink.write(Mark("L1", "s2", "n", False, ("30",), "not_connected"), "L1:s2", "30")
    assert (result.status, result.reason) == (WriteStatus.REFUSED, "manual_mark")
    assert gw.sandbox.writes == []  # no call was made
