"""Identity matching: participant / chat line / import row -> student (DESIGN "Identity
matching"; kārtība p. 30: never guess between namesakes, the teacher is asked)."""

from __future__ import annotations

import pytest

from mappings.identity import (
    MatchResult,
    RosterIndex,
    fold_name,
    match_participants,
    match_person,
    name_key,
)
from mappings.model import Participant, Student, Teacher
from mappings.policy import DEFAULT_POLICY

MAIL = "audzekni.dttt.lv"


def stud(sid: str, first: str, last: str, group: str = "g1", email: str = "", aliases=()):
    return Student(sid, group, first, last, email, aliases=tuple(aliases))


G1 = (
    stud("s1", "Jānis", "Bērziņš", email=f"janis.berzins@{MAIL}"),
    stud("s2", "Jānis", "Bērziņš", email=f"janis.berzins2@{MAIL}"),  # namesake in one group
    stud("s3", "Anna", "Kalniņa", aliases=["Ančuks"]),
    stud("s4", "Līga", "Ozoliņa", email=f"liga.ozolina@{MAIL}"),
    stud("s5", "Edgars", "Šņore"),
    stud("s6", "Artūrs", "Krūze"),
    stud("s7", "Artūrs", "Krūce"),  # one letter from s6
    stud("s8", "Anna Marija", "Ūdre-Ķēniņa"),
)
G2 = (
    stud("s21", "Anna", "Kalniņa", group="g2"),  # namesake of s3 in another group
    stud("s22", "Pēteris", "Liepiņš", group="g2", email=f"peteris.liepins@{MAIL}"),
)
TEACHER = Teacher("t1", "Ilze Kalniņa", "Ilze.Kalnina@dttt.lv")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("Jānis Bērziņš", "janis berzins", id="latvian-diacritics"),
        pytest.param("ĀĒĪŪ ČĢĶĻŅŠŽ", "aeiu cgklnsz", id="all-latvian-capitals"),
        pytest.param("  Bērziņš,   Jānis ", "berzins janis", id="punctuation-spaces"),
        pytest.param("Anna-Marija O'Brien", "anna marija o brien", id="hyphen-apostrophe"),
        pytest.param("Līga\u200b Ozoliņa 😀", "liga ozolina", id="zero-width-emoji"),
        pytest.param("Ｊānis", "janis", id="fullwidth"),
        pytest.param("Łukasz Groß", "lukasz gross", id="non-decomposable-letters"),
        pytest.param("", "", id="empty"),
    ],
)
def test_fold_name(name: str, expected: str) -> None:
    assert fold_name(name) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Jānis Bērziņš", "Berzins Janis", id="reversed-folded"),
        pytest.param("Anna Marija Ūdre-Ķēniņa", "udre kenina anna marija", id="four-words"),
    ],
)
def test_name_key_ignores_word_order(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(
    ("name", "email", "roster", "aliases", "expected"),
    [
        pytest.param("Kāds", f"JANIS.Berzins@{MAIL}", G1, None, ("s1",),
                     id="email-case-insensitive-beats-name"),
        pytest.param("Jānis Bērziņš", "", G1, None, ("s1", "s2"),
                     id="p30-namesakes-same-group-ambiguous"),
        pytest.param("Jānis Bērziņš", "janis@gmail.com", G1, None, ("s1", "s2"),
                     id="p30-unknown-email-falls-back-to-name"),
        pytest.param("Ozolina Liga", "", G1, None, ("s4",), id="reversed-name-no-diacritics"),
        pytest.param("LĪGA OZOLIŅA", "", G1, None, ("s4",), id="capitals"),
        pytest.param("Ķēniņa Anna Marija Ūdre", "", G1, None, ("s8",), id="double-names-any-order"),
        pytest.param("Anna Kalniņa", "", G1, None, ("s3",), id="unique-in-own-group"),
        pytest.param("Anna Kalniņa", "", G1 + G2, None, ("s21", "s3"),
                     id="p15-joint-lesson-namesakes-across-groups"),
        pytest.param("Ančuks", "", G1, None, ("s3",), id="student-alias"),
        pytest.param("Edžus", "", G1, {"s5": ["Edžus"]}, ("s5",), id="alias-table-name"),
        pytest.param("Telefons", "Liga.Private@Gmail.com", G1, {"s4": ["liga.private@gmail.com"]},
                     ("s4",), id="alias-table-email"),
        pytest.param("Pēteris", "", G1, {"s22": ["Pēteris"]}, (),
                     id="alias-of-student-outside-roster-ignored"),
        pytest.param("Anna Kalniņa", "", G1, {"s5": ["Anna Kalniņa"]}, ("s3", "s5"),
                     id="alias-equal-to-other-full-name-is-ambiguous"),
        pytest.param("Liga Ozolniņa", "", G1, None, ("s4",), id="fuzzy-typo-unique"),
        pytest.param("Edgras Šņore", "", G1, None, ("s5",), id="fuzzy-swapped-letters"),
        pytest.param("Arturs Kruse", "", G1, None, ("s6", "s7"),
                     id="p30-fuzzy-two-close-candidates-ambiguous"),
        pytest.param("Līga Ozoliņa (Guest)", "", G1, None, ("s4",), id="platform-suffix-ignored"),
        pytest.param("[ET-22] Edgars Šņore", "", G1, None, ("s5",), id="bracketed-group-ignored"),
        pytest.param("Jānis", "", G1, None, (), id="first-name-only-unmatched"),
        pytest.param("iPhone (2)", "", G1, None, (), id="guest-device-name"),
        pytest.param("", "", G1, None, (), id="empty"),
        pytest.param("Līga Ozoliņa", "", (), None, (), id="empty-roster"),
    ],
)  # fmt: skip
def test_match_person(name, email, roster, aliases, expected) -> None:
    assert match_person(name, email, roster, aliases=aliases) == expected


@pytest.mark.parametrize(
    ("min_score", "margin", "name", "expected"),
    [
        pytest.param(97.0, 8.0, "Liga Ozolniņa", (), id="score-below-minimum"),
        pytest.param(88.0, 0.0, "Arturs Kruse", ("s6", "s7"), id="tie-never-guessed"),
        pytest.param(88.0, 8.0, "Edgras Šņore", ("s5",), id="clear-margin"),
    ],
)
def test_fuzzy_thresholds_come_from_policy(min_score, margin, name, expected) -> None:
    policy = DEFAULT_POLICY.with_overrides({"fuzzy_min_score": min_score, "fuzzy_margin": margin})
    assert match_person(name, "", G1, policy=policy) == expected


def test_roster_index_is_reusable_and_ignores_extra_aliases() -> None:
    index = RosterIndex(G1, {"s5": ["Edžus"]})
    assert len(index) == len(G1)
    assert match_person("Edžus", "", index) == ("s5",)
    assert match_person("Edžus", "", index, aliases={"s6": ["Edžus"]}) == ("s5",)
    assert index.by_email("") == ()


def row(name: str, email: str = "") -> Participant:
    return Participant(name=name, email=email)


def test_match_participants_sorts_every_row() -> None:
    """p. 30: matched per student (rows merged), ambiguous namesakes, unmatched guests, host."""
    s4_laptop = row("Līga Ozoliņa", f"liga.ozolina@{MAIL}")
    s4_phone = row("Liga telefons", f"LIGA.OZOLINA@{MAIL}")
    s5 = row("Šņore Edgars")
    namesake = row("Jānis Bērziņš")
    guest = row("Galaxy S21")
    host_by_mail = row("Skolotāja", "ilze.kalnina@dttt.lv")
    host_by_name = row("Kalniņa Ilze")
    result = match_participants(
        [s4_laptop, namesake, guest, s5, host_by_mail, s4_phone, host_by_name], G1, TEACHER
    )
    assert dict(result.matched) == {"s4": (s4_laptop, s4_phone), "s5": (s5,)}
    assert result.ambiguous == ((namesake, ("s1", "s2")),)
    assert result.unmatched == (guest,)
    assert result.host == (host_by_mail, host_by_name)
    assert result.ambiguous_students == {"s1", "s2"}


def test_student_named_by_an_ambiguous_row_is_not_matched() -> None:
    """p. 30: s1 joined signed in, but a guest "Jānis Bērziņš" may be s1 or s2: ask, never guess."""
    s1 = row("Jānis Bērziņš", f"janis.berzins@{MAIL}")
    guest = row("Janis Berzins")
    result = match_participants([s1, guest], G1, TEACHER)
    assert "s1" not in result.matched
    assert (guest, ("s1", "s2")) in result.ambiguous
    assert (s1, ("s1",)) in result.ambiguous
    assert result.ambiguous_students == {"s1", "s2"}


def test_email_of_a_student_wins_over_host_name() -> None:
    """A student signed in with their own address is a student, whatever the display name."""
    teacher_named_like_student = Teacher("t9", "Anna Kalniņa", "anna.k@dttt.lv")
    signed_in = row("Anna Kalniņa", f"liga.ozolina@{MAIL}")
    result = match_participants([signed_in], G1, teacher_named_like_student)
    assert dict(result.matched) == {"s4": (signed_in,)}
    assert result.host == ()


def test_no_host_given() -> None:
    result = match_participants([row("Ilze Kalniņa", "ilze.kalnina@dttt.lv")], G1, None)
    assert result.host == ()
    assert result.unmatched == (row("Ilze Kalniņa", "ilze.kalnina@dttt.lv"),)


def test_empty_meeting() -> None:
    assert match_participants([], G1, TEACHER) == MatchResult()


def test_school_sized_roster() -> None:
    """900 students, 900 participant rows all matched (the index keeps it linear; the
    benchmark measures the speed)."""
    roster = [
        stud(f"s{i}", f"Vārds{i:03d}", f"Uzvārds{i % 97:02d}", email=f"u{i}@{MAIL}")
        for i in range(900)
    ]
    rows = [row(f"Vards{i:03d} Uzvards{i % 97:02d}") for i in range(900)]
    result = match_participants(rows, roster, TEACHER)
    assert len(result.matched) == 900
