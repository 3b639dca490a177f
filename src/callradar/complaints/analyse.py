"""Stored complaints -> ``complaint_facts`` and ``complaint_links``.

:func:`analyse_complaints` runs :func:`callradar.complaints.extract.extract` over every
stored complaint not analysed yet, in two passes: the second gives complaints that
name no business by the suffix rule the gazetteer of business stems named (with a
suffix) by at least ``complaints.known_stem_min_complaints`` stored or new complaints.
:func:`link_complaints` then links complaints to
campaigns, all in SQL, in three ways (weights in 0..1, see the module docstring of
:mod:`callradar.complaints.schema` for the tables):

* ``number`` (weight 1.0): a number the text names, or one of its ``reported_numbers``,
  is in ``campaign_numbers``;
* ``calls``: the complainant (callee) got calls from campaign numbers in the
  ``complaints.link_window_hours`` before ``received_time``. Campaigns with an
  answered call are preferred: if any exist only they are kept, sharing weight 0.8;
  otherwise the campaigns with unanswered calls share weight 0.4. The share of each
  is proportional to ``exp(-age / complaints.link_recency_hours)``, age being the time
  from its last (answered) call to the complaint: people complain about the last call;
* ``business`` (only for complaints linked neither way): each business key it names
  is looked up among complaints already linked by number or calls; campaign ``c``
  gets ``0.5 * n_c / n`` where ``n_c`` of the ``n`` such complaints are linked to
  ``c`` (strongest campaign each), if ``n_c >= complaints.business_min_complaints``.

Links are recomputed from scratch on every call (campaign ids are stable, the
evidence may have grown), inside one transaction.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from callradar.complaints.extract import extract, known_stems
from callradar.config import Config
from callradar.errors import NotReadyError
from callradar.store import Store

_FACT_COLUMNS = (
    "complaint_id",
    "numbers",
    "businesses",
    "business_keys",
    "category",
    "refused_before",
    "ai_voice",
)

# One row per complaint_id even if the complaints table holds repeats.
_COMPLAINTS = """
    SELECT complaint_id, any_value(received_time) AS received_time,
           any_value(complainant) AS complainant,
           any_value(reported_numbers) AS reported_numbers
    FROM complaints GROUP BY complaint_id
