"""Dossier assembly: what the store shows about each campaign, as plain dicts.

Everything here is DuckDB SQL over the store's tables (``campaigns``,
``campaign_numbers``, ``campaign_trunks``, ``numbers``, ``calls``, ``refusals``,
``complaints``, ``complaint_facts`` and the ``complaint_campaign`` view); no
Python loop runs over call rows. Nothing here reads simulator truth.

Definitions (the dossier pages repeat them):

* a campaign's calls are the calls whose caller is one of its numbers;
* a citizen is *reached* when the phone rang: the call was answered, or it ended
  ``no_answer`` / ``rejected`` / ``*_hangup`` after ringing (``busy`` and
  ``failed`` attempts never rang);
* a *refusal ignored* is a call placed to a citizen after that citizen refused
  any number of the campaign (the earliest such refusal counts);
* a complaint counts for the campaign it is most strongly linked to (the
  complaints stage's ``complaint_campaign`` view), above
  ``evidence.min_link_weight``; a business counts the complaints naming it,
  variants grouped by the complaints stage's business key.

``reveal`` (the regulator role) shows citizens' and campaigns' numbers in full;
otherwise both are pseudonymized (:class:`callradar.privacy.Pseudonymizer`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from callradar.config import Config
from callradar.errors import NotFoundError
from callradar.privacy import Pseudonymizer

RANG = "(answered OR (end_reason NOT IN ('busy', 'failed') AND ring_seconds > 0))"

AUTHORITIES = {
    "telecom": "Telecom regulator (通信管理局): the lines and who provided them",
    "market": "Market regulation (市场监督管理局): the businesses buying the leads",
    "privacy": "Personal-information protection (网信办, PIPL): the sale of leads and "
    "ignored refusals",
}

LINE_PROVIDER_NOTE = (
    "What the call records can show: the ingress trunk each call entered by (the "
    "interconnect partner or reseller that handed it over), the numbers presented and "
    "their allocation blocks (consecutive numbers leased together), and, for mobile and "
    "virtual-operator ranges, the operator that holds the range. What they cannot show: "
    "which reseller leased a 021 landline block to whom, or who the calling company is; "
    "for landlines the block and the trunk are what identify the line provider, and the "
    "lease contract must be requested from the trunk's owner."
)


@dataclass
class View:
    """A read of the store for one reader: connection, settings, privacy."""

    con: Any  # a DuckDB connection or cursor
    config: Config
    pseudo: Pseudonymizer
    reveal: bool = False
    prepared: bool = False  # :func:`prepare` made the temp tables below on ``con``

    def campaign_calls(self) -> str:
        return (
            "SELECT * FROM ev_campaign_calls WHERE campaign_id IN (SELECT campaign_id FROM cn)"
            if self.prepared
            else "SELECT cn.campaign_id, c.* FROM calls c JOIN cn ON c.caller = cn.number"
        )

    def trunk_totals(self) -> str:
        return (
            "SELECT * FROM ev_trunk_totals WHERE trunk IN (SELECT trunk FROM t)"
            if self.prepared
            else "SELECT trunk, count(*) AS all_calls, count(DISTINCT caller) AS all_numbers "
            "FROM calls WHERE trunk IN (SELECT trunk FROM t) GROUP BY 1"
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(str(self.config.get("timezone")))

    def num(self, number: str | None) -> str:
        """A number as this reader may see it."""
        return (number or "") if self.reveal else self.pseudo(number)

    def num_sql(self, column: str) -> str:
        return column if self.reveal else self.pseudo.sql_expr(column)

    def time(self, ts: datetime | None) -> str | None:
        return None if ts is None else ts.astimezone(self.tz).isoformat(timespec="seconds")

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def text(self, text: str) -> str:
        """Complaint text as this reader may see it: long digit runs masked unless revealed."""
        return text if self.reveal else _DIGITS.sub("[号码]", text)


_DIGITS = re.compile(r"\+?\d[\d\- ]{5,}\d")


def prepare(view: View) -> View:
    """Materialize every campaign's calls and the trunk totals once (temp tables on
    ``view.con``), so that writing many dossiers scans ``calls`` twice, not per campaign."""
    view.con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ev_campaign_calls AS
        SELECT cn.campaign_id, c.* FROM calls c
        JOIN (SELECT DISTINCT campaign_id, number FROM campaign_numbers) cn
            ON c.caller = cn.number;
        CREATE OR REPLACE TEMP TABLE ev_trunk_totals AS
        SELECT trunk, count(*) AS all_calls, count(DISTINCT caller) AS all_numbers
        FROM calls WHERE trunk IN (SELECT DISTINCT trunk FROM ev_campaign_calls) GROUP BY 1;
        """
    )
    view.prepared = True
    return view


