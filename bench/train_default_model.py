"""Regenerate the default model shipped in the package (src/callradar/detect/default_model.json).

Reproducible: simulate the ``demo`` scenario (7 days, seed 1001, a seed no
evaluation uses), ingest it into a scratch store, build day features, fit the
scorer on the WEAK labels only (complaints, refusals, registry; never the
simulator's truth) and write the model as JSON. Adversarial scenarios are
deliberately left out, so they stay unseen for evaluation.

    uv run python bench/train_default_model.py            # writes the packaged model
    uv run python bench/train_default_model.py --out m.json --seed 7
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from callradar.config import Config
from callradar.detect.model import load_model
from callradar.detect.pipeline import learn
from callradar.ingest import ingest_files
from callradar.simulate import simulate
from callradar.store import Store

PACKAGED = (
    Path(__file__).resolve().parent.parent / "src" / "callradar" / "detect" / "default_model.json"
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scenario", default="demo")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1001)
    ap.add_argument("--out", type=Path, default=PACKAGED)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="callradar-default-model-") as tmp:
        sim = Path(tmp) / "sim"
        simulate(args.scenario, sim, days=args.days, seed=args.seed)
        files = sorted(
            p
            for p in sim.iterdir()
            if p.name.startswith(("cdr-", "complaints-", "refusals-", "registry"))
        )
        # a small, fixed model: fewer trees and leaves keep the shipped file small
        cfg = Config({"detect.n_estimators": 120, "threads": 1}, environ={})
        with Store(Path(tmp) / "train.duckdb", cfg) as store:
            ingest_files(store, files)
            metrics = learn(store, name="default")
            blob = load_model(store, "default").to_bytes()
    doc = json.loads(blob)
    doc["trained_on"] = {
        "scenario": args.scenario,
        "days": args.days,
        "seed": args.seed,
        "labels": "weak (complaints, refusals, registry)",
        "rows": metrics["rows"],
        "positive_rows": metrics["positive_rows"],
    }
    args.out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e3:,.0f} kB) in "
        f"{time.perf_counter() - t0:,.0f} s: {json.dumps(metrics)}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
