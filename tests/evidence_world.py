"""A small hand-built store for the evidence tests, with counts worked out by hand.

Campaign C000001 (landlines A1..A3 in block +8621600010, trunk TA):
  day 1, from A1: citizens 0..9; 0 talks 90 s (a live agent), 1..4 answer 12 s,
  5..7 ring unanswered, 8 is busy and 9 fails (never rang). Citizen 1 refuses A1
  at 10:30, citizen 20 refuses A1 too.
  day 2: A2 calls citizens 1 (refusal ignored), 2 and 10; A3 calls citizen 1
  (refusal ignored). -> 14 calls, 9 citizens reached, 2 refusals ignored.
Campaign C000002 (virtual B1, B2 on trunk TB): day 1 B1 calls citizens 20..23,
  day 2 B2 calls citizen 20 (who refused A1, not B: not an ignored refusal)
  -> 5 calls, 4 citizens reached, 0 ignored.
A legitimate number L1 also uses trunk TA (3 calls).
Complaints: K1 (names 华康口腔, C000001 by number), K2 (华康齿科: same business key,
C000001 by calls), K3 (美佳口腔, C000001 by business), K4 (百合积分: C000002 by number
1.0, C000001 by calls 0.2), K5 (no link).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

TZ = timezone(timedelta(hours=8))
D1 = datetime(2024, 7, 1, 10, 0, tzinfo=TZ)
D2 = datetime(2024, 7, 2, 14, 0, tzinfo=TZ)
A = ["+862160001000", "+862160001001", "+862160001002"]
B = ["+8617012340000", "+8617012340001"]
L1 = "+8613900000001"
CIT = [f"+86138{20000000 + i}" for i in range(40)]


def build(store) -> None:  # type: ignore[no-untyped-def]
    calls = []

    def call(caller, callee, trunk, t, reason, talk=0.0, ring=8.0):  # type: ignore[no-untyped-def]
        answered = reason in ("caller_hangup", "callee_hangup")
        end = t + timedelta(seconds=ring + talk)
        cid = f"X{len(calls) + 1:04d}"
        calls.append((cid, t, end, caller, callee, trunk, ring, answered, talk, reason))

    for i in range(10):
        t = D1 + timedelta(minutes=i)
        if i == 0:
            call(A[0], CIT[i], "TA", t, "callee_hangup", talk=90.0)
        elif i <= 4:
            call(A[0], CIT[i], "TA", t, "caller_hangup", talk=12.0)
        elif i <= 7:
            call(A[0], CIT[i], "TA", t, "no_answer", ring=25.0)
        elif i == 8:
            call(A[0], CIT[i], "TA", t, "busy", ring=0.0)
        else:
            call(A[0], CIT[i], "TA", t, "failed", ring=0.0)
    call(A[1], CIT[1], "TA", D2, "callee_hangup", talk=3.0)
    call(A[1], CIT[2], "TA", D2 + timedelta(minutes=1), "caller_hangup", talk=12.0)
    call(A[1], CIT[10], "TA", D2 + timedelta(minutes=2), "no_answer", ring=25.0)
    call(A[2], CIT[1], "TA", D2 + timedelta(hours=1), "rejected", ring=4.0)
    for i in range(20, 24):
        call(B[0], CIT[i], "TB", D1 + timedelta(hours=2, minutes=i), "caller_hangup", talk=15.0)
    call(B[1], CIT[20], "TB", D2 + timedelta(hours=3), "caller_hangup", talk=15.0)
    for i in range(30, 33):
        call(L1, CIT[i], "TA", D1 + timedelta(hours=4, minutes=i), "callee_hangup", talk=100.0)
    con = store.con
    con.executemany(
        "INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk, ring_seconds,"
        " answered, talk_seconds, end_reason) VALUES (?,?,?,?,?,?,?,?,?,?)",
        calls,
    )
    con.executemany(
        "INSERT INTO numbers (number, kind, carrier, area, block) VALUES (?,?,?,?,?)",
        [(n, "fixed_line", "", "Shanghai", "+8621600010") for n in A]
        + [(n, "virtual", "China Unicom", "", "+8617012340") for n in B]
        + [(L1, "mobile", "China Mobile", "", "+8613900000")],
    )
    con.executemany(
        "INSERT INTO campaigns (campaign_id, first_seen, last_seen, numbers, calls, score) "
        "VALUES (?,?,?,?,?,?)",
        [
            ("C000001", D1, D2 + timedelta(hours=1), 3, 14, 0.99),
            ("C000002", D1 + timedelta(hours=2), D2 + timedelta(hours=3), 2, 5, 0.97),
        ],
    )
    con.executemany(
        "INSERT INTO campaign_numbers VALUES (?,?,?,?,?,?)",
        [
            ("C000001", A[0], D1, D1 + timedelta(minutes=9), 10, "block"),
            ("C000001", A[1], D2, D2 + timedelta(minutes=2), 3, "block"),
            ("C000001", A[2], D2 + timedelta(hours=1), D2 + timedelta(hours=1), 1, "block"),
            ("C000002", B[0], D1 + timedelta(hours=2), D1 + timedelta(hours=3), 4, "block"),
            ("C000002", B[1], D2 + timedelta(hours=3), D2 + timedelta(hours=3), 1, "block"),
        ],
    )
    con.executemany(
        "INSERT INTO campaign_trunks VALUES (?,?,?,?)",
        [("C000001", "TA", 14, 1.0), ("C000002", "TB", 5, 1.0)],
    )
    con.executemany(
        "INSERT INTO refusals (time, callee, caller, source) VALUES (?,?,?,?)",
        [
            (D1 + timedelta(minutes=30), CIT[1], A[0], "agent"),
            (D1 + timedelta(minutes=31), CIT[20], A[0], "ivr"),
        ],
    )
    t = D2 + timedelta(hours=5)
    con.executemany(
        "INSERT INTO complaints (complaint_id, received_time, complainant, reported_numbers,"
        " text, channel) VALUES (?,?,?,?,?,?)",
        [
            (
                "K1",
                t,
                CIT[1],
                [A[1]],
                "说是华康口腔的，用021-60001001打的。我的电话13820000001。",
                "12345",
            ),
            ("K2", t, CIT[2], [], "华康齿科又打电话来问种植牙。", "12345"),
            ("K3", t, CIT[3], [], "美佳口腔的推销，说了不需要还打。", "12321"),
            ("K4", t, CIT[21], [B[0]], "百合积分问我要不要办积分落户。", "12345"),
            ("K5", t, CIT[35], [], "有人推销保险。", "app"),
        ],
    )
    con.executemany(
        "INSERT INTO complaint_facts (complaint_id, numbers, businesses, business_keys, category,"
        " refused_before, ai_voice) VALUES (?,?,?,?,?,?,?)",
        [
            ("K1", [A[1]], ["华康口腔"], ["华康/medical"], "dental_implants", False, False),
            ("K2", [], ["华康齿科"], ["华康/medical"], "dental_implants", False, False),
            ("K3", [], ["美佳口腔"], ["美佳/medical"], "dental_implants", True, False),
            ("K4", [B[0]], ["百合积分"], ["百合/agency"], "residence_points", False, False),
            ("K5", [], [], [], "insurance", False, False),
        ],
    )
    con.executemany(
        "INSERT INTO complaint_links VALUES (?,?,?,?,?)",
        [
            ("K1", "C000001", "number", 1.0, A[1]),
            ("K2", "C000001", "calls", 0.4, "1 call(s)"),
            ("K3", "C000001", "business", 0.5, "美佳/medical"),
            ("K4", "C000002", "number", 1.0, B[0]),
            ("K4", "C000001", "calls", 0.2, "1 call(s)"),
        ],
    )
