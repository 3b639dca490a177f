"""Realism figures of a generated folder, computed with DuckDB over its files.

These read the ground truth and the manifest: they evaluate the simulator, and
must never feed anything that learns, scores or decides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from callradar.errors import BadRequestError

CITY_SCALE = 25_000_000


def _source(folder: Path, stem: str, fmt: str) -> str:
    pattern = str(folder / f"{stem}*.{fmt}").replace("'", "''")
    if fmt == "parquet":
        return f"read_parquet('{pattern}')"
    return f"read_csv('{pattern}', header=true, auto_detect=true)"


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    rows = _rows(con, sql)
    return rows[0] if rows else {}


def describe(folder: str | Path) -> dict[str, Any]:
    """Figures that compare a generated folder with what is known of the real campaigns."""
    folder = Path(folder)
    mpath = folder / "manifest.json"
    if not mpath.is_file():
        raise BadRequestError(f"{folder} has no manifest.json: not a simulate output folder")
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    fmt = manifest["format"]
    days = int(manifest["days"])
    subs = int(manifest["subscribers"])
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute(
        f"CREATE TEMP VIEW calls AS SELECT c.*, t.is_robocall, t.campaign, t.vendor, t.client, "
        f"t.caller_kind, t.in_registry FROM {_source(folder, 'cdr-', fmt)} c "
        f"JOIN {_source(folder, 'truth-', fmt)} t USING (call_id)"
    )
    con.execute(f"CREATE TEMP VIEW refusals AS SELECT * FROM {_source(folder, 'refusals-', fmt)}")
    con.execute(
        f"CREATE TEMP VIEW complaints AS SELECT * FROM {_source(folder, 'complaints-', fmt)}"
    )
    out: dict[str, Any] = {
        "scenario": manifest["scenario"],
        "seed": manifest["seed"],
        "days": days,
        "subscribers": subs,
    }
    totals = _one(
        con,
        "SELECT count(*) AS calls, count(*) FILTER (WHERE is_robocall) AS campaign_calls, "
        "count(DISTINCT call_id) AS distinct_call_ids FROM calls",
    )
    totals["calls_per_day"] = totals["calls"] / days
    totals["calls_per_subscriber_per_day"] = totals["calls"] / days / subs
    out["totals"] = totals
    # Per-vendor daily volume, and the same per subscriber scaled to a 25M city.
    vend = _rows(
        con,
        "SELECT vendor, count(*) / " + str(days) + " AS calls_per_day, "
        "count(DISTINCT caller) AS numbers, count(DISTINCT trunk) AS trunks, "
        "count(DISTINCT callee) AS citizens_reached "
        "FROM calls WHERE is_robocall GROUP BY vendor ORDER BY vendor",
    )
    for v in vend:
        v["per_subscriber"] = v["calls_per_day"] / subs
        v["at_city_scale"] = v["per_subscriber"] * CITY_SCALE
        v["calls_per_number"] = v["calls_per_day"] * days / max(1, v["numbers"])
    out["vendors"] = vend
    # How often a citizen gets such a call.
    out["citizens"] = _one(
        con,
        f"""
        WITH per AS (
            SELECT callee, count(*) AS n, count(DISTINCT start_time::DATE) AS call_days
            FROM calls WHERE is_robocall GROUP BY callee
        ), gaps AS (
            SELECT epoch(start_time - lag(start_time) OVER (PARTITION BY callee
                   ORDER BY start_time)) / 86400.0 AS gap
            FROM calls WHERE is_robocall
        )
        SELECT count(*) / {subs}.0 AS share_reached,
               avg(n) / {days} AS calls_per_reached_citizen_per_day,
               median({days} / n) AS median_days_per_call,
               (SELECT median(gap) FROM gaps WHERE gap IS NOT NULL) AS median_days_between_calls,
               avg((call_days >= 0.8 * {days})::INT) AS share_called_almost_daily
        FROM per
        """,
    )
    # Campaign numbers: how many are Shanghai landlines, virtual mobiles, others.
    out["numbers"] = _one(
        con,
        """
        SELECT count(*) AS campaign_numbers,
               avg((caller LIKE '+8621%')::INT) AS share_021_landline,
               avg((substr(caller, 4, 3) IN ('165','170','171','162','167'))::INT)
                   AS share_virtual_mobile
        FROM (SELECT DISTINCT caller FROM calls WHERE is_robocall)
        """,
    )
    # The talk-time spike at each campaign's prompt length.
    prompts = {c["campaign"]: c["prompt_seconds"] for c in manifest["campaigns"]}
    modes = _rows(
        con,
        """
        SELECT campaign, mode(round(talk_seconds * 2) / 2) AS talk_mode,
               count(*) AS answered
        FROM calls WHERE is_robocall AND answered AND end_reason = 'caller_hangup'
        GROUP BY campaign
        """,
    )
    near = 0
    for m in modes:
        m["prompt_seconds"] = prompts.get(m["campaign"])
        m["spike_at_prompt"] = (
            m["prompt_seconds"] is not None and abs(m["talk_mode"] - m["prompt_seconds"]) <= 0.5
        )
        near += int(m["spike_at_prompt"])
    con.execute("CREATE TEMP TABLE prompts (campaign VARCHAR, prompt DOUBLE)")
    if prompts:
        con.executemany("INSERT INTO prompts VALUES (?, ?)", list(prompts.items()))
    share_at = _one(
        con,
        "SELECT avg((abs(talk_seconds - p.prompt) <= 0.5)::INT) AS share_answered_at_prompt "
        "FROM calls JOIN prompts p USING (campaign) WHERE is_robocall AND answered",
    )
    out["prompt_spike"] = {
        "campaigns": len(modes),
        "campaigns_with_spike_at_prompt": near,
        **share_at,
        "per_campaign": sorted(modes, key=lambda r: r["campaign"]),
    }
    # Refusals: honoured at best by the vendor that heard them.
    out["refusals"] = _one(
        con,
        """
        WITH num AS (SELECT DISTINCT caller, vendor FROM calls WHERE is_robocall),
        r AS (
            SELECT row_number() OVER () AS rid, r.time, r.callee, r.source, num.vendor
            FROM refusals r JOIN num USING (caller)
        ),
        later AS (
            SELECT r.rid, c.vendor = r.vendor AS same
            FROM r JOIN calls c ON c.callee = r.callee AND c.is_robocall
                 AND c.start_time > r.time
        ),
        per AS (
            SELECT rid, count(*) FILTER (WHERE same) AS same_n,
                   count(*) FILTER (WHERE NOT same) AS other_n
            FROM later GROUP BY rid
        )
        SELECT (SELECT count(*) FROM refusals) AS refusals,
               (SELECT count(*) FROM r) AS refusals_of_campaign_numbers,
               coalesce(sum(other_n), 0) AS later_calls_from_other_vendors,
               coalesce(sum(same_n), 0) AS later_calls_from_same_vendor,
               count(*) FILTER (WHERE other_n > 0) / greatest(1, (SELECT count(*) FROM r))
                   AS share_refusers_called_again_by_other_vendors,
               count(*) FILTER (WHERE same_n > 0) / greatest(1, (SELECT count(*) FROM r))
                   AS share_refusers_called_again_by_same_vendor
        FROM per
        """,
    )
    out["refusals"]["by_source"] = {
        r["source"]: r["n"]
        for r in _rows(con, "SELECT source, count(*) AS n FROM refusals GROUP BY 1 ORDER BY 1")
    }
    # Legitimate callers, the hard negatives.
    out["caller_kinds"] = _rows(
        con,
        "SELECT caller_kind, count(*) AS calls, count(DISTINCT caller) AS numbers, "
        "avg(answered::INT) AS answer_rate, "
        "median(talk_seconds) FILTER (WHERE answered) AS median_talk, "
        "avg(in_registry::INT) AS share_calls_from_registered "
        "FROM calls GROUP BY 1 ORDER BY calls DESC",
    )
    stems = [c["client"] for c in manifest["campaigns"]]
    like = " OR ".join(f"contains(text, '{s[:2]}')" for s in stems) or "false"
    out["complaints"] = _one(
        con,
        f"""
        SELECT count(*) AS complaints,
               avg((reported_numbers <> '')::INT) AS share_with_reported_numbers,
               avg(({like})::INT) AS share_naming_a_business,
               avg((regexp_matches(text, '拒绝|不需要|别再打|不要再打'))::INT)
                   AS share_saying_refused,
               avg((regexp_matches(text, '拉黑|屏蔽|拦截'))::INT) AS share_blocking_useless,
               avg((regexp_matches(text, '机器|AI|录音'))::INT) AS share_robot_voice
        FROM complaints
        """,
    )
    con.close()
    return out


def summary_lines(fig: dict[str, Any]) -> list[tuple[str, str]]:
    """The headline figures as (label, value) rows for people."""
    rows = [
        ("scenario", f"{fig['scenario']} (seed {fig['seed']}, {fig['days']} days)"),
        ("subscribers", f"{fig['subscribers']:,}"),
        ("calls per day", f"{fig['totals']['calls_per_day']:,.0f}"),
        ("campaign calls", f"{fig['totals']['campaign_calls']:,}"),
    ]
    for v in fig["vendors"]:
        rows.append(
            (
                f"vendor {v['vendor']}",
                f"{v['calls_per_day']:,.0f}/day here, {v['at_city_scale']:,.0f}/day at 25M; "
                f"{v['numbers']} numbers, {v['trunks']} trunks",
            )
        )
    c = fig["citizens"]
    rows += [
        ("citizens reached", f"{c['share_reached']:.1%}"),
        ("median days per campaign call (reached citizens)", f"{c['median_days_per_call']:.2f}"),
        ("median days between campaign calls", f"{c['median_days_between_calls'] or 0:.2f}"),
        ("reached citizens called almost daily", f"{c['share_called_almost_daily']:.1%}"),
        ("campaign numbers on 021 landlines", f"{fig['numbers']['share_021_landline']:.1%}"),
        (
            "campaigns with a talk spike at the prompt",
            f"{fig['prompt_spike']['campaigns_with_spike_at_prompt']}"
            f" of {fig['prompt_spike']['campaigns']}",
        ),
    ]
    r = fig["refusals"]
    rows += [
        ("refusals", f"{r['refusals']:,} {r['by_source']}"),
        (
            "refusers called again by other vendors",
            f"{r['share_refusers_called_again_by_other_vendors']:.1%}",
        ),
        (
            "refusers called again by the same vendor",
            f"{r['share_refusers_called_again_by_same_vendor']:.1%}",
        ),
        ("complaints", f"{fig['complaints']['complaints']:,}"),
    ]
    return rows