def release(view: View) -> None:
    """Drop what :func:`prepare` made."""
    if view.prepared:
        view.con.execute(
            "DROP TABLE IF EXISTS ev_campaign_calls; DROP TABLE IF EXISTS ev_trunk_totals"
        )
        view.prepared = False


def _campaign_calls(view: View, where: str = "") -> str:
    """CTEs ``cn`` (campaign numbers), ``cc`` (campaign calls), ``firstref``."""
    return f"""
        cn AS (SELECT DISTINCT campaign_id, number FROM campaign_numbers {where}),
        cc AS ({view.campaign_calls()}),
        firstref AS (
            SELECT cn.campaign_id, r.callee, min(r.time) AS refused_at
            FROM refusals r JOIN cn ON r.caller = cn.number GROUP BY ALL
        )"""


def _complaints_cte(view: View, where: str = "") -> str:
    w = float(view.config.get("evidence.min_link_weight"))
    return f"""
        lc AS (
            SELECT k.complaint_id, k.campaign_id, k.weight, k.via
            FROM complaint_campaign k WHERE k.weight > {w} {where}
        )"""


def summaries(view: View) -> list[dict[str, Any]]:
    """Every campaign in the shape of data-contracts.md section 7, most harmful first."""
    rw = float(view.config.get("evidence.harm_refusal_weight"))
    kw = float(view.config.get("evidence.harm_complaint_weight"))
    base = view.rows(
        f"""
        WITH {_campaign_calls(view)}, {_complaints_cte(view)},
        vol AS (
            SELECT campaign_id, count(*) AS calls,
                   count(DISTINCT callee) FILTER (WHERE {RANG}) AS reached,
                   min(start_time) AS t0, max(start_time) AS t1
            FROM cc GROUP BY 1
        ),
        ign AS (
            SELECT cc.campaign_id, count(*) AS n FROM cc
            JOIN firstref f ON f.campaign_id = cc.campaign_id AND f.callee = cc.callee
                AND cc.start_time > f.refused_at
            GROUP BY 1
        ),
        com AS (SELECT campaign_id, count(DISTINCT complaint_id) AS n FROM lc GROUP BY 1)
        SELECT c.campaign_id,
               coalesce(vol.calls, 0) AS calls,
               coalesce(vol.reached, 0) AS citizens_reached,
               coalesce(c.first_seen, vol.t0) AS first_seen,
               coalesce(c.last_seen, vol.t1) AS last_seen,
               coalesce(ign.n, 0) AS refusals_ignored,
               coalesce(com.n, 0) AS complaints,
               coalesce(vol.reached, 0) + {rw} * coalesce(ign.n, 0)
                   + {kw} * coalesce(com.n, 0) AS harm
        FROM campaigns c
        LEFT JOIN vol USING (campaign_id)
        LEFT JOIN ign USING (campaign_id)
        LEFT JOIN com USING (campaign_id)
        ORDER BY harm DESC, calls DESC, campaign_id
        """
    )
    numbers: dict[str, list[str]] = {}
    for r in view.rows(
        f"SELECT campaign_id, list({view.num_sql('number')} ORDER BY first_seen, number) AS ns "
        "FROM campaign_numbers GROUP BY 1"
    ):
        numbers[r["campaign_id"]] = list(r["ns"])
    trunks: dict[str, list[str]] = {}
    for r in view.rows(
        "SELECT campaign_id, list(trunk ORDER BY calls DESC, trunk) AS ts FROM campaign_trunks "
        "WHERE trunk <> '' GROUP BY 1"
    ):
        trunks[r["campaign_id"]] = list(r["ts"])
    biz = businesses(view)
    out = []
    for r in base:
        cid = r["campaign_id"]
        out.append(
            {
                "campaign_id": cid,
                "numbers": numbers.get(cid, []),
                "calls": int(r["calls"]),
                "citizens_reached": int(r["citizens_reached"]),
                "trunks": trunks.get(cid, []),
                "first_seen": view.time(r["first_seen"]),
                "last_seen": view.time(r["last_seen"]),
                "refusals_ignored": int(r["refusals_ignored"]),
                "complaints": int(r["complaints"]),
                "businesses": [
                    {"name": b["name"], "complaints": b["complaints"]} for b in biz.get(cid, [])
                ],
            }
        )
    return out


