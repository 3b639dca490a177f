"""Dossier quality on the simulator's held-out days: are businesses attributed right?

Usage (from the repository root)::

    uv run python bench/eval_evidence.py [--days 7] [--holdout 2] [--subscribers 20000]
        [--seed 7] [--out DIR] [--json]

Protocol: simulate a city; ingest the history days (all but the last
``--holdout``) and learn on them (features, scorer fit, scores, complaint
analysis, campaign linking, complaint links); then ingest the held-out days'
call records, complaints and refusals, score them with the model fitted on
history (no refit), relink campaigns and complaints, and build the dossiers
(:func:`callradar.evidence.summaries` / :func:`callradar.evidence.businesses`).
Dossier building never reads truth; only this script does, to score:

* **attribution** (the goal, >= 95%): for every complaint received on a held-out
  day that a dossier counts, and every business the dossier takes from it, the
  attribution is right when a call from that dossier campaign's numbers reached
  the complainant in the 7 days before the complaint and its true ``client``
  is that business (same business key, e.g. ``华康/medical``);
* **first listed**: per dossier campaign naming businesses, whether its
  first-listed business is a true client of the calls from its numbers;
* **coverage**: held-out complaints naming a true client that reach a dossier.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from callradar.campaigns import link_campaigns
from callradar.complaints import analyse_complaints, extract, link_complaints
from callradar.config import Config
from callradar.detect import learn, score
from callradar.evidence import View, summaries
from callradar.evidence.dossier import businesses
from callradar.features import build_features
from callradar.ingest import ingest_files
from callradar.privacy import Pseudonymizer
from callradar.simulate import simulate
from callradar.store import Store


def _files(sim: Path, kind: str, days: list[str]) -> list[Path]:
    return [p for d in days for p in sim.glob(f"{kind}-{d}.*")]


def _key(name: str) -> str:
    keys = extract(name).business_keys
    return keys[0] if keys else name


def build(sim: Path, db: Path, holdout: int, say: Any) -> tuple[Store, list[str]]:
    days = sorted(p.name[4:14] for p in sim.glob("cdr-*.*"))
    history, held = days[:-holdout], days[-holdout:]
    st = Store(db, Config())
    t = time.perf_counter()
    ingest_files(
        st,
        [*sim.glob("registry.*")]
        + [p for k in ("cdr", "complaints", "refusals") for p in _files(sim, k, history)],
    )
    say(f"ingested history {history[0]}..{history[-1]} in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    build_features(st)
    learn(st)
    for d in history:
        score(st, day=d)
    analyse_complaints(st)
    link_campaigns(st, st.config)
    link_complaints(st)
    say(f"learned on history in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    ingest_files(st, [p for k in ("cdr", "complaints", "refusals") for p in _files(sim, k, held)])
    build_features(st, since=held[0])
    for d in held:
        score(st, day=d)
    analyse_complaints(st)
    link_campaigns(st, st.config)
    link_complaints(st)
    say(f"held-out days {held[0]}..{held[-1]} scored and linked in {time.perf_counter() - t:.0f} s")
    return st, held


def evaluate(st: Store, sim: Path, held: list[str]) -> dict[str, Any]:
    view = View(st.con, st.config, Pseudonymizer.for_store(st), reveal=True)
    t = time.perf_counter()
    dossiers = summaries(view)
    biz = businesses(view)
    seconds = time.perf_counter() - t
    con = st.con
    truth = ",".join(f"'{p}'" for p in sorted(sim.glob("truth-*.parquet")))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE truth AS SELECT call_id, client FROM read_parquet([{truth}])"
    )
    keys = {
        r[0]: _key(r[0])
        for r in con.execute("SELECT DISTINCT client FROM truth WHERE client <> ''").fetchall()
    }
    con.execute("CREATE OR REPLACE TEMP TABLE client_key (client VARCHAR, key VARCHAR)")
    con.executemany("INSERT INTO client_key VALUES (?, ?)", list(keys.items()))
    # which business keys truly called each complainant from each campaign's numbers
    rows = con.execute(
        """
        WITH k AS (
            SELECT c.complaint_id, c.complainant, c.received_time, cc.campaign_id
            FROM complaints c JOIN complaint_campaign cc USING (complaint_id)
        )
        SELECT k.complaint_id, k.campaign_id, list(DISTINCT ck.key) AS true_keys
        FROM k
        JOIN campaign_numbers cn ON cn.campaign_id = k.campaign_id
        JOIN calls ON calls.caller = cn.number AND calls.callee = k.complainant
            AND calls.start_time <= k.received_time
            AND calls.start_time > k.received_time - INTERVAL 7 DAY
        JOIN truth USING (call_id) JOIN client_key ck USING (client)
        GROUP BY ALL
        """
    ).fetchall()
    true_keys = {(r[0], r[1]): set(r[2]) for r in rows}
    held_ids = {
        r[0]
        for r in con.execute(
            "SELECT complaint_id FROM complaints "
            "WHERE strftime(timezone(?, received_time), '%Y-%m-%d') IN (SELECT unnest(?))",
            [str(st.config.get("timezone")), held],
        ).fetchall()
    }
    right = wrong = right_all = wrong_all = 0
    wrong_examples = []
    for cid, found in biz.items():
        for b in found:
            for k in b["complaint_ids"]:
                ok = b["key"] in true_keys.get((k, cid), set())
                right_all += ok
                wrong_all += not ok
                if k not in held_ids:
                    continue
                right += ok
                wrong += not ok
                if not ok:
                    wrong_examples.append({"complaint": k, "campaign": cid, "business": b["name"]})
    # first-listed business vs the true clients of each campaign's calls
    clients = con.execute(
        """
        SELECT cn.campaign_id, list(DISTINCT ck.key) FROM campaign_numbers cn
        JOIN calls ON calls.caller = cn.number JOIN truth USING (call_id)
        JOIN client_key ck USING (client) GROUP BY 1
        """
    ).fetchall()
    campaign_keys = {r[0]: set(r[1]) for r in clients}
    firsts = [(cid, found[0]) for cid, found in biz.items() if found]
    first_right = sum(b["key"] in campaign_keys.get(cid, set()) for cid, b in firsts)
    first_wrong = [
        {
            "campaign": cid,
            "first": b["name"],
            "complaints": b["complaints"],
            "listed": len(biz[cid]),
        }
        for cid, b in firsts
        if b["key"] not in campaign_keys.get(cid, set())
    ]
    # coverage: held-out complaints naming a business some vendor really works for
    named = con.execute(
        "SELECT f.complaint_id, f.business_keys FROM complaint_facts f "
        "WHERE len(f.business_keys) > 0"
    ).fetchall()
    all_keys = set(keys.values())
    naming = {k for k, bk in named if k in held_ids and set(bk) & all_keys}
    counted = {k for found in biz.values() for b in found for k in b["complaint_ids"]}
    # what each dossier campaign really is: true campaigns and vendors behind its calls
    purity = con.execute(
        f"""
        WITH t AS (SELECT call_id, campaign, vendor FROM read_parquet([{truth}])
                   WHERE campaign <> '')
        SELECT cn.campaign_id, count(*) AS calls, count(DISTINCT t.campaign) AS true_campaigns,
               count(DISTINCT t.vendor) AS vendors
        FROM campaign_numbers cn JOIN calls ON calls.caller = cn.number JOIN t USING (call_id)
        GROUP BY 1 ORDER BY calls DESC
        """
    ).fetchall()
    n = right + wrong
    return {
        "held_out_days": held,
        "dossiers": len(dossiers),
        "dossiers_naming_businesses": len(firsts),
        "attributions": n,
        "attributions_right": right,
        "attribution_share": round(right / n, 4) if n else None,
        "attributions_all_days": right_all + wrong_all,
        "attribution_share_all_days": round(right_all / (right_all + wrong_all), 4)
        if right_all + wrong_all
        else None,
        "first_listed_right": first_right,
        "first_listed_share": round(first_right / len(firsts), 4) if firsts else None,
        "held_out_complaints": len(held_ids),
        "held_out_complaints_naming_a_client": len(naming),
        "of_which_in_a_dossier": len(naming & counted),
        "dossier_build_seconds": round(seconds, 2),
        "dossier_campaigns_calls_truecampaigns_vendors": [list(r) for r in purity],
        "wrong_examples": wrong_examples[:10],
        "first_listed_wrong": first_wrong[:10],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--holdout", type=int, default=2)
    ap.add_argument("--subscribers", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scenario", default="demo")
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temp dir)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    def say(msg: str) -> None:
        print(msg, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        sim = out / "sim"
        t = time.perf_counter()
        simulate(args.scenario, sim, days=args.days, seed=args.seed, subscribers=args.subscribers)
        say(
            f"simulated {args.days} days, {args.subscribers} subscribers, seed {args.seed} "
            f"in {time.perf_counter() - t:.0f} s"
        )
        db = out / "eval_evidence.duckdb"
        db.unlink(missing_ok=True)
        st, held = build(sim, db, args.holdout, say)
        try:
            res = evaluate(st, sim, held)
        finally:
            st.close()
    res["load_average"] = [round(x, 2) for x in os.getloadavg()]
    res["args"] = {k: str(v) for k, v in vars(args).items()}
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=1))
        return
    for k, v in res.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
