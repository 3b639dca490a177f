"""A small, known state for trying ``callradar serve`` (tests, benchmarks, docs).

:func:`seed_demo` writes two campaigns, their numbers and scores, a registered
organization and the numbering rows of a fresh store, as the batch stages
would have, so that ``Engine.from_store`` gives verdicts with known answers:

* ``C000001`` (score 0.96, prompt 18 s): ``+8621500000NN`` (NN = 01..20) -> block;
* ``C000002`` (score 0.70): ``+86170000000NN`` (NN = 01..05) -> label, or block
  for a callee who refused any number of C000002;
* ``+862160000000`` is registered (Shanghai Courier) -> allow;
* ``+8617000000077`` sits in C2's block but is not linked: the engine links it to
  C2 live (a provisional link) when it calls;
* anything else is an unknown number scored by the online scorer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

C1 = "C000001"
C2 = "C000002"
C1_NUMBERS = [f"+8621500000{i:02d}" for i in range(1, 21)]
C2_NUMBERS = [f"+86170000000{i:02d}" for i in range(1, 6)]
REGISTERED = "+862160000000"
C2_UNLINKED = "+8617000000077"  # in C2's allocation block, seen before, not linked


def seed_demo(store: Any) -> None:
    """Write the demo state into ``store`` (a fresh one: rows are inserted, not merged)."""
    day = date(2026, 1, 1)
    with store.transaction() as con:
        con.executemany(
            "INSERT INTO campaigns (campaign_id, numbers, calls, score, prompt_seconds) "
            "VALUES (?, ?, ?, ?, ?)",
            [(C1, len(C1_NUMBERS), 5000, 0.96, 18.0), (C2, len(C2_NUMBERS), 800, 0.70, None)],
        )
        rows = [(C1, n) for n in C1_NUMBERS] + [(C2, n) for n in C2_NUMBERS]
        con.executemany(
            "INSERT INTO campaign_numbers (campaign_id, number, calls, linked_by) "
            "VALUES (?, ?, 100, 'demo')",
            rows,
        )
        con.executemany(
            "INSERT INTO campaign_trunks (campaign_id, trunk, calls, share) VALUES (?, ?, ?, ?)",
            [(C1, "T17", 5000, 1.0), (C2, "T03", 800, 0.4)],
        )
        scores = [(n, day, 0.96, "demo: campaign C000001", "demo") for n in C1_NUMBERS]
        scores += [(n, day, 0.70, "demo: campaign C000002", "demo") for n in C2_NUMBERS]
        scores.append((REGISTERED, day, 0.6, "demo: high volume", "demo"))
        con.executemany("INSERT INTO number_scores VALUES (?, ?, ?, ?, ?, now())", scores)
        con.execute(
            "INSERT INTO registry (number, organization, category) "
            "VALUES (?, 'Shanghai Courier', 'courier')",
            [REGISTERED],
        )
        con.executemany(
            "INSERT INTO numbers (number, kind, area, block) VALUES (?, ?, ?, ?)",
            [(n, "fixed_line", "021", n[:-2]) for n in C1_NUMBERS]
            + [(n, "virtual", "", n[:-2]) for n in C2_NUMBERS]
            + [(REGISTERED, "fixed_line", "021", REGISTERED[:-2])]
            + [(C2_UNLINKED, "virtual", "", C2_UNLINKED[:-2])],
        )
        calls = [
            (f"demo-{i}-{j}", n, f"+861380{i:03d}{j:04d}", trunk)
            for i, (n, trunk) in enumerate(
                [(n, "T17") for n in C1_NUMBERS] + [(n, "T03") for n in C2_NUMBERS]
            )
            for j in range(3)
        ]
        con.executemany(
            "INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk, "
            "ring_seconds, answered, talk_seconds, end_reason) VALUES (?, "
            "TIMESTAMPTZ '2026-01-01 10:00:00+08', TIMESTAMPTZ '2026-01-01 10:00:30+08', "
            "?, ?, ?, 12, true, 18, 'caller_hangup')",
            calls,
        )
