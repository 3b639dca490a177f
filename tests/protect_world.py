"""A small hand-built world in a real store, for the campaigns and protect tests.

Two campaigns: A (numbers +862160001000.. in block +8621600010, trunk TA, 12 s
prompt) and B (virtual +8617012340000.. in block +8617012340, trunk TB, 15 s
prompt); ordinary mobiles on a shared trunk TS; a registered bank number.
Scores are written as the detect stage would write them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

TZ = timezone(timedelta(hours=8))
DAY = datetime(2024, 7, 1, 9, 0, tzinfo=TZ)

A_NUMBERS = [f"+86216000{1000 + i}" for i in range(6)]
B_NUMBERS = [f"+86170123{40000 + i}" for i in range(4)]
LEGIT = [f"+86139{10000000 + i}" for i in range(5)]
BANK = "+862195588000"
CITIZENS = [f"+86138{20000000 + i}" for i in range(200)]


def build(store) -> None:  # type: ignore[no-untyped-def]
    rows = []
    n = 0

    def add(caller, callee, trunk, t, answered, talk):  # type: ignore[no-untyped-def]
        nonlocal n
        n += 1
        ring = 8.0 if answered else 25.0
        end = t + timedelta(seconds=ring + talk)
        reason = "caller_hangup" if answered else "no_answer"
        rows.append((f"c{n}", t, end, caller, callee, trunk, ring, answered, talk, reason))

    t = DAY
    for k, num in enumerate(A_NUMBERS):
        for j in range(30):
            callee = CITIZENS[(k * 30 + j) % len(CITIZENS)]
            add(num, callee, "TA", t + timedelta(seconds=40 * (k * 30 + j)), j % 3 == 0, 12.0)
    for k, num in enumerate(B_NUMBERS):
        for j in range(30):
            callee = CITIZENS[(k * 30 + j + 7) % len(CITIZENS)]
            add(num, callee, "TB", t + timedelta(seconds=45 * (k * 30 + j)), j % 3 == 0, 15.0)
    for k, num in enumerate(LEGIT):
        for j in range(4):
            callee = CITIZENS[(k + j * 11) % len(CITIZENS)]
            add(num, callee, "TS", t + timedelta(minutes=30 * j + k), True, 60.0 + j)
            add(callee, num, "TS", t + timedelta(minutes=30 * j + k + 5), True, 30.0)
    for j in range(10):
        add(BANK, CITIZENS[j], "TS", t + timedelta(minutes=j), True, 20.0)
    store.con.executemany(
        "INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk, ring_seconds,"
        " answered, talk_seconds, end_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    numbers = (
        [(x, "fixed_line", "", "Shanghai", x[:-2]) for x in [*A_NUMBERS, BANK]]
        + [(x, "virtual", "", "", x[:-4]) for x in B_NUMBERS]
        + [(x, "mobile", "", "", x[:-4]) for x in LEGIT + CITIZENS]
    )
    store.con.executemany(
        "INSERT INTO numbers (number, kind, carrier, area, block) VALUES (?, ?, ?, ?, ?)", numbers
    )
    store.con.execute("INSERT INTO registry VALUES (?, 'Example Bank', 'bank', NULL)", [BANK])
    scores = [(x, 0.97, "many calls to distinct numbers") for x in A_NUMBERS + B_NUMBERS]
    scores += [(x, 0.02, "called back") for x in LEGIT + CITIZENS]
    scores += [(BANK, 0.3, "recorded voice")]
    store.con.executemany(
        "INSERT INTO number_scores (number, day, score, reasons, model) "
        "VALUES (?, DATE '2024-07-01', ?, ?, 'test')",
        scores,
    )