def businesses(view: View, campaign_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per campaign: businesses named in its complaints, most complained-of first."""
    where = "AND k.campaign_id = ?" if campaign_id else ""
    rows = view.rows(
        f"""
        WITH {_complaints_cte(view, where)},
        named AS (
            SELECT lc.campaign_id, lc.complaint_id,
                   unnest(f.businesses) AS name, unnest(f.business_keys) AS key
            FROM lc JOIN complaint_facts f USING (complaint_id)
        )
        SELECT campaign_id, coalesce(nullif(key, ''), name) AS key, list(name) AS names,
               count(DISTINCT complaint_id) AS complaints,
               list(DISTINCT complaint_id ORDER BY complaint_id) AS complaint_ids
        FROM named GROUP BY 1, 2
        ORDER BY campaign_id, complaints DESC, key
        """,
        [campaign_id] if campaign_id else [],
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        # the surface form most complaints use (ties: the first in code-point order)
        forms = sorted(Counter(r["names"]).items(), key=lambda kv: (-kv[1], kv[0]))
        out.setdefault(r["campaign_id"], []).append(
            {
                "name": forms[0][0],
                "variants": [f for f, _ in forms],
                "key": r["key"],
                "complaints": int(r["complaints"]),
                "complaint_ids": list(r["complaint_ids"]),
            }
        )
    for found in out.values():
        found.sort(key=lambda b: (-b["complaints"], b["name"]))
    return out


def campaign_ids(view: View) -> list[str]:
    return [r["campaign_id"] for r in view.rows("SELECT campaign_id FROM campaigns ORDER BY 1")]


def detail(view: View, campaign_id: str, summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything one campaign's dossier shows: tables, series, findings with evidence."""
    head = view.rows("SELECT * FROM campaigns WHERE campaign_id = ?", [campaign_id])
    if not head:
        raise NotFoundError(f"campaign {campaign_id!r} is not known", campaign_id=campaign_id)
    if summary is None:
        summary = next(s for s in summaries(view) if s["campaign_id"] == campaign_id)
    tz = str(view.config.get("timezone"))
    agent_s = float(view.config.get("evidence.agent_talk_seconds"))
    ex = int(view.config.get("evidence.examples"))
    p = [campaign_id]
    ctes = _campaign_calls(view, "WHERE campaign_id = ?")
    numbers = view.rows(
        f"""
        SELECT {view.num_sql("cn.number")} AS number, coalesce(n.kind, '') AS kind,
               coalesce(n.carrier, '') AS carrier, coalesce(n.area, '') AS area,
               {view.num_sql("coalesce(n.block, '')")} AS block,
               cn.first_seen, cn.last_seen, cn.calls, cn.linked_by
        FROM campaign_numbers cn LEFT JOIN numbers n USING (number)
        WHERE cn.campaign_id = ? ORDER BY cn.first_seen, cn.number
        """,
        p,
    )
    for r in numbers:
        r["first_seen"], r["last_seen"] = view.time(r["first_seen"]), view.time(r["last_seen"])
    blocks = view.rows(
        f"""
        SELECT {view.num_sql("coalesce(n.block, '')")} AS block,
               string_agg(DISTINCT coalesce(n.kind, ''), ',') AS kind,
               string_agg(DISTINCT nullif(n.carrier, ''), ',') AS carrier,
               string_agg(DISTINCT nullif(n.area, ''), ',') AS area,
               count(*) AS numbers, sum(cn.calls) AS calls
        FROM campaign_numbers cn LEFT JOIN numbers n USING (number)
        WHERE cn.campaign_id = ? GROUP BY coalesce(n.block, '') ORDER BY calls DESC, block
        """,
        p,
    )
    trunks = view.rows(
        f"""
        WITH {ctes},
        t AS (SELECT trunk, count(*) AS calls, count(DISTINCT caller) AS numbers,
                     min(start_time) AS first_call, max(start_time) AS last_call
              FROM cc GROUP BY 1),
        allt AS ({view.trunk_totals()})
        SELECT t.trunk, t.calls, round(t.calls / sum(t.calls) OVER (), 4) AS share, t.numbers,
               allt.all_calls AS trunk_calls_all, allt.all_numbers AS trunk_numbers_all,
               t.first_call, t.last_call
        FROM t JOIN allt USING (trunk) ORDER BY t.calls DESC, t.trunk
        """,
        p,
    )
    for r in trunks:
        r["first_call"], r["last_call"] = view.time(r["first_call"]), view.time(r["last_call"])
    by_day = view.rows(
        f"""
        WITH {ctes}
        SELECT strftime(timezone('{tz}', start_time), '%Y-%m-%d') AS day, count(*) AS calls,
               count(*) FILTER (WHERE answered) AS answered,
               count(DISTINCT callee) FILTER (WHERE {RANG}) AS reached
        FROM cc GROUP BY 1 ORDER BY 1
        """,
        p,
    )
    by_hour = view.rows(
        f"""
        WITH {ctes}, h AS (SELECT range AS hour FROM range(24))
        SELECT h.hour, count(cc.call_id) AS calls,
               count(cc.call_id) FILTER (WHERE cc.answered) AS answered
        FROM h LEFT JOIN cc ON hour(timezone('{tz}', cc.start_time)) = h.hour
        GROUP BY 1 ORDER BY 1
        """,
        p,
    )
    reach = view.rows(
        f"""
        WITH {ctes}
        SELECT count(*) AS calls, count(*) FILTER (WHERE {RANG}) AS rang,
               count(*) FILTER (WHERE answered) AS answered,
               count(*) FILTER (WHERE answered AND talk_seconds >= {agent_s}) AS agent_calls,
               count(DISTINCT callee) AS citizens_called,
               count(DISTINCT callee) FILTER (WHERE {RANG}) AS citizens_reached,
               count(DISTINCT callee) FILTER (WHERE answered) AS citizens_answered,
               count(DISTINCT callee) FILTER (WHERE answered AND talk_seconds >= {agent_s})
                   AS citizens_to_agent
        FROM cc
        """,
        p,
    )[0]
    agent_examples = view.rows(
        f"""
        WITH {ctes}
        SELECT call_id FROM cc WHERE answered AND talk_seconds >= {agent_s}
        ORDER BY start_time LIMIT {ex}
        """,
        p,
    )
    reach_examples = view.rows(
        f"WITH {ctes} SELECT call_id FROM cc WHERE {RANG} ORDER BY start_time LIMIT {ex}", p
    )
    ignored = view.rows(
        f"""
        WITH {ctes},
        ref AS (
            SELECT cn.campaign_id, r.callee, r.time, r.caller, r.source,
                   row_number() OVER (PARTITION BY r.callee ORDER BY r.time) AS k
            FROM refusals r JOIN cn ON r.caller = cn.number
        )
        SELECT cc.call_id, cc.start_time, {view.num_sql("cc.callee")} AS callee,
               {view.num_sql("cc.caller")} AS caller, cc.trunk, cc.answered,
               ref.time AS refused_at, {view.num_sql("ref.caller")} AS refused_number,
               ref.source AS refusal_source,
               cc.caller <> ref.caller AS other_number
        FROM cc JOIN ref ON ref.callee = cc.callee AND ref.k = 1 AND cc.start_time > ref.time
        ORDER BY cc.start_time, cc.call_id
        """,
        p,
    )
    for r in ignored:
        r["start_time"], r["refused_at"] = view.time(r["start_time"]), view.time(r["refused_at"])
    w = float(view.config.get("evidence.min_link_weight"))
    complaints = view.rows(
        f"""
        SELECT k.complaint_id, c.received_time, {view.num_sql("c.complainant")} AS complainant,
               coalesce(f.category, '') AS category,
               array_to_string(coalesce(f.businesses, []), ';') AS businesses,
               coalesce(f.refused_before, false) AS refused_before,
               coalesce(f.ai_voice, false) AS ai_voice,
               k.via, round(k.weight, 3) AS weight, c.text, c.channel
        FROM complaint_campaign k JOIN complaints c USING (complaint_id)
        LEFT JOIN complaint_facts f USING (complaint_id)
        WHERE k.campaign_id = ? AND k.weight > {w}
        ORDER BY c.received_time, k.complaint_id
        """,
        p,
    )
    for r in complaints:
        r["received_time"] = view.time(r["received_time"])
        r["text"] = view.text(r["text"])
    biz = businesses(view, campaign_id).get(campaign_id, [])
    d = {
        "summary": summary,
        "campaign": {
            "campaign_id": campaign_id,
            "score": float(head[0]["score"] or 0.0),
            "prompt_seconds": head[0]["prompt_seconds"],
        },
        "numbers": numbers,
        "blocks": blocks,
        "trunks": trunks,
        "volume_by_day": by_day,
        "volume_by_hour": by_hour,
        "reach": reach,
        "refusals_ignored": ignored,
        "complaints": complaints,
        "businesses": biz,
        "line_provider_note": LINE_PROVIDER_NOTE,
        "agent_talk_seconds": agent_s,
    }
    d["findings"] = findings(d, [r["call_id"] for r in agent_examples], reach_examples, ex)
    return d


def findings(
    d: dict[str, Any], agent_ids: list[str], reach_rows: list[dict[str, Any]], ex: int
) -> list[dict[str, Any]]:
    """The findings of one dossier, each with its authority and its evidence chain."""
    out: list[dict[str, Any]] = []
    s, reach = d["summary"], d["reach"]
    trunks = ", ".join(f"{t['trunk']} ({t['share']:.0%})" for t in d["trunks"][:5]) or "unknown"
    out.append(
        {
            "authority": "telecom",
            "title": "Lines used to place the calls",
            "text": (
                f"{len(d['numbers'])} caller numbers in {len(d['blocks'])} allocation block(s) "
                f"placed {s['calls']:,} calls, entering by trunk(s) {trunks}."
            ),
            "evidence": [
                f"{s['calls']:,} call records from the campaign's numbers",
                f"{len(d['trunks'])} ingress trunk(s); {len(d['blocks'])} block(s)",
            ],
            "examples": [r["call_id"] for r in reach_rows[:ex]],
        }
    )
    for b in d["businesses"]:
        out.append(
            {
                "authority": "market",
                "title": f"Business named to citizens: {b['name']}",
                "text": (
                    f"{b['complaints']} complaint(s) linked to this campaign name {b['name']} as "
                    "the business the caller promoted."
                ),
                "evidence": [f"{b['complaints']} complaint(s) naming {b['name']}"],
                "examples": b["complaint_ids"][:ex],
            }
        )
    refused = [c["complaint_id"] for c in d["complaints"] if c["refused_before"]]
    out.append(
        {
            "authority": "privacy",
            "title": "Leads taken and refusals ignored",
            "text": (
                f"{reach['citizens_to_agent']:,} citizen(s) talked {d['agent_talk_seconds']:.0f} s "
                f"or more (a live agent took over: the lead was taken) in "
                f"{reach['agent_calls']:,} call(s); {s['refusals_ignored']:,} call(s) were "
                f"placed to citizens after they had refused this campaign; "
                f"{len(refused)} complaint(s) say the citizen had refused before."
            ),
            "evidence": [
                f"{reach['agent_calls']:,} answered calls of {d['agent_talk_seconds']:.0f} s+",
                f"{s['refusals_ignored']:,} calls after a refusal of any campaign number",
                f"{len(refused)} complaint(s) stating an earlier refusal",
            ],
            "examples": agent_ids[:ex]
            + [r["call_id"] for r in d["refusals_ignored"][:ex]]
            + refused[:ex],
        }
    )
    return out


def who_called(view: View, number: str) -> list[dict[str, Any]]:
    """Campaigns a caller number belongs to (E.164 ``number``): batch-linked or linked live."""
    return view.rows(
        """
        WITH m AS (
            SELECT campaign_id, first_seen, last_seen, calls, linked_by
            FROM campaign_numbers WHERE number = ?
            UNION ALL
            SELECT campaign_id, linked_at, linked_at, 0, 'live (serve)' FROM serve_links
            WHERE number = ? AND campaign_id NOT IN
                (SELECT campaign_id FROM campaign_numbers WHERE number = ?)
        )
        SELECT m.campaign_id, m.first_seen, m.last_seen, m.calls, m.linked_by,
               coalesce(c.numbers, 0) AS campaign_numbers, coalesce(c.calls, 0) AS campaign_calls
        FROM m LEFT JOIN campaigns c USING (campaign_id) ORDER BY m.last_seen DESC
        """,
        [number, number, number],
    )


def complaint_list(view: View, limit: int = 500) -> list[dict[str, Any]]:
    """Stored complaints with facts and their campaign (newest first)."""
    rows = view.rows(
        f"""
        SELECT c.complaint_id, c.received_time, {view.num_sql("c.complainant")} AS complainant,
               coalesce(f.category, '') AS category,
               array_to_string(coalesce(f.businesses, []), ';') AS businesses,
               coalesce(k.campaign_id, '') AS campaign_id, coalesce(k.via, '') AS via,
               c.text
        FROM complaints c LEFT JOIN complaint_facts f USING (complaint_id)
        LEFT JOIN complaint_campaign k USING (complaint_id)
        ORDER BY c.received_time DESC, c.complaint_id LIMIT ?
        """,
        [limit],
    )
    for r in rows:
        r["received_time"] = view.time(r["received_time"])
        r["text"] = view.text(r["text"])
    return rows
