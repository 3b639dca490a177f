"""A fast synthetic city in DuckDB SQL, for feature tests and benchmarks.

This is NOT the simulator (``callradar simulate``): it is a vectorized
generator that fills the store's input tables (``calls``, ``numbers``,
``complaints``, ``refusals``, ``registry``) with tens of millions of rows in
seconds, realistic enough to exercise the feature SQL and the learn/score
pipeline at scale:

* ordinary subscribers (``+86138...``) calling a small circle of contacts
  (so calls come back), with irregular gaps and human talk times;
* legitimate high-volume callers (couriers on mobiles, banks on 021
  landlines), half of them in the registry;
* outbound vendors, each with a block of rotating numbers (021 landlines, or
  170 virtual-operator numbers) on its own trunk: callees swept in ascending
  order at machine-regular gaps, a fixed ring-abandon time, a recorded prompt
  of fixed length (the caller hangs up at its end), short refusals and a
  live-agent mode; a new set of numbers every day.

Complaints and refusals are drawn from the calls (mostly about campaign
calls, with some noise about legitimate ones). ``synth_truth(number,
is_campaign, vendor)`` records which numbers are campaign numbers: for
evaluation only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callradar.store import Store

VENDORS = 8


def _u(expr: str, k: int, seed: int) -> str:
    """A deterministic uniform(0, 1) draw from ``expr`` (an integer) and stream ``k``."""
    return f"(hash({expr}, {k}, {seed}) % 1000003) / 1000003"


def generate_city(
    store: Store,
    rows: int,
    *,
    days: int = 1,
    start: str = "2026-11-23",
    seed: int = 0,
    campaign_share: float = 0.15,
    legit_share: float = 0.06,
    calls_per_campaign_number: int = 1500,
) -> dict[str, int]:
    """Append ``rows`` synthetic calls over ``days`` days starting ``start`` (local time).

    Returns row counts written per table. Deterministic for a given seed.
    """
    if rows <= 0 or days <= 0:
        raise ValueError("rows and days must be positive")
    n_sub = max(2000, rows // 4)
    if (n_sub - 1) * 8 >= 10**8:  # subscriber i is +86138 and 8 digits of i * 8
        raise ValueError("too many rows for the synthetic numbering (max 50M per call)")
    n_camp = int(rows * campaign_share)
    n_legit = int(rows * legit_share)
    n_ord = rows - n_camp - n_legit
    k_per_day = max(2, n_camp // (VENDORS * days * calls_per_campaign_number))
    k_total = k_per_day * VENDORS * days  # campaign numbers over all days
    n_legit_numbers = max(20, rows // 20000)
    tz = store.config.get("timezone")

    def sub(idx: str) -> str:
        return f"'+86138' || lpad(CAST(({idx}) * 8 AS VARCHAR), 8, '0')"

    def day0(day: str) -> str:
        return f"(TIMESTAMPTZ '{start} 00:00:00 {tz}' + to_days(CAST({day} AS INTEGER)))"

    s = seed
    # each subscriber calls a circle of 30 neighbours (so calls come back)
    contact = f"(ci + {n_sub} + CASE WHEN off < 15 THEN off - 15 ELSE off - 14 END) % {n_sub}"
    sql_ordinary = f"""
        SELECT 'S{s}-o' || r AS call_id, r,
               CAST(hash(r, 1, {s}) % {n_sub} AS BIGINT) AS ci,
               {_u("r", 2, s)} AS u1, {_u("r", 3, s)} AS u2, {_u("r", 4, s)} AS u3,
               {_u("r", 5, s)} AS u4, CAST(hash(r, 6, {s}) % 30 AS BIGINT) AS off
        FROM range({n_ord}) t(r)
    """
    ordinary = f"""
        SELECT call_id,
               {day0(f"r % {days}")} + to_seconds(CAST(7 * 3600 + u1 * 16 * 3600 AS BIGINT))
                   AS start_time,
               {sub("ci")} AS caller,
               {sub(contact)} AS callee,
               'T-MOB' || CAST(ci % 4 AS VARCHAR) AS trunk,
               CASE WHEN u2 < 0.7 THEN 2 + u3 * 15 ELSE 5 + u3 * 40 END AS ring_seconds,
               u2 < 0.7 AS answered,
               CASE WHEN u2 < 0.7 THEN 3 - ln(u4 + 0.000001) * 80 ELSE 0 END AS talk_seconds,
               CASE WHEN u2 >= 0.7 AND u3 < 0.2 THEN 'busy'
                    WHEN u2 >= 0.7 THEN 'no_answer'
                    WHEN u4 < 0.5 THEN 'caller_hangup' ELSE 'callee_hangup' END AS end_reason
        FROM ({sql_ordinary})
    """
    legit = f"""
        SELECT 'S{s}-l' || r AS call_id,
               {day0(f"r % {days}")} + to_seconds(CAST(8 * 3600 + u1 * 12 * 3600 AS BIGINT))
                   AS start_time,
               CASE WHEN li % 2 = 0 THEN '+86139' || lpad(CAST(li * 101 AS VARCHAR), 8, '0')
                    ELSE '+86216' || lpad(CAST(li * 13 AS VARCHAR), 7, '0') END AS caller,
               {sub(f"hash(r, 7, {s}) % {n_sub}")} AS callee,
               'T-MOB' || CAST(li % 4 AS VARCHAR) AS trunk,
               CASE WHEN u2 < 0.8 THEN 3 + u3 * 12 ELSE 20 + u3 * 25 END AS ring_seconds,
               u2 < 0.8 AS answered,
               CASE WHEN u2 < 0.8 THEN 15 + u4 * 100 ELSE 0 END AS talk_seconds,
               CASE WHEN u2 >= 0.8 THEN 'no_answer'
                    WHEN u4 < 0.6 THEN 'callee_hangup' ELSE 'caller_hangup' END AS end_reason
        FROM (SELECT r, CAST(hash(r, 8, {s}) % {n_legit_numbers} AS BIGINT) AS li,
                     {_u("r", 9, s)} AS u1, {_u("r", 10, s)} AS u2, {_u("r", 11, s)} AS u3,
                     {_u("r", 12, s)} AS u4
              FROM range({n_legit}) t(r))
    """
    per_number = max(1, n_camp // max(1, k_total))
    campaign = f"""
        SELECT 'S{s}-c' || r AS call_id,
               {day0("d")} + to_seconds(CAST(9 * 3600 + q * (39600 / {per_number})
                                             + u1 * 3 AS BIGINT)) AS start_time,
               CASE WHEN v % 3 = 2
                    THEN '+861700' || lpad(CAST(v AS VARCHAR), 3, '0')
                         || lpad(CAST(j AS VARCHAR), 4, '0')
                    ELSE '+862151' || lpad(CAST(v AS VARCHAR), 2, '0')
                         || lpad(CAST(j AS VARCHAR), 4, '0') END AS caller,
               {sub(f"(hash(v, j, 13, {s}) + q) % {n_sub}")} AS callee,
               CASE WHEN v = 7 THEN 'T-MOB1' ELSE 'T-VND' || CAST(v AS VARCHAR) END AS trunk,
               CASE WHEN u2 < 0.28 THEN 3 + u3 * 10 ELSE 20 + v + u3 * 0.6 END AS ring_seconds,
               u2 < 0.28 AS answered,
               CASE WHEN u2 >= 0.28 THEN 0
                    WHEN u4 < 0.70 THEN 9 + v + u3 * 0.8
                    WHEN u4 < 0.85 THEN 1 + u3 * 4
                    ELSE 40 + u3 * 200 END AS talk_seconds,
               CASE WHEN u2 >= 0.28 THEN 'no_answer'
                    WHEN u4 < 0.70 THEN 'caller_hangup' ELSE 'callee_hangup' END AS end_reason
        FROM (SELECT r, m // {k_per_day * days} AS v, m % {k_per_day * days} AS j,
                     (m % {k_per_day * days}) // {k_per_day} AS d,
                     r // {k_total} AS q,
                     {_u("r", 14, s)} AS u1, {_u("r", 15, s)} AS u2, {_u("r", 16, s)} AS u3,
                     {_u("r", 17, s)} AS u4
              FROM (SELECT r, r % {k_total} AS m FROM range({n_camp}) t(r)))
    """
    counts: dict[str, int] = {}
    con = store.con
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE synth_calls AS
        SELECT *, 'o' AS src FROM ({ordinary})
        UNION ALL SELECT *, 'l' FROM ({legit})
        UNION ALL SELECT *, 'c' FROM ({campaign})
        """
    )
    con.execute(
        """
        INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk, ring_seconds,
                           answered, talk_seconds, end_reason)
        SELECT call_id, start_time,
               start_time + to_microseconds(CAST((ring_seconds + talk_seconds) * 1e6 AS BIGINT)),
               caller, callee, trunk, ring_seconds, answered, talk_seconds, end_reason
        FROM synth_calls
        """
    )
    counts["calls"] = rows
    # numbers: every caller and callee, classified like the numbering plan would
    con.execute(
        """
        INSERT INTO numbers (number, kind, carrier, area, block)
        SELECT number,
               CASE WHEN number LIKE '+8621%' THEN 'fixed_line'
                    WHEN number LIKE '+86170%' THEN 'virtual' ELSE 'mobile' END,
               '', CASE WHEN number LIKE '+8621%' THEN '021' ELSE '' END,
               left(number, length(number) - 4)
        FROM (SELECT caller AS number FROM synth_calls UNION SELECT callee FROM synth_calls)
        WHERE number NOT IN (SELECT number FROM numbers)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE synth_truth AS
        SELECT caller AS number, bool_or(src = 'c') AS is_campaign,
               CASE WHEN bool_or(src = 'c') THEN left(caller, length(caller) - 4) ELSE '' END
                   AS vendor
        FROM synth_calls GROUP BY caller
        """
    )
    # complaints: ~2% of answered campaign calls, rare noise about others
    counts["complaints"] = con.execute(
        f"""
        INSERT INTO complaints (complaint_id, received_time, complainant, reported_numbers,
                                text, channel)
        SELECT 'SC{s}-' || call_id,
               end_time + to_seconds(CAST(600 + {_u("hash(call_id)", 18, s)} * 3000 AS BIGINT)),
               callee,
               CASE WHEN {_u("hash(call_id)", 19, s)} < 0.7 THEN [caller] ELSE [] END,
               '又接到机器人推销电话，种植牙广告', '12345'
        FROM calls
        WHERE call_id LIKE 'S{s}-%' AND answered AND (
              (call_id LIKE 'S{s}-c%' AND {_u("hash(call_id)", 20, s)} < 0.02)
           OR (call_id NOT LIKE 'S{s}-c%' AND {_u("hash(call_id)", 20, s)} < 0.0003))
        """
    ).fetchall()[0][0]
    counts["refusals"] = con.execute(
        f"""
        INSERT INTO refusals (time, callee, caller, source)
        SELECT end_time, callee, caller, 'agent'
        FROM calls
        WHERE call_id LIKE 'S{s}-%' AND answered AND (
              (call_id LIKE 'S{s}-c%' AND talk_seconds < 5 AND {_u("hash(call_id)", 21, s)} < 0.1)
           OR (call_id LIKE 'S{s}-l%' AND {_u("hash(call_id)", 21, s)} < 0.002))
        """
    ).fetchall()[0][0]
    counts["registry"] = con.execute(
        f"""
        INSERT INTO registry (number, organization, category)
        SELECT DISTINCT caller, 'Org ' || caller,
               CASE WHEN caller LIKE '+86139%' THEN 'courier' ELSE 'bank' END
        FROM synth_calls WHERE src = 'l' AND hash(caller, {s}) % 2 = 0
        """
    ).fetchall()[0][0]
    con.execute("DROP TABLE synth_calls")
    return counts
