"""5-fold stratified CV of the scorer on the real Sichuan fraud-call data.

Prints fraud-class F1, macro-F1, AUC and accuracy (mean +- std over the outer
folds) of the plain gradient-boosted baseline and of callradar's full variant,
beside the published GDFGAT figures. ``--json`` prints one JSON document.

    uv run python bench/sichuan_cv.py [--data DIR] [--folds 5] [--seed 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from callradar.detect.sichuan import PUBLISHED, VARIANTS, cross_validate, load_sichuan

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "sichuan-fraud"
KEYS = ("f1_fraud", "f1_macro", "auc", "accuracy", "precision", "recall")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="sichuan-fraud directory")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0, help="seed of the fold split and the models")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)

    err = Console(stderr=True)
    data = load_sichuan(args.data)
    load_before = os.getloadavg()
    results = {}
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        t0 = time.perf_counter()
        with err.status(f"{variant}: cross-validating") as status:
            res = cross_validate(
                data,
                variant,
                n_splits=args.folds,
                seed=args.seed,
                progress=lambda msg, s=status: s.update(msg),
            )
        results[variant] = {
            "mean": res.mean(),
            "std": res.std(),
            "folds": res.folds,
            "seconds": round(time.perf_counter() - t0, 1),
        }
        err.print(f"{variant}: done in {results[variant]['seconds']} s")
    doc = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}",
        "load_average": [round(x, 2) for x in (*load_before, *os.getloadavg())],
        "rows": data.n,
        "edges": int(data.adjacency.nnz // 2),
        "folds": args.folds,
        "seed": args.seed,
        "results": results,
        "published": PUBLISHED,
    }
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    table = Table(title=f"Sichuan fraud data, {args.folds}-fold stratified CV (seed {args.seed})")
    table.add_column("model")
    for k in KEYS:
        table.add_column(k, justify="right")
    for variant, r in results.items():
        table.add_row(variant, *(f"{r['mean'][k]:.4f}±{r['std'][k]:.3f}" for k in KEYS))
    for name, pub in PUBLISHED.items():
        table.add_row(
            name + "*",
            "-",
            f"{pub['f1_reported']:.4f}",
            f"{pub['auc']:.4f}",
            f"{pub['accuracy']:.4f}",
            f"{pub['precision']:.4f}",
            f"{pub['recall']:.4f}",
        )
    out = Console(width=max(120, Console().width))
    out.print(table)
    out.print(
        "* published, on its own split; its F1, precision and recall are macro-averaged "
        "(ours: fraud-class precision and recall)"
    )
    err.print(f"load average before/after (1, 5, 15 min): {doc['load_average']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
