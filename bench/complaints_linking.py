"""Complaint -> campaign linking on a simulated city, with the true campaigns as a stand-in.

Usage (from the repository root)::

    uv run callradar simulate --scenario demo --days 7 --subscribers 60000 --out /tmp/sim
    uv run python bench/complaints_linking.py /tmp/sim

This isolates :func:`callradar.complaints.link_complaints` from the campaigns stage:
``campaign_numbers`` is filled from the simulator's truth (every caller number of each
true campaign), so the figures say how well complaints find *their* campaign when the
campaigns are right. Truth is used only to build that stand-in and to score; the linker
itself reads calls, complaints and campaign_numbers. A complaint's true campaign is the
campaign of the complainant's last answered robocall before the complaint (the simulator
files complaints after such a call); complaints with none are left out of the score.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from callradar.complaints import link_complaints
from callradar.config import Config
from callradar.numbering import normalize_one
from callradar.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sim", type=Path, help="folder written by `callradar simulate`")
    args = ap.parse_args()
    sim = args.sim
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "l.duckdb", Config()) as store:
        store.sql(
            f"""
            INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk,
                               ring_seconds, answered, talk_seconds, end_reason)
            SELECT call_id, start_time,
                   start_time
                       + to_microseconds(CAST((ring_seconds + talk_seconds) * 1e6 AS BIGINT)),
                   caller, callee, coalesce(trunk, ''), ring_seconds, answered, talk_seconds,
                   end_reason
            FROM read_parquet('{sim}/cdr-*.parquet')
            """
        )
        raw = store.sql(
            f"SELECT complaint_id, received_time, complainant, coalesce(reported_numbers, ''), "
            f"text, coalesce(channel, '') FROM read_parquet('{sim}/complaints-*.parquet')"
        ).fetchall()
        for cid, t, who, reported, text, channel in raw:
            nums = [normalize_one(p.strip()) for p in reported.split(";") if p.strip()]
            store.sql(
                "INSERT INTO complaints (complaint_id, received_time, complainant, "
                "reported_numbers, text, channel) VALUES (?, ?, ?, ?, ?, ?)",
                [cid, t, who, [n for n in nums if n], text, channel],
            )
        store.sql(f"CREATE TABLE truth AS SELECT * FROM read_parquet('{sim}/truth-*.parquet')")
        store.sql(
            "INSERT INTO campaigns (campaign_id) SELECT DISTINCT campaign FROM truth "
            "WHERE is_robocall"
        )
        store.sql(
            "INSERT INTO campaign_numbers (campaign_id, number) SELECT DISTINCT campaign, caller "
            "FROM truth WHERE is_robocall"
        )
        t0 = time.perf_counter()
        links = link_complaints(store)
        secs = time.perf_counter() - t0
        rows = store.sql(
            """
            WITH true_campaign AS (
                SELECT c.complaint_id, arg_max(t.campaign, k.start_time) AS campaign,
                       arg_max(t.client, k.start_time) AS client
                FROM complaints c
                JOIN calls k ON k.callee = c.complainant AND k.answered
                     AND k.start_time <= c.received_time
                JOIN truth t ON t.call_id = k.call_id AND t.is_robocall
                GROUP BY c.complaint_id
            )
            SELECT tc.complaint_id, tc.campaign, tc.client, b.campaign_id, b.via,
                   f.business_keys
            FROM true_campaign tc
            LEFT JOIN complaint_campaign b USING (complaint_id)
            LEFT JOIN complaint_facts f USING (complaint_id)
            """
        ).fetchall()
    n = len(rows)
    linked = [r for r in rows if r[3] is not None]
    right = [r for r in linked if r[3] == r[1]]
    by_via: dict[str, list[int]] = {}
    for r in linked:
        by_via.setdefault(r[4], [0, 0])
        by_via[r[4]][0] += 1
        by_via[r[4]][1] += r[3] == r[1]
    named = [r for r in rows if r[5]]
    # a business key names the true client when its stem occurs in the client's name
    biz_right = [r for r in named if any(k.rsplit("/", 1)[0] in (r[2] or "") for k in r[5])]
    print(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d %H:%M"),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "complaints_scored": n,
                "linked": len(linked),
                "linked_share": round(len(linked) / max(1, n), 4),
                "right_campaign_of_linked": round(len(right) / max(1, len(linked)), 4),
                "by_via": {v: {"linked": a, "right": b} for v, (a, b) in sorted(by_via.items())},
                "complaints_naming_a_business": len(named),
                "business_is_true_client": round(len(biz_right) / max(1, len(named)), 4),
                "links": links,
                "link_seconds": round(secs, 2),
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
