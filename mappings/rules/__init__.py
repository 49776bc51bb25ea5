"""The kārtība's rules, one module per concept, one short named function per point.

Every rule is pure: it takes the lesson, the school, the evidence, the notices, the
:class:`~mappings.policy.Policy` and the instant ``now`` it is judged at, and returns domain
values (verdicts, marks, skips, alerts) carrying the point numbers behind them. The top-level
entry points the jobs call live in :mod:`mappings.evaluate`.

Modules and the points they implement:

- :mod:`.effective` — 47 (in force from 2023-03-01)
- :mod:`.scope` — which lessons a check looks at (school year, recent days; 7, 8, 14.2, 16)
- :mod:`.alerts` — alert routing: who hears about what (6, 19, 22, 32, 33)
- :mod:`.verdicts` — the decision on one student, and whether an "n" follows (43)
- :mod:`.sync` — synchronous lessons (30, 13, 15, 19)
- :mod:`.asynchronous` — asynchronous lessons (31, 35, 42)
- :mod:`.notices` — absence notices and technical problems (20, 28, 39, 41, 42, 43)
- :mod:`.offline` — students without internet or devices (14.5)
- :mod:`.manual` — a person's mark or edit in the journal always wins (43)
- :mod:`.changes` — a lesson changed after kartiba wrote "n" on it (43, 33, 32)
- :mod:`.uzdots` — the "UZDOTS" diary entry (16)
- :mod:`.topic` — the lesson topic (14.2)
- :mod:`.quota` — at most 20 % remote hours (7)
- :mod:`.practice` — no remote qualification practice (8)
"""
