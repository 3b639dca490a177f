"""Extraction quality on simulated complaints (the simulator's own text generator).

Usage (from the repository root)::

    uv run python bench/complaints_quality.py [--n 3000] [--seed 11]

Complaints are written by :func:`callradar.simulate.complaints_text.complaint_text`
for businesses from :func:`callradar.simulate.world.business_names`, once with the
business always named and the number always written (recall), once with neither
(false positives). A business counts as right when its key (stem and family, e.g.
``美华/medical``) is the true one. They are stored and analysed with
:func:`callradar.complaints.analyse_complaints` (both passes). What the generator put
into each text is the truth; it is used here only to score.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from callradar.complaints import analyse_complaints
from callradar.complaints.extract import CATEGORY_FAMILY
from callradar.config import Config
from callradar.simulate import complaints_text as ct
from callradar.simulate.world import BRANDS, business_names
from callradar.store import Store

CATEGORY_MAP = {"dental": "dental_implants", "loan": "loans"}


def _brand(name: str) -> str:
    for b in sorted(BRANDS, key=len, reverse=True):
        if b in name:
            return b
    return ""


def generate(n: int, seed: int, named: bool) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    pool = business_names(rng, 40)
    out = []
    for i in range(n):
        name, cat = pool[int(rng.integers(len(pool)))]
        if rng.random() < 0.6:
            caller = int("8621" + str(int(rng.integers(20_000_000, 89_999_999))))
        else:
            caller = int("86170" + str(int(rng.integers(10_000_000, 99_999_999))))
        refused = bool(rng.random() < 0.4)
        text = ct.complaint_text(
            rng, name, cat, caller, refused, 1.0 if named else 0.0, 1.0 if named else 0.0
        )
        out.append(
            {
                "id": f"{'n' if named else 'u'}{i}",
                "text": text,
                "brand": _brand(name),
                "category": CATEGORY_MAP.get(cat, cat),
                "caller": "+" + str(caller),
                "refusal_said": refused
                or any(p in text for p in ct.REFUSED)
                or any(p in text for p in ct.BLOCKING),
                "ai_said": any(p in text for p in ct.AI_VOICE),
            }
        )
    return out


def score(store: Store, rows: list[dict[str, Any]], named: bool) -> dict[str, Any]:
    facts = {
        r[0]: r[1:]
        for r in store.sql(
            "SELECT complaint_id, numbers, business_keys, category, refused_before, ai_voice "
            "FROM complaint_facts"
        ).fetchall()
    }
    n = len(rows)
    right_biz = wrong_biz = no_biz = right_num = right_cat = 0
    tp = fp = fn = tn = ai_ok = 0
    for r in rows:
        numbers, keys, cat, refused, ai = facts[r["id"]]
        if not keys:
            no_biz += 1
        elif f"{r['brand']}/{CATEGORY_FAMILY[r['category']]}" in keys:
            right_biz += 1
        else:
            wrong_biz += 1
        right_num += r["caller"] in numbers
        right_cat += cat == r["category"]
        ai_ok += ai == r["ai_said"]
        if r["refusal_said"]:
            tp += refused
            fn += not refused
        else:
            fp += refused
            tn += not refused
    out = {
        "complaints": n,
        "category_accuracy": round(right_cat / n, 4),
        "refusal_recall": round(tp / max(1, tp + fn), 4),
        "refusal_precision": round(tp / max(1, tp + fp), 4),
        "ai_voice_accuracy": round(ai_ok / n, 4),
    }
    if named:
        out |= {
            "business_right": round(right_biz / n, 4),
            "business_wrong": round(wrong_biz / n, 4),
            "business_missed": round(no_biz / n, 4),
            "number_found": round(right_num / n, 4),
        }
    else:
        out["business_false_positive"] = round((right_biz + wrong_biz) / n, 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--show-errors", type=int, default=0)
    args = ap.parse_args()
    named = generate(args.n, args.seed, named=True)
    unnamed = generate(args.n, args.seed + 1, named=False)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "q.duckdb", Config()) as store:
        for rows in (named, unnamed):
            store.sql(
                "INSERT INTO complaints (complaint_id, received_time, complainant, "
                "reported_numbers, text) SELECT id, now(), '+8613900000000', [], t "
                "FROM (SELECT unnest(?) AS id, unnest(?) AS t)",
                [[r["id"] for r in rows], [r["text"] for r in rows]],
            )
        t0 = time.perf_counter()
        analyse_complaints(store)
        report["analyse_seconds"] = round(time.perf_counter() - t0, 2)
        report["named"] = score(store, named, named=True)
        report["unnamed"] = score(store, unnamed, named=False)
        if args.show_errors:
            facts = dict(
                store.sql("SELECT complaint_id, business_keys FROM complaint_facts").fetchall()
            )
            shown = 0
            for r in named:
                want = f"{r['brand']}/{CATEGORY_FAMILY[r['category']]}"
                if want not in facts[r["id"]] and shown < args.show_errors:
                    shown += 1
                    print(r["brand"], facts[r["id"]], r["text"])
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