"""


def analyse_complaints(store: Store, reanalyse: bool = False, config: Config | None = None) -> int:
    """Fill ``complaint_facts`` for complaints not yet analysed; return how many were added.

    ``reanalyse=True`` drops every stored fact first (after the dictionaries changed).
    Settings come from ``config``, else from the store's config.
    """
    cfg = config or store.config
    area = str(cfg.get("complaints.default_area_code"))
    region = str(cfg.get("default_region"))
    if reanalyse:
        store.sql("DELETE FROM complaint_facts")
    todo = store.sql(
        "SELECT c.complaint_id, any_value(c.text) FROM complaints c "
        "WHERE c.complaint_id NOT IN (SELECT complaint_id FROM complaint_facts) "
        "GROUP BY c.complaint_id ORDER BY c.complaint_id"
    ).fetchall()
    if not todo:
        return 0
    first = [extract(text or "", area_code=area, region=region) for _, text in todo]
    # Second pass: stems named with a suffix elsewhere name the business when written alone.
    known = known_from_store(store, cfg, extra=[k for f in first for k in f.business_keys])
    cols: dict[str, list[Any]] = {c: [] for c in _FACT_COLUMNS}
    for (complaint_id, text), facts in zip(todo, first, strict=True):
        if not facts.businesses and known:
            facts = extract(text or "", area_code=area, region=region, known=known)
        cols["complaint_id"].append(complaint_id)
        cols["numbers"].append(list(facts.numbers))
        cols["businesses"].append(list(facts.businesses))
        cols["business_keys"].append(list(facts.business_keys))
        cols["category"].append(facts.category)
        cols["refused_before"].append(facts.refused_before)
        cols["ai_voice"].append(facts.ai_voice)
    table = pa.table(
        {
            "complaint_id": pa.array(cols["complaint_id"], pa.string()),
            "numbers": pa.array(cols["numbers"], pa.list_(pa.string())),
            "businesses": pa.array(cols["businesses"], pa.list_(pa.string())),
            "business_keys": pa.array(cols["business_keys"], pa.list_(pa.string())),
            "category": pa.array(cols["category"], pa.string()),
            "refused_before": pa.array(cols["refused_before"], pa.bool_()),
            "ai_voice": pa.array(cols["ai_voice"], pa.bool_()),
        }
    )
    names = ", ".join(_FACT_COLUMNS)
    with store.transaction() as con:
        con.register("_complaint_facts_new", table)
        try:
            con.execute(
                f"INSERT INTO complaint_facts ({names}) SELECT {names} FROM _complaint_facts_new"
            )
        finally:
            con.unregister("_complaint_facts_new")
    return table.num_rows


def known_from_store(
    store: Store, config: Config | None = None, extra: list[str] | None = None
) -> dict[str, tuple[str, ...]]:
    """The business-stem gazetteer of the stored complaints (for ``extract(text, known=...)``).

    The live server and replay can pass it to :func:`callradar.complaints.extract` so a
    new complaint naming only "美华" gets the business other complaints named in full.
    """
    cfg = config or store.config
    stored = store.sql("SELECT unnest(business_keys) FROM complaint_facts").fetchall()
    return known_stems(
        [k for (k,) in stored] + list(extra or []),
        min_count=int(cfg.get("complaints.known_stem_min_complaints")),
    )


def link_complaints(store: Store, config: Config | None = None) -> int:
    """Recompute ``complaint_links``; return the number of links.

    Analyses any complaint not analysed yet first. Raises :class:`NotReadyError`
    when no campaign exists yet.
    """
    cfg = config or store.config
    has_campaigns = store.sql("SELECT count(*) FROM campaign_numbers").fetchone()[0]
    if not has_campaigns:
        raise NotReadyError(
            "no campaigns in the store yet: link campaigns before linking complaints"
        )
    analyse_complaints(store, config=cfg)
    hours = float(cfg.get("complaints.link_window_hours"))
    recency_hours = float(cfg.get("complaints.link_recency_hours"))
    min_support = int(cfg.get("complaints.business_min_complaints"))
    with store.transaction() as con:
        con.execute("DELETE FROM complaint_links")
        con.execute(
            f"""
            INSERT INTO complaint_links (complaint_id, campaign_id, via, weight, detail)
            WITH c AS ({_COMPLAINTS}),
            named AS (
                SELECT c.complaint_id,
                       unnest(list_distinct(list_concat(
                           coalesce(f.numbers, []::VARCHAR[]), c.reported_numbers))) AS number
                FROM c LEFT JOIN complaint_facts f USING (complaint_id)
            )
            SELECT n.complaint_id, cn.campaign_id, 'number', 1.0,
                   string_agg(DISTINCT n.number, ';' ORDER BY n.number)
            FROM named n JOIN campaign_numbers cn ON cn.number = n.number
            GROUP BY n.complaint_id, cn.campaign_id
            """
        )
        con.execute(
            f"""
            INSERT INTO complaint_links (complaint_id, campaign_id, via, weight, detail)
            WITH c AS ({_COMPLAINTS}),
            hits AS (
                SELECT c.complaint_id, cn.campaign_id, count(*) AS calls,
                       bool_or(k.answered) AS answered, max(k.start_time) AS last_call,
                       (epoch(any_value(c.received_time)) - epoch(coalesce(
                           max(k.start_time) FILTER (WHERE k.answered), max(k.start_time)
                       ))) / 3600.0 AS age_hours
                FROM c
                JOIN calls k
                  ON k.callee = c.complainant
                 AND k.start_time <= c.received_time
                 AND k.start_time >= c.received_time - to_microseconds(
                        CAST(? * 3600000000 AS BIGINT))
                JOIN campaign_numbers cn ON cn.number = k.caller
                GROUP BY c.complaint_id, cn.campaign_id
            ),
            ranked AS (
                SELECT *, bool_or(answered) OVER (PARTITION BY complaint_id) AS any_answered
                FROM hits
            ),
            kept AS (
                SELECT *, exp(-age_hours / ?) AS recency
                FROM ranked WHERE answered OR NOT any_answered
            )
            SELECT complaint_id, campaign_id, 'calls',
                   (CASE WHEN answered THEN 0.8 ELSE 0.4 END) * recency
                       / sum(recency) OVER (PARTITION BY complaint_id),
                   calls || ' call(s), last ' || strftime(last_call, '%Y-%m-%dT%H:%M:%S%z')
                   || CASE WHEN answered THEN ', answered' ELSE ', unanswered' END
            FROM kept
            """,
            [hours, max(1e-3, recency_hours)],
        )
        con.execute(
            """
            INSERT INTO complaint_links (complaint_id, campaign_id, via, weight, detail)
            WITH direct AS (
                SELECT complaint_id, campaign_id FROM (
                    SELECT complaint_id, campaign_id, row_number() OVER (
                        PARTITION BY complaint_id ORDER BY sum(weight) DESC, campaign_id) AS rk
                    FROM complaint_links GROUP BY complaint_id, campaign_id
                ) WHERE rk = 1
            ),
            keyed AS (
                SELECT complaint_id, unnest(business_keys) AS bkey FROM complaint_facts
            ),
            support AS (
                SELECT k.bkey, d.campaign_id, count(DISTINCT k.complaint_id) AS n_c,
                       sum(count(DISTINCT k.complaint_id)) OVER (PARTITION BY k.bkey) AS n
                FROM keyed k JOIN direct d USING (complaint_id)
                GROUP BY k.bkey, d.campaign_id
            ),
            orphans AS (
                SELECT * FROM keyed
                WHERE complaint_id NOT IN (SELECT complaint_id FROM direct)
            )
            SELECT o.complaint_id, s.campaign_id, 'business',
                   max(0.5 * s.n_c / s.n),
                   string_agg(DISTINCT o.bkey, ';' ORDER BY o.bkey)
            FROM orphans o JOIN support s USING (bkey)
            WHERE s.n_c >= ?
            GROUP BY o.complaint_id, s.campaign_id
            """,
            [min_support],
        )
        n = con.execute("SELECT count(*) FROM complaint_links").fetchone()
    return int(n[0]) if n else 0


def analyse_stage(store: Store, config: Config) -> dict[str, int]:
    """Pipeline stage ``complaints`` (see :mod:`callradar.pipeline`)."""
    return {"analysed": analyse_complaints(store, config=config)}


def link_stage(store: Store, config: Config) -> dict[str, Any]:
    """Pipeline stage ``complaint_links``: no campaigns yet means no links, not an error."""
    try:
        links = link_complaints(store, config=config)
    except NotReadyError:
        store.sql("DELETE FROM complaint_links")
        return {"links": 0, "note": "no campaigns yet"}
    linked = store.sql("SELECT count(*) FROM complaint_campaign").fetchone()
    return {"links": links, "complaints_linked": int(linked[0]) if linked else 0}


def list_complaints(
    store: Store, pseudonymize: bool = True, limit: int | None = None
) -> list[dict[str, Any]]:
    """Stored complaints with their facts and strongest campaign, newest first.

    The complainant's number is pseudonymized unless ``pseudonymize=False`` (regulator).
    Complaints not analysed yet have ``category`` None.
    """
    if pseudonymize:
        from callradar.privacy import Pseudonymizer

        who = Pseudonymizer.for_store(store).sql_expr("c.complainant")
    else:
        who = "c.complainant"
    sql = f"""
        WITH c AS (
            SELECT complaint_id, any_value(received_time) AS received_time,
                   any_value(complainant) AS complainant, any_value(channel) AS channel,
                   any_value(reported_numbers) AS reported_numbers
            FROM complaints GROUP BY complaint_id
        )
        SELECT c.complaint_id, c.received_time, {who} AS complainant, c.channel,
               c.reported_numbers, f.numbers, f.businesses, f.business_keys, f.category,
               f.refused_before, f.ai_voice, l.campaign_id, l.via, l.weight
        FROM c
        LEFT JOIN complaint_facts f USING (complaint_id)
        LEFT JOIN complaint_campaign l USING (complaint_id)
        ORDER BY c.received_time DESC, c.complaint_id
    """
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    cur = store.sql(sql)
    names = [d[0] for d in cur.description]
    out: list[dict[str, Any]] = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        rec["received_time"] = rec["received_time"].isoformat() if rec["received_time"] else None
        rec["link_via"] = rec.pop("via")
        rec["link_weight"] = rec.pop("weight")
        out.append(rec)
    return out
