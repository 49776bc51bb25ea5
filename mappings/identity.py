"""Identity matching: which student is this meeting participant / chat line / import row?

Order (docs/CONVENTIONS.md "Identity"): e-mail (case-insensitive; a student's own address or
an e-mail alias) → display-name alias → full name with Latvian diacritics folded and word
order ignored, when unique → fuzzy name (rapidfuzz) only when the best candidate is clear by
a margin → otherwise unmatched.

Never guess between namesakes: when a participant could be several students, all of them are
candidates and none is matched (the teacher is asked). The host teacher is recognised and never
counted as a student.

A ``RosterIndex`` is built once per roster; each lookup is then a dictionary hit, or one
linear pass (in C, by rapidfuzz) over the roster's names for the fuzzy step.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from rapidfuzz import fuzz, process

from mappings.model import Participant, Student, Teacher
from mappings.policy import DEFAULT_POLICY, Policy

# --------------------------------------------------------------------------- folding

#: Letters NFKD does not decompose, folded by hand.
_EXTRA_FOLDS = str.maketrans(
    {"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ı": "i", "æ": "ae", "œ": "oe"}
)


@lru_cache(maxsize=65536)
def fold_name(name: str) -> str:
    """A person's name folded for comparison (memoised: the same names recur every lesson).

    NFKD with combining marks stripped (ā→a, č→c, ģ→g, ķ→k, ļ→l, ņ→n, š→s, ž→z …),
    casefolded; punctuation, symbols and invisible characters become spaces; spaces
    collapsed.

    >>> fold_name("  Bērziņš,  Jānis ")
    'berzins janis'
    """
    decomposed = unicodedata.normalize("NFKD", name).translate(_EXTRA_FOLDS)
    kept = []
    for char in decomposed:
        category = unicodedata.category(char)
        if category.startswith("M"):
            continue
        kept.append(char if category[0] in "LN" else " ")
    return " ".join("".join(kept).casefold().split())


def name_key(name: str) -> str:
    """Folded words in sorted order: ``"Bērziņš Jānis"`` and ``"Jānis Bērziņš"`` agree."""
    return " ".join(sorted(fold_name(name).split()))


def fold_email(email: str) -> str:
    """An e-mail address for comparison: stripped and casefolded ("" when absent)."""
    return email.strip().casefold()


_BRACKETED = re.compile(r"\([^()]{0,80}\)|\[[^\[\]]{0,80}\]")


def _is_email(text: str) -> bool:
    text = text.strip()
    return "@" in text and " " not in text


# --------------------------------------------------------------------------- index


class RosterIndex:
    """Lookup tables over one roster, built once and reused for every participant.

    Args:
        roster: the students who may be in the meeting (a group, or several for a joint
            lesson, kārtība p. 15).
        aliases: extra names per student id (school-wide table; ids not in ``roster`` are
            ignored). An alias containing ``@`` is an e-mail address, any other a display
            name.
    """

    def __init__(
        self, roster: Iterable[Student], aliases: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        students = {s.id: s for s in roster}
        self.student_ids: frozenset[str] = frozenset(students)
        by_email: dict[str, set[str]] = defaultdict(set)
        by_alias: dict[str, set[str]] = defaultdict(set)
        by_name: dict[str, set[str]] = defaultdict(set)
        for student in students.values():
            if fold_email(student.email):
                by_email[fold_email(student.email)].add(student.id)
            key = name_key(student.full_name)
            if key:
                by_name[key].add(student.id)
            extra = tuple(student.aliases) + tuple((aliases or {}).get(student.id, ()))
            for alias in extra:
                if _is_email(alias):
                    by_email[fold_email(alias)].add(student.id)
                elif name_key(alias):
                    by_alias[name_key(alias)].add(student.id)
        self._by_email = {k: tuple(sorted(v)) for k, v in by_email.items()}
        self._by_alias = {k: tuple(sorted(v)) for k, v in by_alias.items()}
        self._by_name = {k: tuple(sorted(v)) for k, v in by_name.items()}
        # Fuzzy choices: every full name and display-name alias, with its student.
        choices = [(k, sid) for k, ids in self._by_name.items() for sid in ids]
        choices += [(k, sid) for k, ids in self._by_alias.items() for sid in ids]
        self._fuzzy_keys = [k for k, _ in choices]
        self._fuzzy_ids = [sid for _, sid in choices]

    def __len__(self) -> int:
        return len(self.student_ids)

    def by_email(self, email: str) -> tuple[str, ...]:
        """Student ids whose e-mail (or e-mail alias) is ``email``."""
        key = fold_email(email)
        return self._by_email.get(key, ()) if key else ()

    def by_name(self, name: str) -> tuple[str, ...]:
        """Student ids whose display-name alias or full name is ``name`` (word order ignored).

        An alias of one student that is another student's full name fits both: ambiguous.
        """
        key = name_key(name)
        if not key:
            return ()
        return tuple(sorted({*self._by_alias.get(key, ()), *self._by_name.get(key, ())}))

    def by_fuzzy(self, name: str, policy: Policy = DEFAULT_POLICY) -> tuple[str, ...]:
        """Student ids whose name is close to ``name`` (rapidfuzz ``token_sort_ratio``).

        Empty unless the best score reaches ``policy.fuzzy_min_score``. Every student scoring
        within ``policy.fuzzy_margin`` of the best is a candidate: one = a clear match,
        several = too close to tell apart (never guessed).
        """
        key = name_key(name)
        if not key or not self._fuzzy_keys:
            return ()
        floor = max(0.0, policy.fuzzy_min_score - policy.fuzzy_margin)
        hits = process.extract(
            key,
            self._fuzzy_keys,
            scorer=fuzz.token_sort_ratio,
            processor=None,
            limit=None,
            score_cutoff=floor,
        )
        best_per_student: dict[str, float] = {}
        for _choice, score, position in hits:
            sid = self._fuzzy_ids[position]
            best_per_student[sid] = max(score, best_per_student.get(sid, 0.0))
        if not best_per_student:
            return ()
        best = max(best_per_student.values())
        if best < policy.fuzzy_min_score:
            return ()
        margin = policy.fuzzy_margin
        close = (sid for sid, sc in best_per_student.items() if sc >= best or best - sc < margin)
        return tuple(sorted(close))

    def match(self, name: str, email: str = "", policy: Policy = DEFAULT_POLICY) -> tuple[str, ...]:
        """Candidate student ids for one person, step by step; the first step with a hit wins.

        Returns:
            Empty = unknown, one id = matched, several = ambiguous (namesakes).
        """
        candidates = self.by_email(email)
        if candidates:
            return candidates
        # "Jānis Bērziņš (Guest)", "Līga [ET-22]": the bracketed part is the platform's, not
        # the person's name; the name without it is tried after the name as written.
        names = dict.fromkeys((name, _BRACKETED.sub(" ", name)))
        for step in (self.by_name, lambda n: self.by_fuzzy(n, policy)):
            for variant in names:
                candidates = step(variant)
                if candidates:
                    return candidates
        return ()


def _as_index(
    roster: Sequence[Student] | RosterIndex, aliases: Mapping[str, Sequence[str]] | None
) -> RosterIndex:
    return roster if isinstance(roster, RosterIndex) else RosterIndex(roster, aliases)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MatchResult:
    """How the participants of one meeting map to a roster.

    Attributes:
        matched: student id -> that student's participant rows (several when they rejoined
            or used two devices).
        ambiguous: (participant, candidate student ids) for every row that could be several
            students; also the rows of a student named as a candidate elsewhere (then with
            that student's id alone), so that student is not judged automatically.
        unmatched: rows that fit nobody in the roster (guests, unknown names).
        host: the teacher's own rows.
    """

    matched: Mapping[str, tuple[Participant, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    ambiguous: tuple[tuple[Participant, tuple[str, ...]], ...] = ()
    unmatched: tuple[Participant, ...] = ()
    host: tuple[Participant, ...] = ()

    @property
    def ambiguous_students(self) -> frozenset[str]:
        """Every student id named as a candidate of an ambiguous row (never auto-marked)."""
        return frozenset(sid for _, ids in self.ambiguous for sid in ids)


def _is_host(participant: Participant, host: Teacher | None) -> bool:
    if host is None:
        return False
    host_email = fold_email(host.email)
    if host_email and fold_email(participant.email) == host_email:
        return True
    return bool(name_key(host.name)) and name_key(participant.name) == name_key(host.name)


def match_participants(
    participants: Sequence[Participant],
    roster: Sequence[Student] | RosterIndex,
    host: Teacher | None,
    policy: Policy = DEFAULT_POLICY,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> MatchResult:
    """Sort a meeting's participant rows into students, ambiguous, unmatched and host.

    Args:
        participants: rows as the platform reports them.
        roster: the students who may be present, or a prebuilt ``RosterIndex``.
        host: the teacher who runs the lesson (recognised by e-mail or by folded name, unless
            the row's e-mail is a student's).
        policy: fuzzy-matching thresholds.
        aliases: extra names per student id (ignored when ``roster`` is an index).

    Returns:
        The ``MatchResult``. A student named as a candidate of any ambiguous row is not in
        ``matched``.
    """
    index = _as_index(roster, aliases)
    matched: dict[str, list[Participant]] = defaultdict(list)
    ambiguous: list[tuple[Participant, tuple[str, ...]]] = []
    unmatched: list[Participant] = []
    hosts: list[Participant] = []
    for participant in participants:
        by_email = index.by_email(participant.email)
        if not by_email and _is_host(participant, host):
            hosts.append(participant)
            continue
        candidates = by_email or index.match(participant.name, "", policy)
        if len(candidates) == 1:
            matched[candidates[0]].append(participant)
        elif candidates:
            ambiguous.append((participant, candidates))
        else:
            unmatched.append(participant)

    blocked = {sid for _, ids in ambiguous for sid in ids}
    for sid in sorted(blocked & matched.keys()):
        ambiguous.extend((participant, (sid,)) for participant in matched.pop(sid))
    return MatchResult(
        matched=MappingProxyType({sid: tuple(rows) for sid, rows in sorted(matched.items())}),
        ambiguous=tuple(ambiguous),
        unmatched=tuple(unmatched),
        host=tuple(hosts),
    )


def match_person(
    name: str,
    email: str,
    roster: Sequence[Student] | RosterIndex,
    policy: Policy = DEFAULT_POLICY,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> tuple[str, ...]:
    """Candidate student ids for one person (a chat line, an import row).

    Args:
        name: the display name as written.
        email: the e-mail address, or "".
        roster: the students, or a prebuilt ``RosterIndex`` (reuse it for many lookups).
        policy: fuzzy-matching thresholds.
        aliases: extra names per student id (ignored when ``roster`` is an index).

    Returns:
        Empty = nobody, one id = matched, several = ambiguous.
    """
    return _as_index(roster, aliases).match(name, email, policy)
