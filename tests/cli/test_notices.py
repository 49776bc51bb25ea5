"""``kartiba notice``: roster check, list/remove (audited), imports as Latvian Excel saves them."""

from __future__ import annotations

from pathlib import Path

from sync_jobs.state import StateStore
from tests.cli.conftest import kartiba

HEADER = "student;kind;from;to;received_at\n"


def _state(boxes) -> Path:
    return Path(boxes.settings_tree["state"]["path"])


def test_add_checks_the_roster_list_and_remove_audited(world):
    boxes, config, scenario = world
    c = ("--config", str(config))
    unknown = kartiba(*c, "notice", "add", "--student", "s99", "--kind", "illness",
                      "--from", "2026-11-30")
    assert unknown.rc == 2 and "s99 is not on the journal's roster" in unknown.err
    added = kartiba(*c, "notice", "add", "--student", "s2", "--kind", "illness", "--from",
                    "2026-11-30", "--received-at", "2026-11-30T07:30:00+02:00")
    assert added.rc == 0 and "recorded" in added.out
    again = kartiba(*c, "notice", "add", "--student", "s2", "--kind", "illness", "--from",
                    "2026-11-30", "--received-at", "2026-11-30T07:30:00+02:00")
    assert "already recorded" in again.out
    listed = kartiba(*c, "notice", "list", "--json").json()
    assert [n["student_id"] for n in listed] == ["s2"]
    assert listed[0]["id"] in kartiba(*c, "notice", "list").out
    removed = kartiba(*c, "notice", "remove", listed[0]["id"])
    assert removed.rc == 0
    assert kartiba(*c, "notice", "list", "--json").json() == []
    assert kartiba(*c, "notice", "remove", listed[0]["id"]).rc == 2
    with StateStore.open(_state(boxes)) as store:
        audit = [r for r in store.audit_rows() if r["action"] == "notice_removed"]
    assert audit and audit[0]["ids"]["notice"] == listed[0]["id"]


def test_import_latvian_excel_cp1257_semicolons_idempotent(world, tmp_path):
    boxes, config, scenario = world
    text = (HEADER + "s1;illness;2026-11-30;2026-11-30;2026-11-30T07:40:00+02:00\n"
            "s2;other;2026-11-30;;\n"
            "s99;illness;2026-11-30;;\n"
            "s3;slimība;2026-11-30;;\n")
    path = tmp_path / "paziņojumi.csv"
    path.write_bytes(text.encode("cp1257"))
    first = kartiba("--config", str(config), "notice", "import", str(path))
    assert first.rc == 1
    assert "2 notice(s) imported" in first.out
    assert f"{path.name}:4: student s99 is not on the journal's roster" in first.err
    assert f"{path.name}:5: kind" in first.err
    second = kartiba("--config", str(config), "notice", "import", str(path))
    assert "0 notice(s) imported, 2 already known" in second.out
    with StateStore.open(_state(boxes)) as store:
        students = sorted(n["student_id"] for n in store.all_notices())
    assert students == ["s1", "s2"]


def test_import_utf16_and_utf8_bom(world, tmp_path):
    boxes, config, scenario = world
    rows = "student,kind,from\ns1,illness,2026-11-30\n"
    for name, data in (("u16.csv", rows.encode("utf-16")),
                       ("bom.csv", b"\xef\xbb\xbf" + rows.replace("s1", "s2").encode())):
        (tmp_path / name).write_bytes(data)
        result = kartiba("--config", str(config), "notice", "import", str(tmp_path / name))
        assert result.rc == 0 and "1 notice(s) imported" in result.out, result.err


def test_import_binary_and_huge_fields_are_clear_errors(world, tmp_path):
    boxes, config, scenario = world
    binary = tmp_path / "notices.xlsx.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00\x00" + bytes(range(256)) * 4)
    result = kartiba("--config", str(config), "notice", "import", str(binary))
    assert result.rc == 2 and "binary" in result.err
    huge = tmp_path / "huge.csv"
    huge.write_text("student,kind,from\n" + "s1,illness,2026-11-30\n"
                    + "s2," + "x" * 200_000 + ",2026-11-30\n", encoding="utf-8")
    result = kartiba("--config", str(config), "notice", "import", str(huge))
    assert result.rc == 1
    assert "huge.csv:3: the line is longer" in result.err and "1 notice(s) imported" in result.out
