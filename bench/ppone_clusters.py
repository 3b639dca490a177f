"""Cluster the PPoNE robocall transcripts into campaigns; print the figures of the quality report.

Usage (from the repository root)::

    uv run python bench/ppone_clusters.py                 # markdown report to stdout
    uv run python bench/ppone_clusters.py --threshold 0.5 --json

The data is ``../shared/data/ppone-robocalls/metadata.csv`` (next to the repository)
unless ``--csv`` says otherwise. The clusterer is
:class:`callradar.complaints.TranscriptClusterer` with the default n-grams and the
``complaints.cluster_threshold`` setting unless ``--threshold`` is given.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from callradar.complaints import TranscriptClusterer
from callradar.config import Config

DEFAULT_CSV = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "data"
    / "ppone-robocalls"
    / "metadata.csv"
)


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def carrier(case: str) -> str:
    """The carrier named by a case slug (letter kind dropped)."""
    for prefix in ("cease-desist-letter-", "warning-letter-"):
        if case.startswith(prefix):
            return case[len(prefix) :]
    return case


def summarize(rows: list[dict[str, str]], model: TranscriptClusterer) -> dict[str, Any]:
    labels = model.labels_
    carriers = np.array([carrier(r["case_details"]) for r in rows])
    sizes = np.bincount(labels[labels >= 0]) if model.n_clusters_ else np.zeros(0, int)
    degree = np.bincount(
        np.concatenate([model.pairs_.i, model.pairs_.j]), minlength=len(rows)
    ).astype(int)
    clusters: list[dict[str, Any]] = []
    for lab in range(model.n_clusters_):
        idx = np.flatnonzero(labels == lab)
        if len(idx) < 2:
            continue
        rep = int(idx[np.argmax(degree[idx])])
        by_carrier = Counter(carriers[idx].tolist())
        langs = Counter(rows[i]["language"] for i in idx)
        clusters.append(
            {
                "label": lab,
                "size": len(idx),
                "carriers": len(by_carrier),
                "top_carriers": by_carrier.most_common(3),
                "languages": dict(langs),
                "example_row": rep,
                "example": " ".join(rows[rep]["transcript"].split())[:110],
            }
        )
    multi = [c for c in clusters if c["size"] >= 2]
    per_carrier: dict[str, dict[str, int]] = {}
    for name in sorted(set(carriers.tolist())):
        idx = np.flatnonzero(carriers == name)
        labs = set(labels[idx].tolist())
        shared = {
            lab for lab in labs if lab >= 0 and len(set(carriers[labels == lab].tolist())) > 1
        }
        per_carrier[name] = {
            "rows": len(idx),
            "clusters": len(labs),
            "clusters_shared_with_other_carriers": len(shared),
            "rows_in_shared_clusters": int(np.isin(labels[idx], list(shared)).sum()),
        }
    return {
        "threshold": model.threshold,
        "ngram_range": list(model.ngram_range),
        "rows": len(rows),
        "clusters": model.n_clusters_,
        "singletons": int((sizes == 1).sum()),
        "clusters_2plus": len(multi),
        "rows_in_2plus": int(sum(c["size"] for c in multi)),
        "largest": int(sizes.max()) if len(sizes) else 0,
        "multi_carrier_clusters": sum(1 for c in multi if c["carriers"] > 1),
        "rows_in_multi_carrier_clusters": int(sum(c["size"] for c in multi if c["carriers"] > 1)),
        "top_clusters": multi[:12],
        "zh_rows": [
            {
                "row": i,
                "label": int(labels[i]),
                "carrier": carriers[i],
                "text": rows[i]["transcript"][:40],
            }
            for i, r in enumerate(rows)
            if r["language"] == "zh"
        ],
        "per_carrier": per_carrier,
    }


def transitions(a: np.ndarray, b: np.ndarray) -> int:
    """How many clusters of labelling ``a`` are cut into several by labelling ``b``."""
    cut = 0
    for lab in np.unique(a[a >= 0]):
        if len(np.unique(b[a == lab])) > 1:
            cut += 1
    return cut


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--sweep", default="0.3,0.4,0.5,0.6,0.7,0.8,0.9")
    ap.add_argument(
        "--ngram", default="", help="char n-gram range, e.g. 3,5 (default: the class's)"
    )
    ap.add_argument("--no-idf", action="store_true", help="plain (sublinear) term frequency")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    thr = args.threshold
    if thr is None:
        thr = float(Config().get("complaints.cluster_threshold"))
    extra: dict[str, Any] = {}
    if args.ngram:
        lo, hi = (int(x) for x in args.ngram.split(","))
        extra["ngram_range"] = (lo, hi)
    if args.no_idf:
        extra["use_idf"] = False
    rows = load(args.csv)
    texts = [r["transcript"] for r in rows]

    sweep: list[dict[str, Any]] = []
    fitted: dict[float, TranscriptClusterer] = {}
    for t in sorted({float(x) for x in args.sweep.split(",")} | {thr}):
        t0 = time.perf_counter()
        m = TranscriptClusterer(threshold=t, **extra).fit(texts)
        secs = time.perf_counter() - t0
        fitted[t] = m
        s = summarize(rows, m)
        sweep.append(
            {
                k: s[k]
                for k in (
                    "threshold",
                    "clusters",
                    "singletons",
                    "clusters_2plus",
                    "rows_in_2plus",
                    "largest",
                    "multi_carrier_clusters",
                )
            }
            | {"fit_seconds": round(secs, 2)}
        )
    ts = sorted(fitted)
    for i, t in enumerate(ts):
        sweep[i]["clusters_cut_at_next"] = (
            transitions(fitted[t].labels_, fitted[ts[i + 1]].labels_) if i + 1 < len(ts) else None
        )
    report = summarize(rows, fitted[thr])
    report["sweep"] = sweep
    report["load_average"] = os.getloadavg()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
        return
    print_markdown(report)


def print_markdown(r: dict[str, Any]) -> None:
    la = ", ".join(f"{x:.2f}" for x in r["load_average"])
    print(
        f"rows {r['rows']}; threshold {r['threshold']}; char n-grams {r['ngram_range']}; "
        f"load average {la} (shared machine)\n"
    )
    print(
        "| threshold | clusters | singletons | clusters >=2 | rows in them | largest "
        "| multi-carrier clusters | clusters cut at next threshold | fit s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for s in r["sweep"]:
        print(
            f"| {s['threshold']} | {s['clusters']} | {s['singletons']} | {s['clusters_2plus']} "
            f"| {s['rows_in_2plus']} | {s['largest']} | {s['multi_carrier_clusters']} "
            f"| {s['clusters_cut_at_next']} | {s['fit_seconds']} |"
        )
    print(
        f"\nAt {r['threshold']}: {r['clusters']} clusters, {r['clusters_2plus']} with two or "
        f"more rows ({r['rows_in_2plus']} rows), {r['singletons']} singletons; largest "
        f"{r['largest']}; {r['multi_carrier_clusters']} clusters span several carriers "
        f"({r['rows_in_multi_carrier_clusters']} rows).\n"
    )
    print("| # | rows | carriers | top carriers | lang | example (most connected row) |")
    print("|---|---|---|---|---|---|")
    for c in r["top_clusters"]:
        tops = ", ".join(f"{n} ({k})" for n, k in c["top_carriers"])
        ex = c["example"].replace("|", "/")
        print(
            f"| {c['label']} | {c['size']} | {c['carriers']} | {tops} | {c['languages']} | {ex} |"
        )
    print("\nChinese-language rows (label, carrier, start of text):\n")
    for z in r["zh_rows"]:
        print(f"- row {z['row']}: cluster {z['label']}, {z['carrier']}: {z['text']}")
    print("\n| carrier | rows | clusters | shared with other carriers | rows in shared |")
    print("|---|---|---|---|---|")
    for name, c in sorted(r["per_carrier"].items(), key=lambda kv: -kv[1]["rows"]):
        print(
            f"| {name} | {c['rows']} | {c['clusters']} | "
            f"{c['clusters_shared_with_other_carriers']} | {c['rows_in_shared_clusters']} |"
        )


if __name__ == "__main__":
    main()
