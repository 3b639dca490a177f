"""Load the engine's knowledge from the store, vectorized in SQL."""

from __future__ import annotations

from typing import Any

from callradar.campaigns.unionfind import UnionFind
from callradar.config import Config
from callradar.protect.engine import Knowledge
from callradar.protect.online import OnlineScorer

ONLINE_MODEL = "online"


def _pairs(store: Any, sql: str) -> list[tuple[Any, ...]]:
    return store.sql(sql).fetchall()


def received_calls(store: Any, before_days: int | None = None) -> list[tuple[Any, ...]]:
    """Calls received by each number that also places calls (reciprocity); with
    ``before_days``, only calls older than that many days before the newest call."""
    cutoff = ""
    if before_days is not None:
        cutoff = (
            f"WHERE start_time <= (SELECT max(start_time) FROM calls) - INTERVAL {before_days} DAY"
        )
    return _pairs(
        store,
        f"""
        WITH c AS (SELECT caller, callee FROM calls {cutoff})
        SELECT callee, count(*) FROM c
        WHERE callee IN (SELECT DISTINCT caller FROM c) GROUP BY callee
        """,
    )


def callee_campaigns(
    store: Any, days: int, before_days: int | None = None
) -> dict[str, tuple[str, ...]]:
    """Per citizen, the campaigns that dialled them in the last ``days`` days of history
    (with ``before_days``, the ``days`` days before that many days before the newest
    call: what the call path knew at the start of a training window)."""
    end = "last.m" if before_days is None else f"last.m - INTERVAL {int(before_days)} DAY"
    rows = _pairs(
        store,
        f"""
        WITH last AS (SELECT max(start_time) AS m FROM calls)
        SELECT c.callee, list(DISTINCT cn.campaign_id)
        FROM calls c JOIN campaign_numbers cn ON cn.number = c.caller, last
        WHERE c.start_time > {end} - INTERVAL {int(days)} DAY AND c.start_time <= {end}
        GROUP BY c.callee
        """,
    )
    return {callee: tuple(campaigns) for callee, campaigns in rows}


def vendor_groups(campaign_lines: list[tuple[Any, ...]]) -> dict[str, str]:
    """Campaign -> vendor, from (campaign, line range) pairs: campaigns that share a
    landline or virtual range are one vendor's clients (connected components; the
    vendor is named by its smallest campaign id). Campaigns alone are left out."""
    uf = UnionFind()
    first_in: dict[str, str] = {}
    for campaign, line in campaign_lines:
        uf.union(campaign, first_in.setdefault(line, campaign))
    return {
        c: root
        for root, members in uf.groups(list(uf.parent)).items()
        if len(members) > 1
        for c in members
    }


def load_knowledge(store: Any, config: Config | None = None) -> Knowledge:
    k = Knowledge()
    k.registry = dict(
        _pairs(store, "SELECT number, any_value(organization) FROM registry GROUP BY 1")
    )
    for num, score, reasons in _pairs(
        store,
        "SELECT number, arg_max(score, day), arg_max(reasons, day) FROM number_scores GROUP BY 1",
    ):
        k.number_score[num] = float(score)
        k.number_reason[num] = reasons
    k.number_campaign = dict(_pairs(store, "SELECT number, campaign_id FROM campaign_numbers"))
    for cid, score, prompt in _pairs(
        store, "SELECT campaign_id, score, prompt_seconds FROM campaigns"
    ):
        k.campaign_score[cid] = float(score)
        if prompt is not None:
            k.campaign_prompt[cid] = float(prompt)
    for num, kind, block in _pairs(store, "SELECT number, kind, block FROM numbers"):
        k.kind_of[num] = kind
        k.block_of[num] = block
    # blocks and 1000-number ranges: caller numbers seen there, and campaign members
    # (campaigns sharing a landline or virtual range: one vendor's clients)
    vendor_lines: set[tuple[str, str]] = set()
    for block, rng, mobile, campaign, n in _pairs(
        store,
        """
        WITH callers AS (
            SELECT DISTINCT c.caller AS number, n.block,
                   CASE WHEN n.kind = 'fixed_line' THEN left(c.caller, length(c.caller) - 3)
                        ELSE n.block END AS rng,
                   n.kind = 'mobile' AS mobile
            FROM calls c JOIN numbers n ON n.number = c.caller
            WHERE n.block <> ''
        )
        SELECT block, rng, mobile, cn.campaign_id, count(*)
        FROM callers LEFT JOIN campaign_numbers cn USING (number)
        GROUP BY ALL
        """,
    ):
        k.block_seen[block] = k.block_seen.get(block, 0) + int(n)
        k.range_seen[rng] = k.range_seen.get(rng, 0) + int(n)
        if campaign is not None:
            for table, key in ((k.block_campaigns, block), (k.range_campaigns, rng)):
                dist = table.setdefault(key, {})
                dist[campaign] = dist.get(campaign, 0) + int(n)
            if not mobile:
                vendor_lines.add((campaign, rng))
    k.vendor_of = vendor_groups(sorted(vendor_lines))
    # trunks: calls seen, and calls placed by each campaign's numbers
    for trunk, campaign, n in _pairs(
        store,
        """
        SELECT c.trunk, cn.campaign_id, count(*)
        FROM calls c LEFT JOIN campaign_numbers cn ON cn.number = c.caller
        WHERE c.trunk <> '' GROUP BY ALL
        """,
    ):
        k.trunk_seen[trunk] = k.trunk_seen.get(trunk, 0) + int(n)
        if campaign is not None:
            dist = k.trunk_campaigns.setdefault(trunk, {})
            dist[campaign] = dist.get(campaign, 0) + int(n)
    k.callee_campaigns = callee_campaigns(
        store, int((config or store.config).get("protect.callee_memory_days"))
    )
    k.known_legit = {
        r[0]
        for r in _pairs(
            store,
            "SELECT number FROM number_scores GROUP BY number "
            "HAVING max(score) < 0.1 AND count(*) >= 1",
        )
    }
    k.received = dict(received_calls(store))
    for callee, caller in _pairs(
        store,
        """
        SELECT callee, caller FROM refusals
        UNION
        SELECT complainant, unnest(reported_numbers) FROM complaints
        """,
    ):
        k.refused_numbers.setdefault(callee, set()).add(caller)
        cid = k.number_campaign.get(caller)
        if cid:
            k.refused.setdefault(callee, set()).add(cid)
    return k


def load_scorer(store: Any) -> OnlineScorer:
    row = store.sql("SELECT blob FROM models WHERE name = ?", [ONLINE_MODEL]).fetchone()
    if row is None:
        return OnlineScorer.default()
    return OnlineScorer.from_json(bytes(row[0]).decode())


def save_scorer(store: Any, scorer: OnlineScorer, metrics: str = "{}") -> None:
    store.sql(
        "INSERT OR REPLACE INTO models (name, params, metrics, blob) VALUES (?, ?, ?, ?)",
        [ONLINE_MODEL, scorer.to_json(), metrics, scorer.to_json().encode()],
    )
